package bench

import (
	"fmt"
	"io"
	"os"
	"time"

	"github.com/schollz/progressbar/v3"
)

// Progress is the progress bar of a benchmark on stderr (placer bench):
// shown when stderr is a terminal, or when forced. Update is a
// RingOptions.Progress or ChurnOptions.Progress; Finish clears it.
type Progress struct {
	w    io.Writer
	on   bool
	bar  *progressbar.ProgressBar
	last string
}

// NewProgress returns the progress bar of a run writing to stderr.
func NewProgress(stderr io.Writer, force bool) *Progress {
	return &Progress{w: stderr, on: force || isTerminal(stderr)}
}

// Update shows done of total steps of what.
func (p *Progress) Update(done, total int, what string) {
	if !p.on {
		return
	}
	if p.bar == nil {
		p.bar = progressbar.NewOptions(total, progressbar.OptionSetWriter(p.w), progressbar.OptionClearOnFinish(),
			progressbar.OptionShowCount(), progressbar.OptionSetWidth(30), progressbar.OptionThrottle(100*time.Millisecond))
	}
	if what != p.last {
		p.bar.Describe(fmt.Sprintf("%-36s", what))
		p.last = what
	}
	_ = p.bar.Set(done)
}

// Finish ends the bar.
func (p *Progress) Finish() {
	if p.bar != nil {
		_ = p.bar.Finish()
	}
}

// isTerminal reports whether w is a character device (a terminal).
func isTerminal(w io.Writer) bool {
	f, ok := w.(*os.File)
	if !ok {
		return false
	}
	st, err := f.Stat()
	return err == nil && st.Mode()&os.ModeCharDevice != 0
}
