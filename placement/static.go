package placement

import "fmt"

// StaticMember is a member of a static view (Config.Static).
type StaticMember struct {
	Name string // node name, name@host
	// Addr is the member's transport address, given to the node runtime
	// (node.SetAddr) so that it can connect; "" to keep what it knows.
	Addr string
	// Weight is the member's share of the keys (1..ring.MaxWeight); 0
	// means 1.
	Weight int
	// Draining leaves the member out of the ring while it stays alive: it
	// hands its keys off (Drain and Leave mark the local node draining by
	// themselves).
	Draining bool
}

// StaticSelf describes this node as a member of a static view: its name,
// transport address and weight.
func (c *Cluster) StaticSelf() StaticMember {
	return StaticMember{Name: c.self, Addr: c.node.Addr(), Weight: c.cfg.Weight}
}

// SetStaticView installs the view of members (Config.Static only): the
// alive members, with quorum the side verdict for quorum mode. Keys that
// the new ring gives to other members are handed off as on any view
// change. A member not in members is considered gone (failed).
func (c *Cluster) SetStaticView(members []StaticMember, quorum bool) error {
	if !c.cfg.Static {
		return fmt.Errorf("%w: SetStaticView needs Config.Static", ErrBadConfig)
	}
	if c.isClosing() {
		return ErrShutdown
	}
	in := viewInput{quorum: quorum}
	for _, m := range members {
		if err := checkStaticMember(m); err != nil {
			return err
		}
		if m.Addr != "" && m.Name != c.self {
			c.node.SetAddr(m.Name, m.Addr)
		}
		in.alive = append(in.alive, memberInfo{
			name: m.Name, addr: m.Addr, weight: max(m.Weight, 1), draining: m.Draining, proto: protocolVersion,
		})
	}
	c.applyInput(in)
	return nil
}

func checkStaticMember(m StaticMember) error {
	if m.Name == "" || m.Weight < 0 {
		return fmt.Errorf("%w: static member %q with weight %d", ErrBadConfig, m.Name, m.Weight)
	}
	return nil
}
