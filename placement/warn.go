package placement

import "github.com/rs/zerolog"

// warnKey logs a warning about one key through c.warns: at most one line
// per warning kind a second, with the count of the ones held back
// (internal/ratelog), so that a failure hitting every key of a large
// rebalance, a heal or a kind whose Init fails writes a few lines, not one
// per key. peer ("" for none) is the other node involved; err may be nil.
func (c *Cluster) warnKey(kind, msg string, id keyID, peer string, err error) {
	c.warns.Warn(kind, msg, func(ev *zerolog.Event) *zerolog.Event {
		ev = ev.Str("kind_name", id.Kind).Str("key", id.Key)
		if peer != "" {
			ev = ev.Str("peer", peer)
		}
		return ev.Err(err)
	})
}
