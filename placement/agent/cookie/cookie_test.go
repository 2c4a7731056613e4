package cookie

import (
	"errors"
	"io/fs"
	"os"
	"path/filepath"
	"strings"
	"sync"
	"testing"

	"github.com/placerhq/placer/placement/membership"
)

// TestCookieCreatedOnce: the first start creates a private cookie file of
// enough random bytes; later starts read the same cookie.
func TestCookieCreatedOnce(t *testing.T) {
	path := filepath.Join(t.TempDir(), "cookie")
	c1, created, err := Ensure(path)
	if err != nil || !created {
		t.Fatalf("create: %v (created %v)", err, created)
	}
	st, err := os.Stat(path)
	if err != nil || st.Mode().Perm() != 0o600 {
		t.Fatalf("mode %v, %v", st.Mode(), err)
	}
	if len(c1) < 64 {
		t.Fatalf("cookie of %d bytes", len(c1))
	}
	c2, created, err := Ensure(path)
	if err != nil || created || string(c2) != string(c1) {
		t.Fatalf("second start: created=%v err=%v same=%v", created, err, string(c1) == string(c2))
	}
	other, _, _ := Ensure(filepath.Join(t.TempDir(), "cookie"))
	if string(other) == string(c1) {
		t.Fatal("two fresh cookies are equal")
	}
}

// TestCookieConcurrentCreation: agents starting at once agree on one
// cookie.
func TestCookieConcurrentCreation(t *testing.T) {
	path := filepath.Join(t.TempDir(), "cookie")
	var wg sync.WaitGroup
	got := make([]string, 8)
	for i := range got {
		wg.Add(1)
		go func() {
			defer wg.Done()
			c, _, err := Ensure(path)
			if err != nil {
				t.Error(err)
			}
			got[i] = string(c)
		}()
	}
	wg.Wait()
	for _, c := range got {
		if c != got[0] {
			t.Fatal("concurrent starts created different cookies")
		}
	}
	left, _ := filepath.Glob(filepath.Join(filepath.Dir(path), ".placer-cookie-*"))
	if len(left) != 0 {
		t.Fatalf("temporary files left: %v", left)
	}
}

// TestCookieRefused: a cookie file readable by others, too short, or not
// a regular file is refused with a message that says what to do; the
// CLI's Read never creates one.
func TestCookieRefused(t *testing.T) {
	dir := t.TempDir()
	write := func(name, content string, mode os.FileMode) string {
		p := filepath.Join(dir, name)
		if err := os.WriteFile(p, []byte(content), mode); err != nil {
			t.Fatal(err)
		}
		if err := os.Chmod(p, mode); err != nil {
			t.Fatal(err)
		}
		return p
	}
	long := strings.Repeat("x", 40)
	cases := []struct {
		path, want string
	}{
		{write("group", long, 0o640), "chmod 600"},
		{write("world", long, 0o604), "accessible by group or others"},
		{write("short", "  short cookie\n", 0o600), "at least 32"},
		{write("empty", "", 0o600), "holds 0 bytes"},
		{write("big", strings.Repeat("x", MaxFileSize+1), 0o600), "larger than"},
		{dir, "not a regular file"},
	}
	for _, c := range cases {
		_, _, err := Ensure(c.path)
		if err == nil || !errors.Is(err, ErrFile) || !strings.Contains(err.Error(), c.want) {
			t.Errorf("%s: %v, want %q", filepath.Base(c.path), err, c.want)
		}
	}
	if _, err := Read(cases[0].path); !errors.Is(err, ErrInsecure) {
		t.Errorf("group-readable: %v, want ErrInsecure", err)
	}
	if _, err := Read(cases[2].path); !errors.Is(err, ErrShort) {
		t.Errorf("short: %v, want ErrShort", err)
	}
	if _, err := Read(filepath.Join(dir, "missing")); !errors.Is(err, fs.ErrNotExist) {
		t.Fatalf("missing: %v", err)
	}
	if _, err := os.Stat(filepath.Join(dir, "missing")); !errors.Is(err, fs.ErrNotExist) {
		t.Fatal("Read created a file")
	}
	ok := write("ok", "\n"+long+"\n", 0o400)
	if c, err := Read(ok); err != nil || string(c) != long {
		t.Fatalf("trimmed read: %q %v", c, err)
	}
}

// TestMinLenIsMembership: the cookie rule is the gossip's own minimum.
func TestMinLenIsMembership(t *testing.T) {
	if MinLen != membership.MinCookieLen {
		t.Fatalf("MinLen %d, membership.MinCookieLen %d", MinLen, membership.MinCookieLen)
	}
}
