package agent

import (
	"fmt"
	"net"
	"strconv"
	"strings"

	"github.com/placerhq/placer/placement"
	"github.com/placerhq/placer/placement/agent/names"
	"github.com/placerhq/placer/transport"
)

// Agents turns agent references into the addresses a placement.Client
// talks to: each of byName is a node name looked up in the names
// directory dir; each of addrs is NAME@HOST:PORT, a node name, or
// HOST:PORT of an agent in dir (see ParseAgentAddr). With neither, every
// cluster agent registered in dir is taken, in name order. Hidden agents
// are never targets. Errors wrap ErrNoAgent or ErrBadAddr.
func Agents(dir string, byName, addrs []string) ([]placement.AgentAddr, error) {
	var out []placement.AgentAddr
	for _, n := range byName {
		a, err := agentByName(n, dir)
		if err != nil {
			return nil, err
		}
		out = append(out, a)
	}
	for _, s := range addrs {
		a, err := ParseAgentAddr(s, dir)
		if err != nil {
			return nil, err
		}
		out = append(out, a)
	}
	if len(byName)+len(addrs) > 0 {
		return out, nil
	}
	return registeredAgents(dir)
}

// registeredAgents lists every cluster agent of the names directory.
func registeredAgents(dir string) ([]placement.AgentAddr, error) {
	recs, err := names.List(dir)
	if err != nil {
		return nil, err
	}
	var out []placement.AgentAddr
	for _, r := range recs {
		if !r.Hidden {
			out = append(out, placement.AgentAddr{Name: r.Name, Addr: r.Transport})
		}
	}
	if len(out) == 0 {
		return nil, fmt.Errorf("%w in the names dir %s: start one with `placer agent`, or give --node or --addr NAME@HOST:PORT", ErrNoAgent, dir)
	}
	return out, nil
}

// agentByName finds a cluster agent in the names directory.
func agentByName(name, dir string) (placement.AgentAddr, error) {
	rec, ok := names.Lookup(dir, name)
	switch {
	case !ok:
		return placement.AgentAddr{}, fmt.Errorf("%w named %s in the names dir %s (on another host? use --addr %s:PORT)", ErrNoAgent, name, dir, name)
	case rec.Hidden:
		return placement.AgentAddr{}, fmt.Errorf("%w: %s is a hidden observer, not a cluster member", ErrNoAgent, name)
	}
	return placement.AgentAddr{Name: rec.Name, Addr: rec.Transport}, nil
}

// ParseAgentAddr reads NAME@HOST:PORT, a node name (looked up in the
// names directory dir), or HOST:PORT (the agent of dir listening there).
func ParseAgentAddr(s, dir string) (placement.AgentAddr, error) {
	if at := strings.LastIndex(s, "@"); at >= 0 {
		hostPort := s[at+1:]
		if host, port, err := net.SplitHostPort(hostPort); err == nil {
			if p, err := strconv.Atoi(port); err != nil || p < 1 || p > 65535 {
				return placement.AgentAddr{}, fmt.Errorf("%w: %q: bad port", ErrBadAddr, s)
			}
			name := s[:at+1] + host
			if err := transport.ValidateName(name); err != nil {
				return placement.AgentAddr{}, fmt.Errorf("%w: %w", ErrBadAddr, err)
			}
			return placement.AgentAddr{Name: name, Addr: hostPort}, nil
		}
		return agentByName(s, dir)
	}
	if _, _, err := net.SplitHostPort(s); err != nil {
		return placement.AgentAddr{}, fmt.Errorf("%w: %q: want NAME@HOST:PORT, a node name or HOST:PORT", ErrBadAddr, s)
	}
	return agentAt(s, dir)
}

// agentAt finds the cluster agent of dir whose transport listens on addr.
func agentAt(addr, dir string) (placement.AgentAddr, error) {
	recs, err := names.List(dir)
	if err != nil {
		return placement.AgentAddr{}, err
	}
	for _, r := range recs {
		if r.Transport == addr && !r.Hidden {
			return placement.AgentAddr{Name: r.Name, Addr: addr}, nil
		}
	}
	return placement.AgentAddr{}, fmt.Errorf("%w at %s in the names dir %s: give its name too, as NAME@%s", ErrNoAgent, addr, dir, addr)
}
