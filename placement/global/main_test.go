package global_test

import (
	"os"
	"testing"
	"time"

	"github.com/placerhq/placer/internal/leakcheck"
)

// TestMain checks that no goroutine outlives the tests (polling: Serf ends
// some of its own asynchronously after Shutdown).
func TestMain(m *testing.M) { os.Exit(leakcheck.Main(m, 10*time.Second)) }
