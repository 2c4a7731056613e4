//go:build !unix

package transport

import "net"

// inlineWriter is unavailable where raw socket writes are not portable;
// senders then always hand frames to the writer goroutine.
type inlineWriter struct{}

func newInlineWriter(net.Conn) *inlineWriter { return nil }

func (*inlineWriter) writeNow([]byte) int { return 0 }
