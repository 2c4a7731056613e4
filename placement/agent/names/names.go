// Package names is the names directory, playing epmd's role on one host:
// every agent writes a small Record there (its name, addresses and pid)
// while it runs, so that `placer names` can list the local agents, the
// CLI can find an agent by name, and a transport can resolve a node that
// the gossip has not announced (Resolver). A record whose process is gone
// is stale: it is ignored and removed when the directory is read. The
// directory is private (mode 0700, owned by the user); one refused
// otherwise.
//
//	dir := names.Dir("")                  // $PLACER_NAMES_DIR, $XDG_RUNTIME_DIR/placer or /tmp/placer-$UID
//	err := names.Write(dir, names.Record{Name: "n1@host", PID: os.Getpid(), Transport: addr})
//	defer names.Remove(dir, "n1@host", os.Getpid())
package names

import (
	"encoding/json"
	"errors"
	"fmt"
	"io/fs"
	"net/url"
	"os"
	"path/filepath"
	"sort"
	"strings"
	"time"
)

// EnvDir is the environment variable that overrides the default names
// directory.
const EnvDir = "PLACER_NAMES_DIR"

// Record is one agent's entry in the names directory (a JSON file).
type Record struct {
	Name      string    `json:"name"`
	PID       int       `json:"pid"`
	Transport string    `json:"transport"`        // placer transport host:port
	Gossip    string    `json:"gossip,omitempty"` // Serf host:port ("" for a hidden agent)
	HTTP      string    `json:"http,omitempty"`   // admin HTTP host:port ("" if off)
	Hidden    bool      `json:"hidden,omitempty"` // a hidden observer, not a cluster member
	Started   time.Time `json:"started"`
}

// Dir picks the names directory: dir if set, else $PLACER_NAMES_DIR, else
// $XDG_RUNTIME_DIR/placer, else <tmp>/placer-<uid>.
func Dir(dir string) string {
	if dir != "" {
		return dir
	}
	if d := os.Getenv(EnvDir); d != "" {
		return d
	}
	if d := os.Getenv("XDG_RUNTIME_DIR"); d != "" {
		return filepath.Join(d, "placer")
	}
	return filepath.Join(os.TempDir(), fmt.Sprintf("placer-%d", os.Getuid()))
}

// EnsureDir creates dir (mode 0700) if needed and checks that it is a
// directory of ours that nobody else can write to.
func EnsureDir(dir string) error {
	if err := os.MkdirAll(dir, 0o700); err != nil {
		return fmt.Errorf("%w: %w", ErrDir, err)
	}
	st, err := os.Lstat(dir)
	if err != nil {
		return fmt.Errorf("%w: %w", ErrDir, err)
	}
	if !st.IsDir() {
		return fmt.Errorf("%w: %s is not a directory", ErrDir, dir)
	}
	if st.Mode().Perm()&0o022 != 0 {
		return fmt.Errorf("%w: %s is writable by group or others (mode %04o)", ErrDir, dir, st.Mode().Perm())
	}
	return checkOwner(dir, st)
}

// recordPath is the file of name's record in dir.
func recordPath(dir, name string) string {
	return filepath.Join(dir, url.PathEscape(name)+".json")
}

// Write registers rec in dir (created if needed), refusing a name that
// another live process holds (ErrInUse).
func Write(dir string, rec Record) error {
	if err := EnsureDir(dir); err != nil {
		return err
	}
	if err := CheckFree(dir, rec.Name, rec.PID); err != nil {
		return err
	}
	b, err := json.MarshalIndent(rec, "", "  ")
	if err != nil {
		return fmt.Errorf("%w: %w", ErrDir, err)
	}
	tmp, err := os.CreateTemp(dir, ".record-*")
	if err != nil {
		return fmt.Errorf("%w: %w", ErrDir, err)
	}
	defer os.Remove(tmp.Name())
	_, werr := tmp.Write(append(b, '\n'))
	if err := errors.Join(werr, tmp.Close()); err != nil {
		return fmt.Errorf("%w: %w", ErrDir, err)
	}
	if err := os.Rename(tmp.Name(), recordPath(dir, rec.Name)); err != nil {
		return fmt.Errorf("%w: %w", ErrDir, err)
	}
	return nil
}

// CheckFree fails with ErrInUse if a live process other than pid holds
// name in dir.
func CheckFree(dir, name string, pid int) error {
	if old, ok := Lookup(dir, name); ok && old.PID != pid {
		return fmt.Errorf("%w: %w: node name %s is in use by pid %d (%s; see `placer names`)", ErrDir, ErrInUse, name, old.PID, dir)
	}
	return nil
}

// Remove removes name's record if it is still the one of pid.
func Remove(dir, name string, pid int) {
	if rec, err := readRecord(recordPath(dir, name)); err == nil && rec.PID == pid {
		_ = os.Remove(recordPath(dir, name))
	}
}

// readRecord reads one record file.
func readRecord(path string) (Record, error) {
	var rec Record
	b, err := os.ReadFile(path)
	if err != nil {
		return rec, err
	}
	if err := json.Unmarshal(b, &rec); err != nil {
		return rec, fmt.Errorf("%w: %s: %w", ErrDir, path, err)
	}
	if rec.Name == "" || rec.PID <= 0 {
		return rec, fmt.Errorf("%w: %s: incomplete record", ErrDir, path)
	}
	return rec, nil
}

// List returns the live records in dir sorted by name, removing stale
// ones (dead pid) and unreadable ones. A missing dir is empty.
func List(dir string) ([]Record, error) {
	entries, err := os.ReadDir(dir)
	if errors.Is(err, fs.ErrNotExist) {
		return nil, nil
	}
	if err != nil {
		return nil, fmt.Errorf("%w: %w", ErrDir, err)
	}
	var out []Record
	for _, e := range entries {
		if e.IsDir() || !strings.HasSuffix(e.Name(), ".json") || strings.HasPrefix(e.Name(), ".") {
			continue
		}
		path := filepath.Join(dir, e.Name())
		rec, err := readRecord(path)
		if errors.Is(err, fs.ErrNotExist) {
			continue // removed meanwhile
		}
		if err != nil || !pidAlive(rec.PID) {
			_ = os.Remove(path)
			continue
		}
		out = append(out, rec)
	}
	sort.Slice(out, func(i, j int) bool { return out[i].Name < out[j].Name })
	return out, nil
}

// Lookup finds the live record of name in dir.
func Lookup(dir, name string) (Record, bool) {
	rec, err := readRecord(recordPath(dir, name))
	if err != nil || rec.Name != name {
		return Record{}, false
	}
	if !pidAlive(rec.PID) {
		_ = os.Remove(recordPath(dir, name))
		return Record{}, false
	}
	return rec, true
}

// Resolver returns a transport resolver (transport.Config.Resolve,
// placement.Config.Resolve) that finds a node's transport address in
// dir: "" (unknown) for a node without a live record.
func Resolver(dir string) func(node string) (string, error) {
	return func(node string) (string, error) {
		if rec, ok := Lookup(dir, node); ok {
			return rec.Transport, nil
		}
		return "", nil
	}
}
