package load

import (
	"os"
	"testing"
	"time"

	"github.com/placerhq/placer/internal/leakcheck"
)

func TestMain(m *testing.M) { os.Exit(leakcheck.Main(m, 10*time.Second)) }
