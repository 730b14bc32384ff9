//go:build unix

package fix

import (
	"bytes"
	"context"
	"errors"
	"fmt"
	"io/fs"
	"math/rand/v2"
	"os"
	"path/filepath"
	"syscall"
	"testing"
)

// special are the mode bits beyond the permissions that Write keeps.
const special = fs.ModeSetuid | fs.ModeSetgid | fs.ModeSticky

// TestWriteMetadata is a property test over file metadata: for random
// modes (special bits included), owners and groups (not root's), chains of
// symbolic links and hard link counts, Write changes the content of the
// file every name reaches, and nothing else: the links stay links to the
// same file, the hard links share the new content, owner, group and the
// full mode are kept, and no temporary or backup file is left.
func TestWriteMetadata(t *testing.T) {
	rng := rand.New(rand.NewPCG(10, 18))
	root := os.Geteuid() == 0
	for i := range 200 {
		dir := t.TempDir()
		real := filepath.Join(dir, "real.yaml")
		if err := os.WriteFile(real, []byte("old\n"), 0o600); err != nil {
			t.Fatal(err)
		}
		// The owner may always write: a file without that is read-only,
		// refused without Force (TestWriteReadOnly).
		mode := fs.FileMode(0o200|rng.IntN(0o1000)) & fs.ModePerm
		if rng.IntN(2) == 0 {
			mode |= fs.ModeSetuid
		}
		if rng.IntN(2) == 0 {
			mode |= fs.ModeSetgid
		}
		if rng.IntN(4) == 0 {
			mode |= fs.ModeSticky
		}
		if root {
			if err := os.Chown(real, 1000+rng.IntN(60000), 1000+rng.IntN(60000)); err != nil {
				t.Fatal(err)
			}
		}
		if err := os.Chmod(real, mode); err != nil {
			t.Fatal(err)
		}
		hard := rng.IntN(3)
		for h := range hard {
			if err := os.Link(real, filepath.Join(dir, fmt.Sprintf("hard%d.yaml", h))); err != nil {
				t.Fatal(err)
			}
		}
		// A chain of symbolic links, relative and absolute.
		name := real
		chain := rng.IntN(4)
		var links []string
		for l := range chain {
			link := filepath.Join(dir, fmt.Sprintf("link%d.yaml", l))
			target := filepath.Base(name)
			if l%2 == 1 {
				target = name
			}
			if err := os.Symlink(target, link); err != nil {
				t.Fatal(err)
			}
			links = append(links, link)
			name = link
		}
		before := stat(t, real)
		data := fmt.Appendf(nil, "new %d\n", i)
		if err := Write(context.Background(), name, data, WriteOptions{}); err != nil {
			t.Fatalf("case %d (mode %v, %d hard links, %d symlinks): %v", i, mode, hard, chain, err)
		}
		after := stat(t, real)
		if got, _ := os.ReadFile(real); !bytes.Equal(got, data) {
			t.Fatalf("case %d: content %q", i, got)
		}
		if after.mode != before.mode || after.uid != before.uid || after.gid != before.gid {
			t.Errorf("case %d: mode %v uid %d gid %d, was mode %v uid %d gid %d", i, after.mode, after.uid, after.gid, before.mode, before.uid, before.gid)
		}
		if after.nlink != before.nlink || (hard > 0 && after.ino != before.ino) {
			t.Errorf("case %d: %d links (inode %d), was %d (inode %d)", i, after.nlink, after.ino, before.nlink, before.ino)
		}
		for h := range hard {
			if got, _ := os.ReadFile(filepath.Join(dir, fmt.Sprintf("hard%d.yaml", h))); !bytes.Equal(got, data) {
				t.Errorf("case %d: hard link %d reads %q", i, h, got)
			}
		}
		for _, l := range links {
			if fi, err := os.Lstat(l); err != nil || fi.Mode()&fs.ModeSymlink == 0 {
				t.Errorf("case %d: %s is no longer a symbolic link", i, l)
			}
		}
		entries, _ := os.ReadDir(dir)
		if want := 1 + hard + chain; len(entries) != want {
			t.Errorf("case %d: %d entries, want %d (temporary file left?)", i, len(entries), want)
		}
	}
}

// TestWriteReadOnly: a file without its owner's write bit is refused
// without Force, and written with it, its mode kept.
func TestWriteReadOnly(t *testing.T) {
	for _, mode := range []fs.FileMode{0o444, 0o400, 0o555 | fs.ModeSetgid, 0o044} {
		p := filepath.Join(t.TempDir(), "a.yaml")
		if err := os.WriteFile(p, []byte("old"), 0o600); err != nil {
			t.Fatal(err)
		}
		if err := os.Chmod(p, mode); err != nil {
			t.Fatal(err)
		}
		if err := Write(context.Background(), p, []byte("new"), WriteOptions{}); !errors.Is(err, ErrReadOnly) {
			t.Errorf("mode %v: %v, want ErrReadOnly", mode, err)
		}
		if b, _ := os.ReadFile(p); string(b) != "old" {
			t.Errorf("mode %v: written without --force", mode)
		}
		if err := Write(context.Background(), p, []byte("new"), WriteOptions{Force: true}); err != nil {
			t.Fatalf("mode %v, forced: %v", mode, err)
		}
		if b, _ := os.ReadFile(p); string(b) != "new" || stat(t, p).mode != mode {
			t.Errorf("mode %v, forced: %q, mode %v", mode, b, stat(t, p).mode)
		}
	}
}

// TestWriteCancelled: a cancelled context writes nothing, whether the
// file is replaced or written in place.
func TestWriteCancelled(t *testing.T) {
	ctx, cancel := context.WithCancel(context.Background())
	cancel()
	dir := t.TempDir()
	p := filepath.Join(dir, "a.yaml")
	if err := os.WriteFile(p, []byte("old"), 0o644); err != nil {
		t.Fatal(err)
	}
	if err := Write(ctx, p, []byte("new"), WriteOptions{}); !errors.Is(err, context.Canceled) {
		t.Errorf("got %v", err)
	}
	if err := os.Link(p, filepath.Join(dir, "b.yaml")); err != nil {
		t.Fatal(err)
	}
	if err := Write(ctx, p, []byte("new"), WriteOptions{}); !errors.Is(err, context.Canceled) {
		t.Errorf("hard linked: got %v", err)
	}
	if b, _ := os.ReadFile(p); string(b) != "old" {
		t.Errorf("written after cancel: %q", b)
	}
	if entries, _ := os.ReadDir(dir); len(entries) != 2 {
		t.Errorf("left behind: %v", entries)
	}
}

// TestWriteNotRegular: a FIFO, a directory and a dangling link are never
// written (nor opened: a FIFO would block).
func TestWriteNotRegular(t *testing.T) {
	dir := t.TempDir()
	fifo := filepath.Join(dir, "fifo.yaml")
	if err := syscall.Mkfifo(fifo, 0o644); err != nil {
		t.Skip(err)
	}
	if err := Write(context.Background(), fifo, []byte("x"), WriteOptions{}); !errors.Is(err, ErrNotRegular) {
		t.Errorf("FIFO: %v", err)
	}
	if _, err := ReadFile(fifo, 10); !errors.Is(err, ErrNotRegular) {
		t.Errorf("reading a FIFO: %v", err)
	}
	if err := Write(context.Background(), dir, []byte("x"), WriteOptions{}); !errors.Is(err, ErrNotRegular) {
		t.Errorf("directory: %v", err)
	}
	dangling := filepath.Join(dir, "dangling.yaml")
	if err := os.Symlink("missing.yaml", dangling); err != nil {
		t.Fatal(err)
	}
	if err := Write(context.Background(), dangling, []byte("x"), WriteOptions{}); err == nil {
		t.Error("a dangling link was written")
	}
	if _, err := os.Lstat(filepath.Join(dir, "missing.yaml")); err == nil {
		t.Error("a dangling link's target was created")
	}
}

type meta struct {
	mode     fs.FileMode
	uid, gid uint32
	nlink    uint64
	ino      uint64
}

func stat(t *testing.T, p string) meta {
	t.Helper()
	fi, err := os.Stat(p)
	if err != nil {
		t.Fatal(err)
	}
	st := fi.Sys().(*syscall.Stat_t)
	m := meta{mode: fi.Mode() & (fs.ModePerm | special), uid: st.Uid, gid: st.Gid, ino: st.Ino}
	m.nlink = uint64(st.Nlink) //nolint:unconvert // uint32 on some platforms
	return m
}
