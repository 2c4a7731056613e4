package history

import (
	"bufio"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"os"
	"sync"
)

// ErrCorrupt: a history line is not a record.
var ErrCorrupt = errors.New("history: corrupt record")

// Writer appends records to w, one JSON line each. It is safe for
// concurrent use; records reach w on Flush and Close.
type Writer struct {
	mu  sync.Mutex // guards bw, enc, err
	bw  *bufio.Writer
	enc *json.Encoder
	c   io.Closer // nil if w is not to be closed
	err error     // the first write error
}

// NewWriter returns a Writer on w; Close closes w if it is an io.Closer.
func NewWriter(w io.Writer) *Writer {
	bw := bufio.NewWriterSize(w, 64<<10)
	c, _ := w.(io.Closer)
	return &Writer{bw: bw, enc: json.NewEncoder(bw), c: c}
}

// Create creates (or truncates) the file path and returns a Writer on it.
func Create(path string) (*Writer, error) {
	f, err := os.Create(path)
	if err != nil {
		return nil, fmt.Errorf("history: %w", err)
	}
	return NewWriter(f), nil
}

// Add appends one record.
func (w *Writer) Add(rec any) {
	w.mu.Lock()
	defer w.mu.Unlock()
	if w.err == nil {
		w.err = w.enc.Encode(rec)
	}
}

// Flush writes the buffered records out and returns the first error.
func (w *Writer) Flush() error {
	w.mu.Lock()
	defer w.mu.Unlock()
	if w.err == nil {
		w.err = w.bw.Flush()
	}
	return w.err
}

// Close flushes and closes the underlying writer.
func (w *Writer) Close() error {
	err := w.Flush()
	if w.c != nil {
		err = errors.Join(err, w.c.Close())
	}
	return err
}

// Read decodes every record of r. A torn last line (a writer killed
// mid-record) is ignored; a bad line before it is ErrCorrupt.
func Read[T any](r io.Reader) ([]T, error) {
	var out []T
	sc := bufio.NewScanner(r)
	sc.Buffer(make([]byte, 64<<10), 16<<20)
	var bad error
	for line := 1; sc.Scan(); line++ {
		if bad != nil {
			return nil, bad
		}
		var rec T
		if err := json.Unmarshal(sc.Bytes(), &rec); err != nil {
			bad = fmt.Errorf("%w: line %d: %v", ErrCorrupt, line, err)
			continue
		}
		out = append(out, rec)
	}
	return out, sc.Err()
}

// ReadFile is Read of the file path.
func ReadFile[T any](path string) ([]T, error) {
	f, err := os.Open(path)
	if err != nil {
		return nil, fmt.Errorf("history: %w", err)
	}
	defer f.Close()
	recs, err := Read[T](f)
	if err != nil {
		return nil, fmt.Errorf("%s: %w", path, err)
	}
	return recs, nil
}
