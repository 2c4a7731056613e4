package bench

import (
	"bufio"
	"context"
	"encoding/binary"
	"fmt"
	"io"
	"net"
	"time"
)

// The raw-TCP baseline: the same sizes over a bare loopback connection,
// with a 4-byte length prefix and no encoding, batching or goroutine
// hand-offs of any kind.

// tcpFrames measures buffered one-way frames per second: one goroutine
// writes n length-prefixed frames through a 64 KiB bufio.Writer, another
// reads them through a 64 KiB bufio.Reader.
func tcpFrames(ctx context.Context, n, payload int) (float64, error) {
	client, server, err := tcpPair()
	if err != nil {
		return 0, err
	}
	defer client.Close()
	defer server.Close()
	done := make(chan error, 1)
	go func() { done <- readFrames(server, n, payload) }()
	start := time.Now()
	if err := writeFrames(client, n, payload); err != nil {
		_ = server.Close()
		<-done
		return 0, err
	}
	select {
	case err = <-done:
	case <-ctx.Done():
		_ = server.Close()
		<-done
		err = ctx.Err()
	}
	if err != nil {
		return 0, err
	}
	return float64(n) / time.Since(start).Seconds(), nil
}

func writeFrames(c net.Conn, n, payload int) error {
	frame := make([]byte, 4+payload)
	binary.BigEndian.PutUint32(frame, uint32(payload))
	bw := bufio.NewWriterSize(c, 64<<10)
	for i := 0; i < n; i++ {
		if _, err := bw.Write(frame); err != nil {
			return err
		}
	}
	return bw.Flush()
}

func readFrames(c net.Conn, n, payload int) error {
	br := bufio.NewReaderSize(c, 64<<10)
	buf := make([]byte, 4+payload)
	for i := 0; i < n; i++ {
		if _, err := io.ReadFull(br, buf[:4]); err != nil {
			return err
		}
		l := binary.BigEndian.Uint32(buf)
		if int(l) != payload {
			return fmt.Errorf("frame %d: length %d", i, l)
		}
		if _, err := io.ReadFull(br, buf[4:4+l]); err != nil {
			return err
		}
	}
	return nil
}

// tcpPingPong measures n sequential round trips of one length-prefixed
// frame echoed by the other side, returning p50 and p99 in µs.
func tcpPingPong(ctx context.Context, n, payload int) (p50, p99 float64, err error) {
	client, server, err := tcpPair()
	if err != nil {
		return 0, 0, err
	}
	done := make(chan error, 1)
	go func() { done <- tcpEcho(server, payload) }()
	frame := make([]byte, 4+payload)
	binary.BigEndian.PutUint32(frame, uint32(payload))
	in := make([]byte, len(frame))
	rtts := make([]time.Duration, 0, n)
	warm := n/10 + 1
	for i := 0; i < warm+n && err == nil && ctx.Err() == nil; i++ {
		start := time.Now()
		if _, err = client.Write(frame); err == nil {
			_, err = io.ReadFull(client, in)
		}
		if i >= warm {
			rtts = append(rtts, time.Since(start))
		}
	}
	if err == nil {
		err = ctx.Err()
	}
	_ = client.Close() // ends the echo goroutine
	<-done
	_ = server.Close()
	if err != nil {
		return 0, 0, err
	}
	return transportPercentileUS(rtts, 50), transportPercentileUS(rtts, 99), nil
}

func tcpEcho(c net.Conn, payload int) error {
	buf := make([]byte, 4+payload)
	for {
		if _, err := io.ReadFull(c, buf); err != nil {
			return err
		}
		if _, err := c.Write(buf); err != nil {
			return err
		}
	}
}

// tcpPair returns the two ends of a loopback TCP connection.
func tcpPair() (client, server net.Conn, err error) {
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		return nil, nil, err
	}
	defer ln.Close()
	accepted := make(chan net.Conn, 1)
	go func() {
		c, _ := ln.Accept() // nil on error; Dial then fails too
		accepted <- c
	}()
	client, err = net.Dial("tcp", ln.Addr().String())
	server = <-accepted
	if err != nil || server == nil {
		if client != nil {
			_ = client.Close()
		}
		if server != nil {
			_ = server.Close()
		}
		return nil, nil, fmt.Errorf("loopback connection: %v", err)
	}
	return client, server, nil
}
