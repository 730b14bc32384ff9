package cli

import (
	"bytes"
	"testing"
	"time"

	"github.com/kubeharden/kubeharden/internal/cluster"
)

// Progress is shown at most every progressEvery, rewritten in place and
// cleared at the end; never when stderr is not a terminal.
func TestProgress(t *testing.T) {
	var buf bytes.Buffer
	if p := newProgress(&buf); p.on {
		t.Fatal("progress on for a buffer")
	}
	now := time.Unix(0, 0)
	p := &progress{w: &buf, on: true, now: func() time.Time { return now }}
	p.update(cluster.Progress{Kind: "Pod", Namespace: "shop", Objects: 1})
	p.update(cluster.Progress{Kind: "Pod", Namespace: "shop", Objects: 2})
	now = now.Add(progressEvery)
	p.update(cluster.Progress{Kind: "ClusterRole", Objects: 3})
	p.done()
	want := "\rkubeharden: 1 objects listed, Pod in shop\x1b[K\rkubeharden: 3 objects listed, ClusterRole\x1b[K\r\x1b[K"
	if got := buf.String(); got != want {
		t.Errorf("got %q, want %q", got, want)
	}
	buf.Reset()
	off := newProgress(&buf)
	off.update(cluster.Progress{Kind: "Pod", Objects: 1})
	off.done()
	if buf.Len() != 0 {
		t.Errorf("not a terminal, wrote %q", buf.String())
	}
}
