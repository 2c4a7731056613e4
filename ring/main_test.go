package ring

import (
	"testing"

	"go.uber.org/goleak"
)

// TestMain fails the package if a test leaves a goroutine behind (the
// Holder tests start readers and writers).
func TestMain(m *testing.M) { goleak.VerifyTestMain(m) }
