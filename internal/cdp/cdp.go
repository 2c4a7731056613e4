// Package cdp drives a headless Chromium over the DevTools protocol on a
// pipe (--remote-debugging-pipe: JSON messages ending in a NUL byte, the
// browser reading fd 3 and writing fd 4), for tests that look at a page
// the way a person would. Standard library only: no WebSocket needed.
package cdp

import (
	"bufio"
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"os"
	"os/exec"
	"sync"
	"time"
)

// ErrClosed: the browser went away.
var ErrClosed = errors.New("cdp: browser closed")

// HeadlessFlags are the flags every launch gets (with a fresh profile).
var HeadlessFlags = []string{"--headless", "--no-sandbox", "--disable-gpu", "--disable-background-networking",
	"--disable-component-update", "--disable-sync", "--no-first-run", "--hide-scrollbars", "--remote-debugging-pipe"}

// Find returns the path of a Chromium or Chrome on PATH, or "".
func Find() string {
	for _, name := range []string{"chromium", "chromium-browser", "google-chrome"} {
		if p, err := exec.LookPath(name); err == nil {
			return p
		}
	}
	return ""
}

// Browser is a running browser. Safe for concurrent use.
type Browser struct {
	cmd  *exec.Cmd
	out  *os.File // our end of fd 3
	done chan struct{}

	mu      sync.Mutex // guards next, pending, err
	next    int
	pending map[int]chan reply
	err     error
}

type reply struct {
	Result json.RawMessage `json:"result"`
	Error  *struct {
		Message string `json:"message"`
	} `json:"error"`
}

// Launch starts the browser at path with a profile in userDataDir.
func Launch(path, userDataDir string, extra ...string) (*Browser, error) {
	toBrowser, ourOut, err := os.Pipe()
	if err != nil {
		return nil, err
	}
	ourIn, fromBrowser, err := os.Pipe()
	if err != nil {
		return nil, errors.Join(err, toBrowser.Close(), ourOut.Close())
	}
	args := append(append([]string{}, HeadlessFlags...), "--user-data-dir="+userDataDir)
	cmd := exec.Command(path, append(args, extra...)...)
	cmd.ExtraFiles = []*os.File{toBrowser, fromBrowser}
	if err := cmd.Start(); err != nil {
		return nil, errors.Join(err, toBrowser.Close(), ourOut.Close(), ourIn.Close(), fromBrowser.Close())
	}
	_ = toBrowser.Close() // the browser's ends
	_ = fromBrowser.Close()
	b := &Browser{cmd: cmd, out: ourOut, done: make(chan struct{}), pending: map[int]chan reply{}}
	go b.readLoop(ourIn)
	return b, nil
}

// readLoop hands each reply to its caller until the browser's pipe closes.
func (b *Browser) readLoop(in *os.File) {
	defer close(b.done)
	defer in.Close()
	r := bufio.NewReaderSize(in, 1<<20)
	for {
		msg, err := r.ReadBytes(0)
		if err != nil {
			b.fail(ErrClosed)
			return
		}
		var m struct {
			ID int `json:"id"`
			reply
		}
		if json.Unmarshal(msg[:len(msg)-1], &m) != nil || m.ID == 0 {
			continue // an event
		}
		b.mu.Lock()
		ch := b.pending[m.ID]
		delete(b.pending, m.ID)
		b.mu.Unlock()
		if ch != nil {
			ch <- m.reply
		}
	}
}

// fail ends every pending call.
func (b *Browser) fail(err error) {
	b.mu.Lock()
	defer b.mu.Unlock()
	b.err = err
	for id, ch := range b.pending {
		close(ch)
		delete(b.pending, id)
	}
}

// Call sends method with params (to session, if not empty) and decodes
// the result into out (if not nil).
func (b *Browser) Call(ctx context.Context, session, method string, params, out any) error {
	b.mu.Lock()
	if b.err != nil {
		b.mu.Unlock()
		return b.err
	}
	b.next++
	id, ch := b.next, make(chan reply, 1)
	b.pending[id] = ch
	b.mu.Unlock()
	msg := map[string]any{"id": id, "method": method, "params": params}
	if session != "" {
		msg["sessionId"] = session
	}
	data, _ := json.Marshal(msg)
	if _, err := b.out.Write(append(data, 0)); err != nil {
		return fmt.Errorf("%w: %w", ErrClosed, err)
	}
	select {
	case r, ok := <-ch:
		switch {
		case !ok:
			return ErrClosed
		case r.Error != nil:
			return fmt.Errorf("cdp: %s: %s", method, r.Error.Message)
		case out != nil:
			return json.Unmarshal(r.Result, out)
		}
		return nil
	case <-ctx.Done():
		return fmt.Errorf("cdp: %s: %w", method, ctx.Err())
	}
}

// Page is a tab, attached in flat mode.
type Page struct {
	b       *Browser
	session string
}

// NewPage opens url in a new tab of width × height pixels.
func (b *Browser) NewPage(ctx context.Context, url string, width, height int) (*Page, error) {
	var t struct {
		TargetID string `json:"targetId"`
	}
	if err := b.Call(ctx, "", "Target.createTarget", map[string]any{"url": "about:blank"}, &t); err != nil {
		return nil, err
	}
	var s struct {
		SessionID string `json:"sessionId"`
	}
	if err := b.Call(ctx, "", "Target.attachToTarget", map[string]any{"targetId": t.TargetID, "flatten": true}, &s); err != nil {
		return nil, err
	}
	p := &Page{b: b, session: s.SessionID}
	err := b.Call(ctx, p.session, "Emulation.setDeviceMetricsOverride",
		map[string]any{"width": width, "height": height, "deviceScaleFactor": 1, "mobile": false}, nil)
	if err == nil {
		err = b.Call(ctx, p.session, "Page.navigate", map[string]any{"url": url}, nil)
	}
	return p, err
}

// Eval evaluates a JavaScript expression (awaiting a promise) and decodes
// its value into out (if not nil).
func (p *Page) Eval(ctx context.Context, expr string, out any) error {
	var r struct {
		Result struct {
			Value json.RawMessage `json:"value"`
		} `json:"result"`
		Exception *struct {
			Text string `json:"text"`
		} `json:"exceptionDetails"`
	}
	params := map[string]any{"expression": expr, "returnByValue": true, "awaitPromise": true}
	if err := p.b.Call(ctx, p.session, "Runtime.evaluate", params, &r); err != nil {
		return err
	}
	if r.Exception != nil {
		return fmt.Errorf("cdp: %s: %s", expr, r.Exception.Text)
	}
	if out == nil || len(r.Result.Value) == 0 {
		return nil
	}
	return json.Unmarshal(r.Result.Value, out)
}

// Screenshot returns a PNG of the page (the whole page, not just the
// viewport).
func (p *Page) Screenshot(ctx context.Context) ([]byte, error) {
	var r struct {
		Data []byte `json:"data"` // base64 in JSON
	}
	err := p.b.Call(ctx, p.session, "Page.captureScreenshot", map[string]any{"format": "png", "captureBeyondViewport": true}, &r)
	return r.Data, err
}

// Close asks the browser to quit, kills it if it has not within 5 s, and
// waits for it and the reader.
func (b *Browser) Close() error {
	ctx, cancel := context.WithTimeout(context.Background(), 2*time.Second)
	_ = b.Call(ctx, "", "Browser.close", nil, nil)
	cancel()
	exited := make(chan error, 1)
	go func() { exited <- b.cmd.Wait() }()
	select {
	case <-exited:
	case <-time.After(5 * time.Second):
		_ = b.cmd.Process.Kill()
		<-exited
	}
	_ = b.out.Close()
	<-b.done
	return nil
}
