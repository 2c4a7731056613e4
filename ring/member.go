package ring

import (
	"cmp"
	"fmt"
	"slices"
)

// Member is one owner on the ring: a name (unique in the ring) and an
// integer weight. A member of weight w owns w × Config.VNodes points and so,
// on average, w/W of the keys, where W is the sum of all weights.
type Member struct {
	Name   string
	Weight int
}

// Op says what a Change does.
type Op uint8

// Change operations. ONLY APPEND TO THIS LIST: values may be stored.
const (
	// OpAdd adds Change.Member (name and weight).
	OpAdd Op = iota + 1
	// OpRemove removes the member named Change.Member.Name.
	OpRemove
	// OpSetWeight sets the weight of the member named Change.Member.Name
	// to Change.Member.Weight.
	OpSetWeight
)

// String returns "add", "remove", "set-weight" or "op(N)".
func (o Op) String() string {
	switch o {
	case OpAdd:
		return "add"
	case OpRemove:
		return "remove"
	case OpSetWeight:
		return "set-weight"
	}
	return fmt.Sprintf("op(%d)", uint8(o))
}

// Change is one step of a batch given to Apply.
type Change struct {
	Op     Op
	Member Member
}

// AddChange returns the Change that adds m.
func AddChange(m Member) Change { return Change{Op: OpAdd, Member: m} }

// RemoveChange returns the Change that removes the member called name.
func RemoveChange(name string) Change { return Change{Op: OpRemove, Member: Member{Name: name}} }

// SetWeightChange returns the Change that sets the weight of member name.
func SetWeightChange(name string, weight int) Change {
	return Change{Op: OpSetWeight, Member: Member{Name: name, Weight: weight}}
}

func validName(name string) error {
	if name == "" || len(name) > MaxNameLen {
		return fmt.Errorf("%w: %q (length %d, want 1..%d)", ErrBadName, truncate(name), len(name), MaxNameLen)
	}
	return nil
}

func validWeight(name string, w int) error {
	if w < 1 || w > MaxWeight {
		return fmt.Errorf("%w: member %q weight %d not in 1..%d", ErrBadWeight, truncate(name), w, MaxWeight)
	}
	return nil
}

func validMember(m Member) error {
	if err := validName(m.Name); err != nil {
		return err
	}
	return validWeight(m.Name, m.Weight)
}

func truncate(s string) string {
	if len(s) > 64 {
		return s[:64] + "…"
	}
	return s
}

func byName(a, b Member) int { return cmp.Compare(a.Name, b.Name) }

// findMember returns the index of name in ms (sorted by name).
func findMember(ms []Member, name string) (int, bool) {
	return slices.BinarySearchFunc(ms, name, func(m Member, n string) int { return cmp.Compare(m.Name, n) })
}

// memberSet validates ms and returns a copy sorted by name.
func memberSet(ms []Member) ([]Member, error) {
	out := slices.Clone(ms)
	for _, m := range out {
		if err := validMember(m); err != nil {
			return nil, err
		}
	}
	slices.SortFunc(out, byName)
	for i := 1; i < len(out); i++ {
		if out[i].Name == out[i-1].Name {
			return nil, fmt.Errorf("%w: %q", ErrDuplicate, truncate(out[i].Name))
		}
	}
	return out, nil
}

// MemberSet validates members as New does (names, weights, no duplicates)
// and returns a copy sorted by name. It is for Strategy implementations
// outside this package, so that they accept and refuse the same input.
func MemberSet(members ...Member) ([]Member, error) { return memberSet(members) }

// ApplyChanges applies changes in order to members (sorted by name, as
// MemberSet and Strategy.Members return them), with the validation of
// Ring.Apply, and returns the result sorted by name; members is not
// modified. It is for Strategy implementations outside this package.
func ApplyChanges(members []Member, changes ...Change) ([]Member, error) {
	return applyChanges(members, changes)
}

// applyChanges applies changes in order to a copy of ms (sorted by name) and
// returns the result, sorted by name. It does not modify ms.
func applyChanges(ms []Member, changes []Change) ([]Member, error) {
	out := slices.Clone(ms)
	for _, c := range changes {
		var err error
		if out, err = applyChange(out, c); err != nil {
			return nil, err
		}
	}
	return out, nil
}

func applyChange(ms []Member, c Change) ([]Member, error) {
	if err := validName(c.Member.Name); err != nil {
		return nil, err
	}
	i, found := findMember(ms, c.Member.Name)
	switch c.Op {
	case OpAdd:
		if err := validWeight(c.Member.Name, c.Member.Weight); err != nil {
			return nil, err
		}
		if found {
			return nil, fmt.Errorf("%w: %q", ErrDuplicate, truncate(c.Member.Name))
		}
		return slices.Insert(ms, i, c.Member), nil
	case OpRemove, OpSetWeight:
		if !found {
			return nil, fmt.Errorf("%w: %q", ErrUnknownMember, truncate(c.Member.Name))
		}
		if c.Op == OpRemove {
			return slices.Delete(ms, i, i+1), nil
		}
		if err := validWeight(c.Member.Name, c.Member.Weight); err != nil {
			return nil, err
		}
		ms[i].Weight = c.Member.Weight
		return ms, nil
	}
	return nil, fmt.Errorf("%w: %v", ErrBadChange, c.Op)
}

func totalWeight(ms []Member) int {
	t := 0
	for _, m := range ms {
		t += m.Weight
	}
	return t
}
