package main

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

// The names directory plays epmd's role on one host: every agent writes a
// small record there (its name, addresses and pid) while it runs, so that
// `placer names` can list the local agents and the CLI can find an agent
// by name. A record whose process is gone is stale: it is ignored and
// removed when the directory is read.

// envNamesDir overrides the default names directory.
const envNamesDir = "PLACER_NAMES_DIR"

// errNames marks every names-directory problem.
var errNames = errors.New("names directory")

// nameRecord is one agent's entry in the names directory.
type nameRecord struct {
	Name      string    `json:"name"`
	PID       int       `json:"pid"`
	Transport string    `json:"transport"`        // placer transport host:port
	Gossip    string    `json:"gossip,omitempty"` // Serf host:port ("" for a hidden agent)
	HTTP      string    `json:"http,omitempty"`   // admin HTTP host:port ("" if off)
	Hidden    bool      `json:"hidden,omitempty"` // a hidden observer, not a cluster member
	Started   time.Time `json:"started"`
}

// namesDir picks the names directory: the flag, else $PLACER_NAMES_DIR,
// else $XDG_RUNTIME_DIR/placer, else <tmp>/placer-<uid>.
func namesDir(flagValue string) string {
	if flagValue != "" {
		return flagValue
	}
	if d := os.Getenv(envNamesDir); d != "" {
		return d
	}
	if d := os.Getenv("XDG_RUNTIME_DIR"); d != "" {
		return filepath.Join(d, "placer")
	}
	return filepath.Join(os.TempDir(), fmt.Sprintf("placer-%d", os.Getuid()))
}

// ensureNamesDir creates dir (mode 0700) if needed and checks that it is
// a directory of ours that nobody else can write to.
func ensureNamesDir(dir string) error {
	if err := os.MkdirAll(dir, 0o700); err != nil {
		return fmt.Errorf("%w: %w", errNames, err)
	}
	st, err := os.Lstat(dir)
	if err != nil {
		return fmt.Errorf("%w: %w", errNames, err)
	}
	if !st.IsDir() {
		return fmt.Errorf("%w: %s is not a directory", errNames, dir)
	}
	if st.Mode().Perm()&0o022 != 0 {
		return fmt.Errorf("%w: %s is writable by group or others (mode %04o)", errNames, dir, st.Mode().Perm())
	}
	return checkOwner(dir, st)
}

// recordPath is the file of name's record in dir.
func recordPath(dir, name string) string {
	return filepath.Join(dir, url.PathEscape(name)+".json")
}

// writeRecord registers rec in dir, refusing a name that a live agent
// holds.
func writeRecord(dir string, rec nameRecord) error {
	if err := ensureNamesDir(dir); err != nil {
		return err
	}
	if old, ok := lookupRecord(dir, rec.Name); ok && old.PID != rec.PID {
		return fmt.Errorf("%w: node name %s is in use by pid %d (%s)", errNames, rec.Name, old.PID, dir)
	}
	b, err := json.MarshalIndent(rec, "", "  ")
	if err != nil {
		return fmt.Errorf("%w: %w", errNames, err)
	}
	tmp, err := os.CreateTemp(dir, ".record-*")
	if err != nil {
		return fmt.Errorf("%w: %w", errNames, err)
	}
	defer os.Remove(tmp.Name())
	_, werr := tmp.Write(append(b, '\n'))
	if err := errors.Join(werr, tmp.Close()); err != nil {
		return fmt.Errorf("%w: %w", errNames, err)
	}
	if err := os.Rename(tmp.Name(), recordPath(dir, rec.Name)); err != nil {
		return fmt.Errorf("%w: %w", errNames, err)
	}
	return nil
}

// removeRecord removes name's record if it is still the one of pid.
func removeRecord(dir, name string, pid int) {
	if rec, err := readRecord(recordPath(dir, name)); err == nil && rec.PID == pid {
		_ = os.Remove(recordPath(dir, name))
	}
}

// readRecord reads one record file.
func readRecord(path string) (nameRecord, error) {
	var rec nameRecord
	b, err := os.ReadFile(path)
	if err != nil {
		return rec, err
	}
	if err := json.Unmarshal(b, &rec); err != nil {
		return rec, fmt.Errorf("%w: %s: %w", errNames, path, err)
	}
	if rec.Name == "" || rec.PID <= 0 {
		return rec, fmt.Errorf("%w: %s: incomplete record", errNames, path)
	}
	return rec, nil
}

// listRecords returns the live records in dir sorted by name, removing
// stale ones (dead pid) and unreadable ones. A missing dir is empty.
func listRecords(dir string) ([]nameRecord, error) {
	entries, err := os.ReadDir(dir)
	if errors.Is(err, fs.ErrNotExist) {
		return nil, nil
	}
	if err != nil {
		return nil, fmt.Errorf("%w: %w", errNames, err)
	}
	var out []nameRecord
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

// lookupRecord finds the live record of name in dir.
func lookupRecord(dir, name string) (nameRecord, bool) {
	rec, err := readRecord(recordPath(dir, name))
	if err != nil || rec.Name != name {
		return nameRecord{}, false
	}
	if !pidAlive(rec.PID) {
		_ = os.Remove(recordPath(dir, name))
		return nameRecord{}, false
	}
	return rec, true
}
