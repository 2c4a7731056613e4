package schemes

import (
	"cmp"
	"fmt"
	"slices"

	"github.com/placerhq/placer/ring"
)

// MultiProbeConfig configures MultiProbe. Zero values: a zero field means
// its documented default; NewMultiProbe rejects any other value out of
// range with ring.ErrBadConfig.
type MultiProbeConfig struct {
	// Probes is k, the positions looked at per key. Default 21, the
	// paper's choice for a peak-to-mean load of about 1.05; range 1..255.
	// A lookup costs k binary searches.
	Probes int
}

// MaxProbes is the largest MultiProbeConfig.Probes.
const MaxProbes = 255

// DefaultMultiProbeConfig returns Probes 21.
func DefaultMultiProbeConfig() MultiProbeConfig { return MultiProbeConfig{Probes: 21} }

func (c MultiProbeConfig) validate() error {
	if c.Probes < 1 || c.Probes > MaxProbes {
		return fmt.Errorf("%w: MultiProbe Probes %d not in 1..%d", ring.ErrBadConfig, c.Probes, MaxProbes)
	}
	return nil
}

// MultiProbe is multi-probe consistent hashing (Appleton and O'Reilly,
// "Multi-probe consistent hashing", 2015): each member has one point on the
// circle per unit of weight (point i at ring.VNodePosition(name, i)), and a
// key is looked at k times, at the probes Probe(h, 0..k−1); it belongs to
// the member of the point that follows one of its probes most closely (the
// smallest clockwise distance; ties to the lower probe, then to the point
// whose member name sorts first). Balance close to a ring with many
// virtual nodes at one point per member; a lookup costs k searches. The
// probes are double hashing, h + i·step(h), as in the authors' Go code.
type MultiProbe struct {
	cfg     MultiProbeConfig
	members []ring.Member // sorted by name
	pos     []uint64      // points, ascending
	owner   []int32       // member index of each point
	sum     uint64
}

// NewMultiProbe returns a MultiProbe over members.
func NewMultiProbe(cfg MultiProbeConfig, members ...ring.Member) (*MultiProbe, error) {
	cfg.Probes = cmp.Or(cfg.Probes, DefaultMultiProbeConfig().Probes)
	if err := cfg.validate(); err != nil {
		return nil, err
	}
	ms, err := ring.MemberSet(members...)
	if err != nil {
		return nil, err
	}
	return newMultiProbe(cfg, ms)
}

func newMultiProbe(cfg MultiProbeConfig, ms []ring.Member) (*MultiProbe, error) {
	if w := totalWeight(ms); w > ring.MaxPoints {
		return nil, fmt.Errorf("%w: total weight %d, at most %d", ring.ErrTooLarge, w, ring.MaxPoints)
	}
	type pt struct {
		pos uint64
		m   int32
	}
	var pts []pt
	for i, m := range ms {
		for j := range m.Weight {
			pts = append(pts, pt{ring.VNodePosition(m.Name, uint32(j)), int32(i)})
		}
	}
	slices.SortFunc(pts, func(a, b pt) int {
		if c := cmp.Compare(a.pos, b.pos); c != 0 {
			return c
		}
		return cmp.Compare(a.m, b.m) // member index order is name order
	})
	p := &MultiProbe{cfg: cfg, members: ms, pos: make([]uint64, len(pts)), owner: make([]int32, len(pts))}
	for i, x := range pts {
		p.pos[i], p.owner[i] = x.pos, x.m
	}
	p.sum = ring.StrategyChecksum("multiprobe", ms, uint64(cfg.Probes))
	return p, nil
}

// Probe returns probe i of key hash h: h + i·ProbeStep(h).
func Probe(h uint64, i int) uint64 { return h + uint64(i)*ProbeStep(h) }

// ProbeStep returns the distance between consecutive probes of key hash h:
// an odd number derived from h.
func ProbeStep(h uint64) uint64 { return HRWRaw(h, 0x9e3779b97f4a7c15) | 1 }

// Name returns "multiprobe".
func (p *MultiProbe) Name() string { return "multiprobe" }

// Config returns the configuration.
func (p *MultiProbe) Config() MultiProbeConfig { return p.cfg }

// Nearest returns, for key hash h, the index of the owner (in Members
// order), the distance from the winning probe to its point and the probe's
// number; -1 when there are no members.
func (p *MultiProbe) Nearest(h uint64) (member int, dist uint64, probe int) {
	if len(p.pos) == 0 {
		return -1, 0, 0
	}
	member, dist = -1, 0
	step := ProbeStep(h)
	x := h
	for i := range p.cfg.Probes {
		j, _ := slices.BinarySearch(p.pos, x)
		if j == len(p.pos) {
			j = 0
		}
		if d := p.pos[j] - x; member < 0 || d < dist {
			member, dist, probe = int(p.owner[j]), d, i
		}
		x += step
	}
	return member, dist, probe
}

// Locate returns the owner of key, or "" when there are no members.
func (p *MultiProbe) Locate(key []byte) string { return p.LocateHash(ring.Hash(key)) }

// LocateString is Locate for a string key.
func (p *MultiProbe) LocateString(key string) string { return p.LocateHash(ring.HashString(key)) }

// LocateHash returns the owner of the key hash h.
func (p *MultiProbe) LocateHash(h uint64) string {
	if i, _, _ := p.Nearest(h); i >= 0 {
		return p.members[i].Name
	}
	return ""
}

// LocateN returns the owner, then the members of the points that follow
// the owner's point, each once: up to n distinct members.
func (p *MultiProbe) LocateN(key []byte, n int) []string { return p.AppendLocateN(nil, key, n) }

// AppendLocateN appends LocateN(key, n) to dst.
func (p *MultiProbe) AppendLocateN(dst []string, key []byte, n int) []string {
	if n < 1 || len(p.pos) == 0 {
		return dst
	}
	h := ring.Hash(key)
	_, d, probe := p.Nearest(h)
	j, _ := slices.BinarySearch(p.pos, Probe(h, probe)+d) // the owner's point
	n = min(n, len(p.members))
	start := len(dst)
	for steps := 0; steps < len(p.pos) && len(dst)-start < n; steps++ {
		if name := p.members[p.owner[(j+steps)%len(p.pos)]].Name; !slices.Contains(dst[start:], name) {
			dst = append(dst, name)
		}
	}
	return dst
}

// Members returns the members sorted by name.
func (p *MultiProbe) Members() []ring.Member { return slices.Clone(p.members) }

// Len returns the number of members.
func (p *MultiProbe) Len() int { return len(p.members) }

// Has reports whether the named member is present.
func (p *MultiProbe) Has(name string) bool { return hasMember(p.members, name) }

// Checksum digests "multiprobe", the probe count and the member set.
func (p *MultiProbe) Checksum() uint64 { return p.sum }

// With returns a MultiProbe with changes applied.
func (p *MultiProbe) With(changes ...ring.Change) (ring.Strategy, error) {
	ms, err := ring.ApplyChanges(p.members, changes...)
	if err != nil {
		return nil, err
	}
	return newMultiProbe(p.cfg, ms)
}
