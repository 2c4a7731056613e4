package demo

import (
	"context"
	"fmt"
	"slices"
	"time"

	"github.com/placerhq/placer/node"
	"github.com/placerhq/placer/node/pg"
)

// Step 6: process groups (:pg2, today's :pg).

const demoGroup = "todo_list/bob" // the seed's {:todo_list, "bob"}

// stepGroups: node2 joins a group, node1 sees it, node1 joins too; both
// nodes list both members; get_closest_pid prefers a local member.
func stepGroups(ctx context.Context, d *demo) error {
	n1, n2 := d.nodes[0], d.nodes[1]
	d.iex(n1.name, ":pg2.start()")
	d.placer("pg.Start(c1.Node(), pg.DefaultConfig())   # every demo node runs the scope \"pg\"; sN is node N's")
	d.result(":ok")
	d.iex(n1.name, `:pg2.create({:todo_list, "bob"})`)
	d.note("pg (OTP 23+) has no create: a group exists while it has members")
	d.iex(n2.name, ":pg2.which_groups()")
	d.placer("s2.WhichGroups()")
	d.result("%q", n2.groups.WhichGroups())
	p2, err := n2.c.Node().NewInbox()
	if err != nil {
		return err
	}
	defer p2.Close()
	if err := d.joinAndSee(ctx, n2, n1, p2.Self(), "group_join_visible_us"); err != nil {
		return err
	}
	p1, err := n1.c.Node().NewInbox()
	if err != nil {
		return err
	}
	defer p1.Close()
	if err := d.joinAndSee(ctx, n1, n2, p1.Self(), "group_join_visible_us_2"); err != nil {
		return err
	}
	return d.closestAndMembers(n1, p1.Self())
}

// joinAndSee joins pid on `on` and times until `other` sees it (figure
// key).
func (d *demo) joinAndSee(ctx context.Context, on, other *demoNode, pid node.PID, key string) error {
	d.iex(on.name, `:pg2.join({:todo_list, "bob"}, self())`)
	d.placer("s%s.Join(%q, self)", demoVar(on.name)[1:], demoGroup)
	sub, err := other.groups.Monitor(demoGroup) // times the join as other sees it
	if err != nil {
		return err
	}
	defer sub.Cancel()
	start := time.Now()
	if err := on.groups.Join(demoGroup, pid); err != nil {
		return err
	}
	if err := demoAwaitJoin(ctx, sub, pid, d.o.Timeout); err != nil {
		return err
	}
	took := float64(time.Since(start).Microseconds())
	d.result(":ok")
	d.iex(other.name, `:pg2.get_members({:todo_list, "bob"})`)
	d.placer("s%s.Members(%q)   # a local read", demoVar(other.name)[1:], demoGroup)
	d.result("%s   # the join was visible here %.0f µs after Join", demoPIDList(other.groups.Members(demoGroup)), took)
	d.fig(key, took, "µs", "pg join on "+on.name+" until "+other.name+"'s Members shows it")
	return nil
}

// closestAndMembers times Members and shows get_closest_pid on node1.
func (d *demo) closestAndMembers(n1 *demoNode, local node.PID) error {
	const reads = 100_000
	start := time.Now()
	for range reads {
		_ = n1.groups.Members(demoGroup)
	}
	ns := float64(time.Since(start).Nanoseconds()) / reads
	d.fig("group_members_ns", ns, "ns", "get_members of a two-member group (local read)")
	d.iex(n1.name, `:pg2.get_closest_pid({:todo_list, "bob"})`)
	d.placer("s1.Closest(%q)", demoGroup)
	pid, err := n1.groups.Closest(demoGroup)
	if err != nil {
		return err
	}
	d.result("#PID%s   # node1's own member (get_members took %.0f ns a read)", pid, ns)
	d.fig("group_closest_local", pid == local, "", "get_closest_pid on node1 returned node1's member")
	if pid != local || len(n1.groups.Members(demoGroup)) != 2 {
		return fmt.Errorf("%w: closest %v (want %v), members %v", ErrCheck, pid, local, n1.groups.Members(demoGroup))
	}
	return nil
}

func demoPIDList(pids []node.PID) string {
	out := "["
	for i, p := range pids {
		if i > 0 {
			out += ", "
		}
		out += "#PID" + p.String()
	}
	return out + "]"
}

// demoAwaitJoin waits for sub's event of pid's join (the subscriber's
// Members shows it by then).
func demoAwaitJoin(ctx context.Context, sub *pg.Subscription, pid node.PID, timeout time.Duration) error {
	ctx, cancel := context.WithTimeout(ctx, timeout)
	defer cancel()
	for {
		select {
		case ev, ok := <-sub.C:
			if !ok {
				return fmt.Errorf("%w: the subscription closed", ErrCheck)
			}
			if ev.Kind == pg.Joined && slices.Contains(ev.PIDs, pid) {
				return nil
			}
		case <-ctx.Done():
			return fmt.Errorf("%w: waiting for the join of %v: %w", ErrTimeout, pid, ctx.Err())
		}
	}
}
