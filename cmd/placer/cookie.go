package main

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

	"github.com/placerhq/placer/placement/membership"
)

// The cookie file holds the cluster secret, like ~/.erlang.cookie: an agent
// creates it on first start (cookieRandomBytes random bytes, base64url, mode
// 0600) and every agent and CLI of the cluster reads the same one. The
// cookie is never logged or printed.

// cookieRandomBytes is the entropy of a generated cookie (its text is 64
// characters).
const cookieRandomBytes = 48

// maxCookieFile bounds what is read from a cookie file.
const maxCookieFile = 4096

// errCookie marks every cookie file problem.
var errCookie = errors.New("cookie file")

// defaultCookiePath is ~/.placer.cookie ("" if there is no home directory).
func defaultCookiePath() string {
	home, err := os.UserHomeDir()
	if err != nil {
		return ""
	}
	return filepath.Join(home, ".placer.cookie")
}

// ensureCookie reads the cookie file at path, creating it with a fresh
// random cookie if it does not exist (created reports that).
func ensureCookie(path string) (cookie []byte, created bool, err error) {
	cookie, err = readCookie(path)
	if !errors.Is(err, fs.ErrNotExist) {
		return cookie, false, err
	}
	if err := createCookie(path); err != nil && !errors.Is(err, fs.ErrExist) {
		return nil, false, err
	} else if err == nil {
		created = true
	}
	cookie, err = readCookie(path) // another agent may have won the race
	return cookie, created, err
}

// createCookie writes a new random cookie to path atomically: a private
// temporary file, then a hard link (which fails if path appeared
// meanwhile, so two agents starting at once agree on one cookie).
func createCookie(path string) error {
	raw := make([]byte, cookieRandomBytes)
	if _, err := rand.Read(raw); err != nil {
		return fmt.Errorf("%w: %w", errCookie, err)
	}
	text := base64.RawURLEncoding.AppendEncode(nil, raw)
	tmp, err := os.CreateTemp(filepath.Dir(path), ".placer-cookie-*")
	if err != nil {
		return fmt.Errorf("%w: create %s: %w", errCookie, path, err)
	}
	defer os.Remove(tmp.Name())
	if err := tmp.Chmod(0o600); err != nil {
		_ = tmp.Close()
		return fmt.Errorf("%w: %w", errCookie, err)
	}
	_, werr := tmp.Write(append(text, '\n'))
	if err := errors.Join(werr, tmp.Sync(), tmp.Close()); err != nil {
		return fmt.Errorf("%w: write %s: %w", errCookie, path, err)
	}
	if err := os.Link(tmp.Name(), path); err != nil {
		if errors.Is(err, fs.ErrExist) {
			return err
		}
		return fmt.Errorf("%w: create %s: %w", errCookie, path, err)
	}
	return nil
}

// readCookie reads and checks the cookie file at path: a regular file,
// not accessible by group or others, holding at least
// membership.MinCookieLen bytes once surrounding white space is trimmed.
// A missing file is reported as fs.ErrNotExist (wrapped).
func readCookie(path string) ([]byte, error) {
	if path == "" {
		return nil, fmt.Errorf("%w: no path (no home directory; use --cookie-file)", errCookie)
	}
	st, err := os.Stat(path)
	if err != nil {
		return nil, fmt.Errorf("%w: %w", errCookie, err)
	}
	if !st.Mode().IsRegular() {
		return nil, fmt.Errorf("%w: %s is not a regular file", errCookie, path)
	}
	if perm := st.Mode().Perm(); perm&0o077 != 0 {
		return nil, fmt.Errorf("%w: %s is accessible by group or others (mode %04o); run: chmod 600 %s",
			errCookie, path, perm, path)
	}
	f, err := os.Open(path)
	if err != nil {
		return nil, fmt.Errorf("%w: %w", errCookie, err)
	}
	defer f.Close()
	buf, err := io.ReadAll(io.LimitReader(f, maxCookieFile+1))
	if err != nil {
		return nil, fmt.Errorf("%w: read %s: %w", errCookie, path, err)
	}
	if len(buf) > maxCookieFile {
		return nil, fmt.Errorf("%w: %s is larger than %d bytes", errCookie, path, maxCookieFile)
	}
	cookie := bytes.TrimSpace(buf)
	if len(cookie) < membership.MinCookieLen {
		return nil, fmt.Errorf("%w: %s holds %d bytes; a cookie needs at least %d (delete the file to have an agent generate one)",
			errCookie, path, len(cookie), membership.MinCookieLen)
	}
	return bytes.Clone(cookie), nil
}
