package cli

import (
	"fmt"
	"io"
	"os"
	"time"

	"github.com/kubeharden/kubeharden/internal/cluster"
)

// progress shows on stderr how far a long listing is, on one line
// rewritten in place, at most every progressEvery; it says nothing when
// stderr is not a terminal, so that logs and CI output stay clean.
type progress struct {
	w     io.Writer
	on    bool
	last  time.Time
	shown bool
	now   func() time.Time
}

const progressEvery = 100 * time.Millisecond

func newProgress(w io.Writer) *progress {
	return &progress{w: w, on: isTerminal(w), now: time.Now}
}

func isTerminal(w io.Writer) bool {
	f, ok := w.(*os.File)
	if !ok {
		return false
	}
	st, err := f.Stat()
	return err == nil && st.Mode()&os.ModeCharDevice != 0
}

func (p *progress) update(pr cluster.Progress) {
	if !p.on {
		return
	}
	if t := p.now(); t.Sub(p.last) >= progressEvery {
		p.last = t
		what := pr.Kind
		if pr.Namespace != "" {
			what += " in " + pr.Namespace
		}
		// \x1b[K clears what a longer line before left.
		fmt.Fprintf(p.w, "\rkubeharden: %d objects listed, %s\x1b[K", pr.Objects, what)
		p.shown = true
	}
}

// done clears the progress line.
func (p *progress) done() {
	if p.shown {
		fmt.Fprint(p.w, "\r\x1b[K")
		p.shown = false
	}
}
