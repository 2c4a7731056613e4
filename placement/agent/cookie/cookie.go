// Package cookie reads and creates placer's cookie file, the cluster
// secret shared by every agent and CLI of a cluster, like
// ~/.erlang.cookie: an agent creates it on first start (RandomBytes random
// bytes, base64url, mode 0600, written atomically so that agents starting
// at once agree on one), and a file that group or others can access, or
// that holds fewer than MinLen bytes, is refused. The cookie is never
// logged or printed; errors name the file, never its content.
//
//	secret, created, err := cookie.Ensure(cookie.DefaultPath())
package cookie

import (
	"bytes"
	"crypto/rand"
	"encoding/base64"
	"errors"
	"fmt"
	"io"
	"io/fs"
	"os"
	"path/filepath"
)

const (
	// MinLen is the shortest cookie accepted, in bytes (after trimming
	// white space): membership.MinCookieLen.
	MinLen = 32
	// RandomBytes is the entropy of a generated cookie (its text is 64
	// characters).
	RandomBytes = 48
	// MaxFileSize bounds what is read from a cookie file, in bytes.
	MaxFileSize = 4096
)

// DefaultPath is ~/.placer.cookie ("" if there is no home directory).
func DefaultPath() string {
	home, err := os.UserHomeDir()
	if err != nil {
		return ""
	}
	return filepath.Join(home, ".placer.cookie")
}

// Ensure reads the cookie file at path, creating it with a fresh random
// cookie if it does not exist (created reports that). Errors wrap ErrFile.
func Ensure(path string) (cookie []byte, created bool, err error) {
	cookie, err = Read(path)
	if !errors.Is(err, fs.ErrNotExist) {
		return cookie, false, err
	}
	if err := createCookie(path); err != nil && !errors.Is(err, fs.ErrExist) {
		return nil, false, err
	} else if err == nil {
		created = true
	}
	cookie, err = Read(path) // another agent may have won the race
	return cookie, created, err
}

// createCookie writes a new random cookie to path atomically: a private
// temporary file, then a hard link (which fails if path appeared
// meanwhile, so two agents starting at once agree on one cookie).
func createCookie(path string) error {
	raw := make([]byte, RandomBytes)
	if _, err := rand.Read(raw); err != nil {
		return fmt.Errorf("%w: %w", ErrFile, err)
	}
	text := base64.RawURLEncoding.AppendEncode(nil, raw)
	tmp, err := os.CreateTemp(filepath.Dir(path), ".placer-cookie-*")
	if err != nil {
		return fmt.Errorf("%w: create %s: %w", ErrFile, path, err)
	}
	defer os.Remove(tmp.Name())
	if err := tmp.Chmod(0o600); err != nil {
		_ = tmp.Close()
		return fmt.Errorf("%w: %w", ErrFile, err)
	}
	_, werr := tmp.Write(append(text, '\n'))
	if err := errors.Join(werr, tmp.Sync(), tmp.Close()); err != nil {
		return fmt.Errorf("%w: write %s: %w", ErrFile, path, err)
	}
	if err := os.Link(tmp.Name(), path); err != nil {
		if errors.Is(err, fs.ErrExist) {
			return err
		}
		return fmt.Errorf("%w: create %s: %w", ErrFile, path, err)
	}
	return nil
}

// Read reads and checks the cookie file at path, never creating it: a
// regular file, not accessible by group or others (ErrInsecure), holding
// at least MinLen bytes once surrounding white space is trimmed
// (ErrShort). A missing file is reported as fs.ErrNotExist. Every error
// wraps ErrFile.
func Read(path string) ([]byte, error) {
	if path == "" {
		return nil, fmt.Errorf("%w: no path (no home directory; use --cookie-file)", ErrFile)
	}
	st, err := os.Stat(path)
	if err != nil {
		return nil, fmt.Errorf("%w: %w", ErrFile, err)
	}
	if !st.Mode().IsRegular() {
		return nil, fmt.Errorf("%w: %s is not a regular file", ErrFile, path)
	}
	if perm := st.Mode().Perm(); perm&0o077 != 0 {
		return nil, fmt.Errorf("%w: %w: %s is accessible by group or others (mode %04o); run: chmod 600 %s",
			ErrFile, ErrInsecure, path, perm, path)
	}
	f, err := os.Open(path)
	if err != nil {
		return nil, fmt.Errorf("%w: %w", ErrFile, err)
	}
	defer f.Close()
	buf, err := io.ReadAll(io.LimitReader(f, MaxFileSize+1))
	if err != nil {
		return nil, fmt.Errorf("%w: read %s: %w", ErrFile, path, err)
	}
	if len(buf) > MaxFileSize {
		return nil, fmt.Errorf("%w: %s is larger than %d bytes", ErrFile, path, MaxFileSize)
	}
	cookie := bytes.TrimSpace(buf)
	if len(cookie) < MinLen {
		return nil, fmt.Errorf("%w: %w: %s holds %d bytes; a cookie needs at least %d (delete the file to have an agent generate one)",
			ErrFile, ErrShort, path, len(cookie), MinLen)
	}
	return bytes.Clone(cookie), nil
}
