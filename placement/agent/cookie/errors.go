package cookie

import "errors"

var (
	// ErrFile marks every cookie file problem: a missing or unreadable
	// file, a bad mode, a short cookie.
	ErrFile = errors.New("cookie file")
	// ErrInsecure: the file is accessible by group or others (its mode
	// must be 0600 or stricter). Also wraps ErrFile.
	ErrInsecure = errors.New("accessible by others")
	// ErrShort: the file holds fewer than MinLen bytes. Also wraps ErrFile.
	ErrShort = errors.New("cookie too short")
)
