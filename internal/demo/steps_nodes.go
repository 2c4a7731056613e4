package demo

import (
	"context"
	"crypto/rand"
	"errors"
	"fmt"
	"net"
	"slices"
	"strconv"
	"strings"

	"github.com/placerhq/placer/node"
	"github.com/placerhq/placer/placement/membership"
	"github.com/placerhq/placer/transport"
)

// Steps 11-13: nodes outside the ring.

// startPlain starts a bare node (no Serf, no ring) on TCP with cookie.
func (d *demo) startPlain(name string, hidden bool, cookie []byte) (*node.Node, error) {
	cfg := node.DefaultConfig()
	cfg.Name, cfg.Hidden, cfg.Logger = name, hidden, d.log
	cfg.Transport = d.h.PlainTransport(cookie)
	n, err := node.New(cfg)
	if err != nil {
		return nil, fmt.Errorf("start %s: %w", name, err)
	}
	return n, nil
}

// stepHidden: a hidden node connects to node1; Node.list on both sides.
func stepHidden(ctx context.Context, d *demo) error {
	n1 := d.nodes[0]
	name := "observer@127.0.0.1"
	d.shellCmd("iex --hidden --name " + name)
	d.placer("node.New(node.Config{Name: %q, Hidden: true, ...})   # no Serf, never on the ring", name)
	obs, err := d.startPlain(name, true, d.cookie)
	if err != nil {
		return err
	}
	defer obs.Close()
	if err := d.plainConnect(ctx, obs, n1); err != nil {
		return err
	}
	hid := d.nodeList(n1, "Node.list([:hidden])", node.NodesHidden)
	d.nodeList(n1, "Node.list([:connected])", node.NodesConnected)
	vis := d.nodeList(n1, "Node.list([:visible])", node.NodesVisible)
	ovis := d.plainList(obs, "Node.list([:visible])", node.NodesVisible)
	ohid := d.plainList(obs, "Node.list([:hidden])", node.NodesHidden)
	d.placer("c1.View().Members   # the ring")
	ring := demoViewNames(n1.c.View())
	d.result("%q", ring)
	d.fig("hidden_listed_hidden", slices.Contains(hid, name), "", "node1 lists the observer under :hidden")
	d.fig("hidden_listed_visible", slices.Contains(vis, name), "", "node1 lists it under :visible")
	if !slices.Contains(hid, name) || slices.Contains(vis, name) || len(ovis) != 0 ||
		!slices.Equal(ohid, []string{n1.name}) || slices.Contains(ring, name) {
		return fmt.Errorf("%w: node1's hidden %v and visible %v, the observer's visible %v and hidden %v, ring %v",
			ErrCheck, hid, vis, ovis, ohid, ring)
	}
	return nil
}

// plainConnect narrates Node.connect from a node outside the cluster to
// dn, and waits until dn sees the connection too.
func (d *demo) plainConnect(ctx context.Context, n *node.Node, dn *demoNode) error {
	n.SetAddr(dn.name, dn.c.Node().Addr())
	d.iex(n.Self(), fmt.Sprintf("Node.connect(:%q)", dn.name))
	d.placer("%s.Connect(ctx, %q)", demoVar(n.Self()), dn.name)
	ok := n.Connect(ctx, dn.name)
	d.result("%v", ok)
	if !ok {
		return fmt.Errorf("%w: %s could not connect to %s", ErrCheck, n.Self(), dn.name)
	}
	return d.waitFor(ctx, dn.name+" to see "+n.Self(), func() bool { return dn.c.Node().IsConnected(n.Self()) })
}

// plainList narrates Node.list/1 on a node outside the cluster.
func (d *demo) plainList(n *node.Node, elixir string, set node.NodeSet) []string {
	d.iex(n.Self(), elixir)
	d.placer("%s.Nodes(%s)", demoVar(n.Self()), demoSetName(set))
	got := n.Nodes(set)
	d.result("%q", got)
	return got
}

// stepCookie: a node with another cookie is refused by the transport and
// by Serf; Node.set_cookie/2 lets node1 talk to it anyway.
func stepCookie(ctx context.Context, d *demo) error {
	n1 := d.nodes[0]
	name := "intruder@127.0.0.1"
	other := make([]byte, membership.MinCookieLen)
	if _, err := rand.Read(other); err != nil {
		return err
	}
	d.shellCmd("iex --name " + name + " --cookie another_cookie")
	in, err := d.startPlain(name, false, other)
	if err != nil {
		return err
	}
	defer in.Close()
	in.SetAddr(n1.name, n1.c.Node().Addr())
	d.iex(name, fmt.Sprintf("Node.connect(:%q)", n1.name))
	d.placer("intruder.ConnectErr(ctx, %q)", n1.name)
	cerr := in.ConnectErr(ctx, n1.name)
	d.result("false   # %s", demoOneLine(cerr))
	d.fig("cookie_refused", errors.Is(cerr, transport.ErrAuth), "", "a node with another cookie is refused (transport.ErrAuth)")
	if !errors.Is(cerr, transport.ErrAuth) {
		return fmt.Errorf("%w: connect with another cookie: %v", ErrCheck, cerr)
	}
	if err := d.gossipRefused(n1, other); err != nil {
		return err
	}
	return d.setCookie(ctx, n1, in, other)
}

// gossipRefused shows that Serf refuses a join with another cookie (the
// gossip key is derived from the cookie).
func (d *demo) gossipRefused(n1 *demoNode, other []byte) error {
	d.placer("membership.Start(cfg).Join([node1's gossip address])   # cfg.Cookie: the other cookie")
	cfg := membership.DefaultConfig()
	cfg.NodeName, cfg.Cookie, cfg.Profile, cfg.RetryJoinMax = "intruder@127.0.0.1", other, membership.ProfileLocal, 1
	cfg.Logger = d.log
	m, err := membership.Start(cfg)
	if err != nil {
		return err
	}
	_, jerr := m.Join([]string{n1.c.Membership().GossipAddr()})
	if err := m.Shutdown(); err != nil {
		return err
	}
	d.result("%s   # the gossip key is derived from the cookie", demoOneLine(jerr))
	d.fig("cookie_gossip_refused", errors.Is(jerr, membership.ErrJoinFailed), "", "Serf refuses a join with another cookie")
	if !errors.Is(jerr, membership.ErrJoinFailed) {
		return fmt.Errorf("%w: gossip join with another cookie: %v", ErrCheck, jerr)
	}
	return nil
}

// setCookie: node1 uses the intruder's cookie for that one peer.
func (d *demo) setCookie(ctx context.Context, n1 *demoNode, in *node.Node, other []byte) error {
	n := n1.c.Node()
	d.iex(n1.name, fmt.Sprintf("Node.set_cookie(:%q, :another_cookie)", in.Self()))
	d.placer("c1.Node().SetCookie(%q, anotherCookie)", in.Self())
	n.SetCookie(in.Self(), other)
	defer n.SetCookie(in.Self(), nil)
	n.SetAddr(in.Self(), in.Addr())
	d.iex(n1.name, fmt.Sprintf("Node.connect(:%q)", in.Self()))
	d.placer("c1.Node().Connect(ctx, %q)", in.Self())
	ok := n.Connect(ctx, in.Self())
	d.result("%v", ok)
	n.Disconnect(in.Self())
	d.iex(n1.name, "Node.get_cookie()")
	d.note("placer never shows a cookie: this demo's is %d random bytes held in memory;", len(d.cookie))
	d.note("a long-running node keeps its own in a cookie file of mode 0600")
	d.fig("cookie_set_cookie_connects", ok, "", "Node.set_cookie/2 then connect")
	if !ok {
		return fmt.Errorf("%w: connect with the per-peer cookie failed", ErrCheck)
	}
	return nil
}

// stepPorts: two nodes start with their transport in a port range; node1
// lists every member's ports, as :net_adm.names() does.
func stepPorts(ctx context.Context, d *demo) error {
	lo, hi := d.o.PortMin, d.o.PortMax
	if lo == 0 {
		var err error
		if lo, hi, err = demoFreeRange(); err != nil {
			return err
		}
	}
	d.shellCmd(fmt.Sprintf("iex --erl '-kernel inet_dist_listen_min %d' --erl '-kernel inet_dist_listen_max %d' --name %s", lo, hi, d.nextName()))
	d.placer("transport.Config{PortMin: %d, PortMax: %d}   # the first free port of the range", lo, hi)
	var got []int
	for range 2 {
		dn, err := d.startNode("", lo, hi)
		if err != nil {
			return err
		}
		_, p, _ := net.SplitHostPort(dn.c.Node().Addr())
		port, _ := strconv.Atoi(p)
		got = append(got, port)
		d.result("%s listens on %s", dn.name, dn.c.Node().Addr())
	}
	if err := d.waitViews(ctx, d.nodes); err != nil {
		return err
	}
	if err := d.settleLists(ctx); err != nil {
		return err
	}
	d.printNames()
	d.fig("ports_range", fmt.Sprintf("%d-%d", lo, hi), "", "the range given")
	d.fig("ports_got", got, "", "the ports the two nodes got")
	if got[0] == got[1] || slices.ContainsFunc(got, func(p int) bool { return p < lo || p > hi }) {
		return fmt.Errorf("%w: ports %v outside %d..%d", ErrCheck, got, lo, hi)
	}
	return nil
}

// settleLists waits until the lists (if any) are on their owners again.
func (d *demo) settleLists(ctx context.Context) error {
	if d.expect == nil {
		return nil
	}
	return d.waitFor(ctx, "every list on its owner", func() bool { return demoSettled(d.nodes, len(d.expect)) })
}

// printNames prints every member with its ports, from node1's Serf.
func (d *demo) printNames() {
	n1 := d.nodes[0]
	d.iex(n1.name, ":net_adm.names()")
	d.placer("c1.Membership().Members()   # Serf plays epmd: each member gossips its transport address")
	rows := [][]string{{"name", "status", "transport", "gossip"}}
	for _, m := range n1.c.Membership().Members() {
		rows = append(rows, []string{m.Name, m.Status.String(), m.TransportAddr, m.GossipAddr})
	}
	d.table(rows...)
}

// demoFreeRange picks a range of ten ports starting at one the kernel just
// found free.
func demoFreeRange() (int, int, error) {
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		return 0, 0, err
	}
	p := ln.Addr().(*net.TCPAddr).Port
	if err := ln.Close(); err != nil {
		return 0, 0, err
	}
	if p+9 > 65535 {
		return p - 9, p, nil
	}
	return p, p + 9, nil
}

// demoOneLine formats err on one line (some errors carry a multi-line list).
func demoOneLine(err error) string {
	if err == nil {
		return "<nil>"
	}
	return strings.Join(strings.Fields(err.Error()), " ")
}
