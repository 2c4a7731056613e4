//go:build !linux

package netns

import (
	"context"
	"fmt"
	"net"
	"runtime"
)

func checkOS() error {
	return fmt.Errorf("%w: network namespaces need Linux, not %s", ErrUnsupported, runtime.GOOS)
}

// Do is Linux only.
func (nt *Net) Do(int, func() error) error { return checkOS() }

// Dialer is Linux only.
func (nt *Net) Dialer(int) func(ctx context.Context, network, addr string) (net.Conn, error) {
	return func(context.Context, string, string) (net.Conn, error) { return nil, checkOS() }
}
