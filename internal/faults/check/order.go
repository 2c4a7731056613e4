package check

import "github.com/placerhq/placer/internal/faults/history"

// Order is what the reads of the order registers say about the order of
// each sender's messages to each key (history.OpRead).
//
// A stream (one load generator, one key) sends `set o.<node> n` with n
// growing, then reads the register and probes its anchor: the last write
// it had acknowledged before its previous read began. Found ("intact"),
// the copy that answered holds the state the previous read's copy held,
// so the register must not be older than the previous read's: it is only
// if a message was applied after a later one of the same sender, or if a
// merge let an older value win (Backwards). A read whose anchor is missing
// saw the key's state go back to an older copy or start fresh (Reverted;
// the writes are counted by LostWrites): the comparison restarts after it.
type Order struct {
	Reads     int             // successful reads with a probe
	Backwards [][2]history.Op // consecutive intact reads of a stream whose register went back
	Behind    int             // intact reads whose register is behind the last send handed over before them (a send dropped or not yet applied)
	Phantom   []history.Op    // registers ahead of every send handed over: a value never sent
	Reverted  int             // reads whose probe was missing
}

// Reorders checks every stream's reads.
func Reorders(ops []history.Op) Order {
	var o Order
	streams := map[[2]string][]history.Op{}
	for _, op := range byStart(ops, func(op history.Op) bool { return op.Type == history.OpRead && op.OK && op.Probe > 0 }) {
		id := [2]string{op.Node, op.Key}
		streams[id] = append(streams[id], op)
	}
	for _, reads := range streams {
		o.stream(reads)
	}
	return o
}

// stream checks one stream's reads, in order.
func (o *Order) stream(reads []history.Op) {
	var prev *history.Op
	for i := range reads {
		r := &reads[i]
		o.Reads++
		if !r.Intact {
			o.Reverted++
			prev = nil
			continue
		}
		o.one(r)
		if prev != nil && r.Order < prev.Order {
			o.Backwards = append(o.Backwards, [2]history.Op{*prev, *r})
		}
		prev = r
	}
}

// one checks an intact read against the sends before it. Seq is the
// number of sends the stream attempted before the read: a send that
// reported an error may still have been applied, but none beyond Seq.
func (o *Order) one(r *history.Op) {
	switch {
	case r.Order > r.Seq:
		o.Phantom = append(o.Phantom, *r)
	case r.Order < r.Sent:
		o.Behind++
	}
}
