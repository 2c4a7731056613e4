package membership

import (
	"errors"
	"fmt"
	"net"
	"strconv"
	"strings"

	"github.com/rs/zerolog"
)

// DefaultPort is the gossip port a join address without one gets (Serf's
// conventional 7946). memberlist itself would use this node's own bind
// port, so that "--join 127.0.0.1" could mean this very node.
const DefaultPort = 7946

// JoinAddr returns addr ("host:port", "host", "name/host:port" or
// "name/host") with DefaultPort added when it has no port.
func JoinAddr(addr string) string {
	name, hostPort := "", addr
	if i := strings.LastIndexByte(addr, '/'); i >= 0 {
		name, hostPort = addr[:i+1], addr[i+1:]
	}
	if _, _, err := net.SplitHostPort(hostPort); err == nil {
		return addr
	}
	return name + net.JoinHostPort(strings.Trim(hostPort, "[]"), strconv.Itoa(DefaultPort))
}

// errJoinSelf: every join address was this node's own gossip address.
var errJoinSelf = errors.New("the join address is this node's own gossip address: give another member's")

// joinTargets adds the default port where one is missing and leaves out
// this node's own gossip address (a join with itself "succeeds" and would
// make a one-node island look joined). ErrJoinFailed if nothing is left.
func (m *Membership) joinTargets(addrs []string) ([]string, error) {
	out := make([]string, 0, len(addrs))
	for _, a := range addrs {
		a = JoinAddr(a)
		if m.isSelf(a) {
			m.warns.Warn("join-self", "join address is this node's own gossip address: skipped",
				func(ev *zerolog.Event) *zerolog.Event { return ev.Str("addr", a) })
			continue
		}
		out = append(out, a)
	}
	if len(out) == 0 {
		return nil, fmt.Errorf("%w: %v: %w", ErrJoinFailed, addrs, errJoinSelf)
	}
	return out, nil
}

// isSelf reports whether addr resolves to this node's gossip address (an
// unresolvable address is not ours: the join reports it).
func (m *Membership) isSelf(addr string) bool {
	if i := strings.LastIndexByte(addr, '/'); i >= 0 {
		addr = addr[i+1:]
	}
	host, port, err := net.SplitHostPort(addr)
	selfHost, selfPort, err2 := net.SplitHostPort(m.self)
	if err != nil || err2 != nil || port != selfPort {
		return false
	}
	ips, err := net.LookupIP(host)
	if err != nil {
		return false
	}
	self := net.ParseIP(selfHost)
	for _, ip := range ips {
		if ip.Equal(self) || (self.IsUnspecified() && ip.IsLoopback()) {
			return true
		}
	}
	return false
}

// JoinCause names the likely cause of a failed join from its error: the
// gossip key (another cookie), nothing listening, a name that does not
// resolve, this node's own address, or "" when the error says nothing
// more specific.
func JoinCause(err error) string {
	if err == nil {
		return ""
	}
	t := strings.ToLower(err.Error())
	switch {
	case errors.Is(err, errJoinSelf):
		return "the join address is this node's own gossip address"
	case strings.Contains(t, "decrypt") || strings.Contains(t, "encrypt") || strings.Contains(t, "eof"):
		return "wrong cookie: the member answered but this node's gossip key (derived from the cookie) does not match; copy the cluster's cookie file"
	case strings.Contains(t, "no such host") || strings.Contains(t, "failed to resolve") || strings.Contains(t, "lookup "):
		return "name resolution failed: the join host does not resolve"
	case strings.Contains(t, "connection refused"):
		return "nothing listening: no gossip at the join address (is the member running? is its --gossip port the one given?)"
	case strings.Contains(t, "timeout") || strings.Contains(t, "no route") || strings.Contains(t, "unreachable"):
		return "unreachable: the join address did not answer in time (firewall? wrong address?)"
	}
	return ""
}
