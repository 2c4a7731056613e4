package leakcheck

import (
	"testing"
	"time"
)

func TestWaitSeesLeakThenItsEnd(t *testing.T) {
	stop := make(chan struct{})
	go func() { <-stop }()
	if err := Wait(200 * time.Millisecond); err == nil {
		t.Fatal("a blocked goroutine was not reported")
	}
	time.AfterFunc(150*time.Millisecond, func() { close(stop) })
	if err := Wait(5 * time.Second); err != nil {
		t.Fatalf("the goroutine ended, but: %v", err)
	}
}
