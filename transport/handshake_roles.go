package transport

import (
	"bufio"
	"crypto/hmac"
	"errors"
	"fmt"
	"io"
	"syscall"
)

// dialDecisions are the endpoint's choices at the end of a dialer
// handshake; both run with the endpoint's registry locked.
type dialDecisions struct {
	// commit registers the connection after status OK.
	commit func(p hsPeer) error
	// alive decides after status ALIVE: true means "replace" (and the
	// connection is registered), false means "abort".
	alive func(p hsPeer) (bool, error)
}

// acceptDecisions are the endpoint's choices at the end of an acceptor
// handshake.
type acceptDecisions struct {
	// step, if not nil, is called each time the acceptor starts waiting
	// for the dialer's next message (Auth, then Confirm), with the name
	// the dialer's Hello claimed, so that the endpoint can give it
	// HelloTimeout and let admission know.
	step func(s hsStage, claimed string) error
	// decide picks the AuthAck status once the dialer has proved the
	// cookie, registering the connection when it returns statusOK. An
	// error (shutdown) rejects the dialer.
	decide func(p hsPeer) (uint8, error)
	// replace registers the connection after Confirm(replace).
	replace func(p hsPeer) error
}

// dialHandshake runs the dialer's side of the handshake with the node want.
// It returns errLostRace (status NOK) or errAborted (status ALIVE, we kept our
// existing connection) when this connection is not to be used.
func dialHandshake(r *bufio.Reader, w io.Writer, c *hsConfig, want string, d dialDecisions) (hsPeer, error) {
	h, err := c.newHello(c.vmin, c.vmax)
	if err != nil {
		return hsPeer{}, err
	}
	helloBody := h.marshal()
	if err := writeHS(w, hsHello, helloBody); err != nil {
		return hsPeer{}, err
	}
	chBody, err := expectHS(r, hsChallenge)
	if err != nil {
		return hsPeer{}, unanswered(err)
	}
	ch, err := parseHello(chBody)
	if err != nil {
		return hsPeer{}, err
	}
	if err := c.checkChallenge(&h, &ch, want); err != nil {
		return hsPeer{}, err
	}
	peer := peerFrom(ch, ch.v1)
	if c.beforeAuth != nil {
		c.beforeAuth(want)
	}
	cookie := c.cookieFor(want)
	if err := writeHS(w, hsAuth, proof(cookie, labelDialer, helloBody, chBody, nil)); err != nil {
		return peer, err
	}
	status, err := readAuthAck(r, cookie, helloBody, chBody)
	if err != nil {
		return peer, err
	}
	return peer, finishDial(w, peer, status, d)
}

// errUnanswered marks a dial whose connection the acceptor closed (or
// reset) without a word before its Challenge or AuthAck: it was shedding
// unauthenticated connections, so the dialer may try again at once. (An
// acceptor that refuses us says so with a Reject.)
var errUnanswered = fmt.Errorf("%w before the handshake was answered", ErrConnClosed)

// unanswered marks err with errUnanswered if the connection ended (EOF or
// reset); a Reject, a malformed frame or a timeout is left as it is.
func unanswered(err error) error {
	if errors.Is(err, io.EOF) || errors.Is(err, io.ErrUnexpectedEOF) || errors.Is(err, syscall.ECONNRESET) {
		return fmt.Errorf("%w: %w", errUnanswered, err)
	}
	return err
}

// checkChallenge verifies the acceptor's Challenge against our Hello.
func (c *hsConfig) checkChallenge(h, ch *hello, want string) error {
	switch {
	case ch.name != want:
		return fmt.Errorf("%w: dialled %s but the peer answered as %s", ErrAuth, want, ch.name)
	case ch.v1 < c.vmin || ch.v1 > c.vmax:
		return fmt.Errorf("%w: %w: peer chose version %d, we speak %d..%d", ErrProtocol, ErrVersion, ch.v1, c.vmin, c.vmax)
	case ch.nonce == h.nonce:
		return fmt.Errorf("%w: peer reflected our nonce", ErrAuth)
	}
	return nil
}

// readAuthAck reads the AuthAck and verifies the acceptor's proof.
func readAuthAck(r *bufio.Reader, cookie, helloBody, chBody []byte) (uint8, error) {
	ack, err := expectHS(r, hsAuthAck)
	if err != nil {
		return 0, unanswered(err)
	}
	if len(ack) != 1+proofSize {
		return 0, fmt.Errorf("%w: AuthAck of %d bytes", ErrProtocol, len(ack))
	}
	if !hmac.Equal(ack[1:], proof(cookie, labelAcceptor, helloBody, chBody, ack[:1])) {
		return 0, fmt.Errorf("%w: the peer failed to prove the cookie", ErrAuth)
	}
	return ack[0], nil
}

// finishDial acts on the acceptor's status.
func finishDial(w io.Writer, peer hsPeer, status uint8, d dialDecisions) error {
	switch status {
	case statusOK:
		return d.commit(peer)
	case statusNOK:
		return errLostRace
	case statusAlive:
		replace, err := d.alive(peer)
		if err != nil {
			return err
		}
		answer := []byte{0}
		if replace {
			answer[0] = 1
		}
		if err := writeHS(w, hsConfirm, answer); err != nil {
			return err
		}
		if !replace {
			return errAborted
		}
		return nil
	}
	return fmt.Errorf("%w: AuthAck status %d", ErrProtocol, status)
}

// acceptHandshake runs the acceptor's side of the handshake. It returns
// errLostRace (we answered NOK) or errAborted (the dialer kept its
// existing connection) when this connection is not to be used.
func acceptHandshake(r *bufio.Reader, w io.Writer, c *hsConfig, d acceptDecisions) (hsPeer, error) {
	helloBody, err := expectHS(r, hsHello)
	if err != nil {
		return hsPeer{}, err
	}
	h, version, err := c.checkHello(w, helloBody)
	if err != nil {
		return hsPeer{}, err
	}
	if err := d.await(stageAuth, h.name); err != nil {
		return hsPeer{}, err
	}
	ch, err := c.newHello(version, 0)
	if err != nil {
		return hsPeer{}, err
	}
	chBody := ch.marshal()
	if err := writeHS(w, hsChallenge, chBody); err != nil {
		return hsPeer{}, err
	}
	peer := peerFrom(h, version)
	cookie := c.cookieFor(h.name)
	if err := checkAuth(r, w, cookie, helloBody, chBody, h.name); err != nil {
		return peer, err
	}
	status, err := d.decide(peer)
	if err != nil {
		writeReject(w, rejectShutdown, "shutting down")
		return peer, err
	}
	ack := append([]byte{status}, proof(cookie, labelAcceptor, helloBody, chBody, []byte{status})...)
	if err := writeHS(w, hsAuthAck, ack); err != nil {
		return peer, err
	}
	return peer, finishAccept(r, peer, status, d)
}

// checkAuth reads the dialer's Auth and verifies its proof, rejecting the
// dialer if it fails.
func checkAuth(r *bufio.Reader, w io.Writer, cookie, helloBody, chBody []byte, name string) error {
	auth, err := expectHS(r, hsAuth)
	if err != nil {
		return err
	}
	if len(auth) != proofSize || !hmac.Equal(auth, proof(cookie, labelDialer, helloBody, chBody, nil)) {
		writeReject(w, rejectAuth, "authentication failed")
		return fmt.Errorf("%w: %s failed to prove the cookie", ErrAuth, name)
	}
	return nil
}

// checkHello validates the dialer's Hello and agrees on a version,
// rejecting the dialer when either fails.
func (c *hsConfig) checkHello(w io.Writer, body []byte) (hello, uint8, error) {
	h, err := parseHello(body)
	if err == nil && h.name == c.name {
		err = fmt.Errorf("%w: peer claims our own name %s", ErrProtocol, h.name)
	}
	if err != nil {
		writeReject(w, rejectProtocol, "malformed Hello or bad node name")
		return h, 0, err
	}
	v := agreeVersion(c.vmin, c.vmax, h.v1, h.v2)
	if v == 0 {
		writeReject(w, rejectVersion, fmt.Sprintf("acceptor speaks versions %d..%d", c.vmin, c.vmax))
		return h, 0, fmt.Errorf("%w: %w: %s offers versions %d..%d, we speak %d..%d", ErrProtocol, ErrVersion, h.name, h.v1, h.v2, c.vmin, c.vmax)
	}
	return h, v, nil
}

// await calls step, if set.
func (d *acceptDecisions) await(s hsStage, claimed string) error {
	if d.step == nil {
		return nil
	}
	return d.step(s, claimed)
}

// finishAccept completes the handshake after the AuthAck was sent.
func finishAccept(r *bufio.Reader, peer hsPeer, status uint8, d acceptDecisions) error {
	switch status {
	case statusNOK:
		return errLostRace
	case statusAlive:
		if err := d.await(stageConfirm, peer.name); err != nil {
			return err
		}
		body, err := expectHS(r, hsConfirm)
		if err != nil {
			return err
		}
		if len(body) != 1 || body[0] > 1 {
			return fmt.Errorf("%w: malformed Confirm", ErrProtocol)
		}
		if body[0] == 0 {
			return errAborted
		}
		return d.replace(peer)
	}
	return nil
}
