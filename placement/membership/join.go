package membership

import (
	"context"
	"errors"
	"fmt"
	"maps"
	"slices"
	"time"
)

// Join contacts the given gossip addresses ("host:port" or
// "name/host:port") once, synchronously, and returns how many answered. If
// none did, it returns ErrJoinFailed and, unless RetryJoinMax is 1, keeps
// retrying in the background every RetryJoinInterval (up to RetryJoinMax
// attempts in all); a later Join replaces that retry loop. A node with
// another cookie never answers: its join fails.
func (m *Membership) Join(addrs []string) (int, error) {
	if err := m.checkJoinable(); err != nil {
		return 0, err
	}
	addrs = slices.Clone(addrs)
	n, err := m.joinOnce(addrs)
	if err == nil {
		m.stopRetry()
		return n, nil
	}
	if m.cfg.RetryJoinMax != 1 {
		m.startRetry(addrs, 1)
	}
	return 0, err
}

func (m *Membership) checkJoinable() error {
	m.lifeMu.Lock()
	defer m.lifeMu.Unlock()
	switch {
	case m.closing:
		return ErrShutdown
	case m.leaveDone != nil:
		return ErrLeft
	}
	return nil
}

// joinOnce makes one join attempt.
func (m *Membership) joinOnce(addrs []string) (int, error) {
	m.stats.joinAttempts.Add(1)
	addrs, err := m.joinTargets(addrs)
	if err != nil {
		m.joinMu.Lock()
		m.lastJoinErr = err
		m.joinMu.Unlock()
		return 0, err
	}
	n, err := m.serfJoin(addrs)
	if errors.Is(err, ErrLeft) || errors.Is(err, ErrShutdown) {
		return 0, err
	}
	if n > 0 {
		if err != nil { // contacted, but the join intent broadcast failed: gossip repairs it
			m.log.Debug().Err(err).Msg("join intent broadcast failed")
		}
		m.markJoined()
		m.log.Info().Int("contacted", n).Strs("addrs", addrs).Msg("joined cluster")
		return n, nil
	}
	if err == nil {
		err = errors.New("no address answered")
	}
	err = fmt.Errorf("%w: %v: %w", ErrJoinFailed, addrs, err)
	m.joinMu.Lock()
	m.lastJoinErr = err
	m.joinMu.Unlock()
	return 0, err
}

// serfJoin calls serf.Join under serfMu, unless Leave has begun (then
// ErrLeft, and nothing is joined).
func (m *Membership) serfJoin(addrs []string) (int, error) {
	m.serfMu.Lock()
	defer m.serfMu.Unlock()
	if err := m.checkJoinable(); err != nil {
		return 0, err
	}
	if m.testHookJoin != nil {
		m.testHookJoin()
	}
	return m.serf.Join(addrs, true)
}

// LastJoinError returns the error of the latest failed join attempt (nil
// before any failed or after a successful one); JoinCause names its
// likely cause.
func (m *Membership) LastJoinError() error {
	m.joinMu.Lock()
	defer m.joinMu.Unlock()
	return m.lastJoinErr
}

func (m *Membership) markJoined() {
	m.joinMu.Lock()
	defer m.joinMu.Unlock()
	m.joinErr, m.lastJoinErr = nil, nil
	if !m.joinedClosed {
		m.joinedClosed = true
		close(m.joined)
	}
}

func (m *Membership) isJoined() bool {
	m.joinMu.Lock()
	defer m.joinMu.Unlock()
	return m.joinedClosed
}

// Joined returns a channel closed once a join (from Config.Join, Join, or
// a retry) has contacted at least one member. A node that others join
// without ever joining anyone itself never closes it.
func (m *Membership) Joined() <-chan struct{} { return m.joined }

// JoinError returns ErrJoinExhausted (wrapping the last failure) once the
// background join retries have all failed; nil while retrying, after a
// successful join, or if no join was asked for.
func (m *Membership) JoinError() error {
	m.joinMu.Lock()
	defer m.joinMu.Unlock()
	return m.joinErr
}

// startRetry starts (or restarts) the background join loop; used attempts
// were already made.
func (m *Membership) startRetry(addrs []string, used int) {
	m.lifeMu.Lock()
	defer m.lifeMu.Unlock()
	if m.closing || m.leaveDone != nil {
		return
	}
	if m.retryStop != nil {
		close(m.retryStop)
	}
	stop := make(chan struct{})
	m.retryStop = stop
	m.gos.Go(func() { m.retryLoop(addrs, used, stop) })
}

// stopRetry stops the background join loop, if one runs.
func (m *Membership) stopRetry() {
	m.lifeMu.Lock()
	defer m.lifeMu.Unlock()
	m.stopRetryLocked()
}

func (m *Membership) stopRetryLocked() {
	if m.retryStop != nil {
		close(m.retryStop)
		m.retryStop = nil
	}
}

// retryLoop attempts the join at once if no attempt was used yet, then
// every RetryJoinInterval, until one succeeds, RetryJoinMax attempts are
// used, it is replaced, or Shutdown begins.
func (m *Membership) retryLoop(addrs []string, used int, stop chan struct{}) {
	wait := m.cfg.RetryJoinInterval
	if used == 0 {
		wait = 0
	}
	t := time.NewTimer(wait)
	defer t.Stop()
	for {
		select {
		case <-m.done:
			return
		case <-stop:
			return
		case <-t.C:
		}
		_, err := m.joinOnce(addrs)
		used++
		if err == nil {
			m.clearRetry(stop)
			return
		}
		if max := m.cfg.RetryJoinMax; max > 0 && used >= max {
			m.exhausted(err, used)
			m.clearRetry(stop)
			return
		}
		m.log.Debug().Err(err).Int("attempt", used).Msg("join failed; retrying")
		t.Reset(m.cfg.RetryJoinInterval)
	}
}

// clearRetry forgets stop if it is still the current loop's channel.
func (m *Membership) clearRetry(stop chan struct{}) {
	m.lifeMu.Lock()
	defer m.lifeMu.Unlock()
	if m.retryStop == stop {
		m.retryStop = nil
	}
}

func (m *Membership) exhausted(last error, used int) {
	err := fmt.Errorf("%w after %d attempts: %w", ErrJoinExhausted, used, last)
	m.joinMu.Lock()
	m.joinErr = err
	m.joinMu.Unlock()
	m.log.Warn().Err(err).Msg("giving up joining")
}

// Leave leaves the cluster gracefully: it broadcasts the leave, waits until
// the broadcast went out and then for the profile's leave-propagation delay
// (300 ms local, 1 s lan) so that the others see "left" rather than
// "failed". A join attempt in flight (Config.Join's background attempts)
// ends first, and none starts after it. Bounded by that attempt plus about
// twice the profile's broadcast timeout plus that delay. If ctx ends
// first, Leave returns ErrLeave wrapping ctx's error and the leave goes on
// in the background (Shutdown waits for it).
// Safe to call more than once: later calls wait for the same leave. After
// Leave the node stays up (answering probes) until Shutdown.
func (m *Membership) Leave(ctx context.Context) error {
	m.lifeMu.Lock()
	if m.closing {
		m.lifeMu.Unlock()
		return ErrShutdown
	}
	if m.leaveDone == nil {
		m.leaveDone = make(chan struct{})
		m.stopRetryLocked()
		done := m.leaveDone
		m.gos.Go(func() { m.leave(done) })
	}
	done := m.leaveDone
	m.lifeMu.Unlock()
	select {
	case <-done:
		m.lifeMu.Lock()
		defer m.lifeMu.Unlock()
		return m.leaveErr
	case <-ctx.Done():
		return fmt.Errorf("%w: %w", ErrLeave, ctx.Err())
	}
}

// leave runs serf.Leave; done is closed when it returned.
func (m *Membership) leave(done chan struct{}) {
	start := time.Now()
	err := m.serfLeave()
	m.lifeMu.Lock()
	m.leaveErr = err
	m.lifeMu.Unlock()
	close(done)
	m.kickPublish()
	m.log.Info().Err(err).Stringer("took", time.Since(start)).Msg("left cluster")
}

// serfLeave calls serf.Leave, turning memberlist's "leave after shutdown"
// panic (possible only if Serf shut itself down after losing a name
// conflict vote) into an error.
func (m *Membership) serfLeave() (err error) {
	defer func() {
		if r := recover(); r != nil {
			err = fmt.Errorf("%w: serf stopped during leave: %v", ErrLeave, r)
		}
	}()
	m.serfMu.Lock() // an attempt to join in flight ends first (see serfMu)
	defer m.serfMu.Unlock()
	if err := m.serf.Leave(); err != nil {
		return fmt.Errorf("%w: %w", ErrLeave, err)
	}
	return nil
}

// SetWeight changes this node's ring weight (1..MaxWeight) and gossips it. The
// others see a ChangeUpdate. ErrTagsUpdate means the new weight is in
// effect locally but its broadcast did not go out within the profile's
// broadcast timeout (gossip still carries it later).
func (m *Membership) SetWeight(w int) error {
	if w < 1 || w > MaxWeight {
		return fmt.Errorf("%w: weight %d not in 1..%d", ErrInvalidArgument, w, MaxWeight)
	}
	m.tagsMu.Lock()
	defer m.tagsMu.Unlock()
	return m.applyTagsLocked(w, m.extra)
}

// SetTags replaces this node's extra tags (Config.Tags) and gossips them.
// Keys "placer" and "placer.*" are reserved. Errors as for SetWeight.
func (m *Membership) SetTags(tags map[string]string) error {
	if err := checkExtraTags(tags); err != nil {
		return fmt.Errorf("%w: %w", ErrInvalidArgument, err)
	}
	m.tagsMu.Lock()
	defer m.tagsMu.Unlock()
	return m.applyTagsLocked(m.weight, maps.Clone(tags))
}

func (m *Membership) applyTagsLocked(w int, extra map[string]string) error {
	if err := m.checkJoinable(); err != nil {
		return err
	}
	tags := m.signedTags(w, extra)
	if err := checkTagSize(tags); err != nil {
		return fmt.Errorf("%w: %w", ErrInvalidArgument, err)
	}
	err := m.serf.SetTags(tags)
	m.weight, m.extra = w, extra // Serf applied them locally even on a broadcast timeout
	m.kickPublish()
	if err != nil {
		return fmt.Errorf("%w: %w", ErrTagsUpdate, err)
	}
	return nil
}

// ForceLeave marks a failed member as left, cluster-wide: Serf stops
// reconnecting to it and it leaves the last full membership of the quorum
// rule (use it for a node that is gone for good). Only failed members can
// be forced out (ErrInvalidArgument otherwise).
func (m *Membership) ForceLeave(name string) error {
	if m.isClosing() {
		return ErrShutdown
	}
	ms := m.Members()
	i := slices.IndexFunc(ms, func(pm Member) bool { return pm.Name == name })
	if i < 0 {
		return fmt.Errorf("%w: %q", ErrUnknownMember, name)
	}
	if st := ms[i].Status; st != StatusFailed {
		return fmt.Errorf("%w: %q is %s, not failed", ErrInvalidArgument, name, st)
	}
	if err := m.serf.RemoveFailedNode(name); err != nil {
		return fmt.Errorf("%w: force leave %q: %w", ErrLeave, name, err)
	}
	m.kickPublish()
	return nil
}
