package load

import (
	"errors"
	"fmt"
	"math/rand/v2"
	"strconv"
	"strings"
	"time"

	"github.com/placerhq/placer/internal/faults/history"
	"github.com/placerhq/placer/internal/poll"
	"github.com/placerhq/placer/node"
)

// stream is the operations of one generator on one key, in sequence.
type stream struct {
	g       *Generator
	key     string
	writes  int64 // sequence numbers handed out
	acked   int64 // the last acknowledged write
	anchor  int64 // the last write acknowledged before the previous read began
	incrs   int64
	sends   int64
	handed  int64 // the last send handed over
	orderF  string
	writeFn func(seq int64) string
}

func (g *Generator) newStream(key string) *stream {
	prefix := "a." + g.short + "."
	return &stream{g: g, key: key, orderF: "o." + g.short,
		writeFn: func(seq int64) string { return prefix + strconv.FormatInt(seq, 10) }}
}

// run loops until Stop, starting at a random point of the first period so
// that the streams spread out.
func (s *stream) run() {
	if !s.sleep(rand.N(s.g.cfg.Period)) {
		return
	}
	steps := []func(){s.write, s.incr, s.send, s.read}
	for {
		for _, step := range steps {
			if s.g.loadCtx.Err() != nil {
				return
			}
			step()
		}
		if !s.sleep(s.g.cfg.Period) {
			return
		}
	}
}

// sleep waits d unless Stop comes first (false then).
func (s *stream) sleep(d time.Duration) bool { return poll.Sleep(s.g.loadCtx, d) }

func (s *stream) call(kind, req string) ([]byte, error) {
	ctx, cancel := s.g.opCtx()
	defer cancel()
	return s.g.cl.Call(ctx, kind, s.key, []byte(req))
}

// write sets a new field; acknowledged, it becomes the stream's probe.
func (s *stream) write() {
	s.writes++
	seq := s.writes
	op := history.Op{Start: history.Now(), Type: history.OpWrite, Key: s.key, Field: s.writeFn(seq),
		Value: strconv.FormatInt(seq, 10), Seq: seq}
	_, err := s.call(KindKV, "set "+op.Field+" "+op.Value)
	if err == nil {
		s.acked = seq
	}
	s.g.record(op, err)
}

// incr adds one to the key's counter.
func (s *stream) incr() {
	s.incrs++
	op := history.Op{Start: history.Now(), Type: history.OpIncr, Key: s.key, Seq: s.incrs}
	out, err := s.call(KindCounter, "1")
	op.Value = string(out)
	s.g.record(op, err)
}

// send sets the order register by a message.
func (s *stream) send() {
	s.sends++
	seq := s.sends
	op := history.Op{Start: history.Now(), Type: history.OpSend, Key: s.key, Field: s.orderF, Seq: seq}
	ctx, cancel := s.g.opCtx()
	err := s.g.cl.Send(ctx, KindKV, s.key, []byte(fmt.Sprintf("set %s %d", s.orderF, seq)))
	cancel()
	if err == nil {
		s.handed = seq
	}
	s.g.record(op, err)
}

// read reads the order register, then probes the anchor: the last write
// acknowledged before the previous read began. Found, the copy that
// answered holds what the previous read's copy held (its lineage goes
// through it), so its register must not be older than the previous read's.
// (Probing the last write instead is not enough: a copy that replaced the
// previous one without its state would hold a write made since.)
func (s *stream) read() {
	op := history.Op{Start: history.Now(), Type: history.OpRead, Key: s.key, Field: s.orderF, Sent: s.handed,
		Probe: s.anchor, Seq: s.sends}
	ackedAtStart := s.acked
	var err error
	op.Order, err = s.getInt(s.orderF)
	if err == nil && s.anchor > 0 {
		var v int64
		v, err = s.getInt(s.writeFn(s.anchor))
		op.Intact = v == s.anchor
	}
	s.anchor = ackedAtStart
	s.g.record(op, err)
}

// getInt reads an integer field: -1 if the field is absent.
func (s *stream) getInt(field string) (int64, error) {
	out, err := s.call(KindKV, "get "+field)
	if isNoKey(err) {
		return -1, nil
	}
	if err != nil {
		return 0, err
	}
	v, err := strconv.ParseInt(string(out), 10, 64)
	if err != nil {
		return 0, fmt.Errorf("%w: field %s holds %q", ErrBadValue, field, out)
	}
	return v, nil
}

// ErrBadValue: a field holds something the generator never wrote.
var ErrBadValue = errors.New("load: unexpected value")

// isNoKey: the kv process answered that the field is absent (its handler
// error, the agent's kinds.go: `kv: no key "F"`).
func isNoKey(err error) bool {
	return err != nil && errors.Is(err, node.ErrHandler) && strings.Contains(err.Error(), "no key")
}
