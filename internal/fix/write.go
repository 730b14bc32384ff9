package fix

import (
	"bytes"
	"context"
	"errors"
	"fmt"
	"io"
	"io/fs"
	"os"
	"path/filepath"
)

// ErrReadOnly is the error of writing a file nobody may write (no write
// bit), or that the running user may not write, without Force: its owner
// made it read-only on purpose.
var ErrReadOnly = errors.New("the file is read-only (fix it anyway with --force)")

// ErrNotRegular is the error of writing over something other than a
// regular file (a directory, a FIFO, a device).
var ErrNotRegular = errors.New("not a regular file")

// WriteOptions change how Write replaces a file.
type WriteOptions struct {
	// Force writes a read-only file all the same, keeping its mode.
	Force bool
}

// WriteFile is Write with no options and no context.
func WriteFile(path string, data []byte) error {
	return Write(context.Background(), path, data, WriteOptions{})
}

// Write replaces the content of the file at path with data, keeping
// everything else about it:
//
//   - a symbolic link (or a chain of them) is followed, and the file it
//     names is written; the links stay links;
//   - a file with one link is replaced atomically: a temporary file in the
//     same directory is written, synced, given the file's owner, group and
//     full mode (setuid, setgid and sticky bits included) and renamed over
//     it, so a reader (or a crash) sees the old file or the new one;
//   - a file with several hard links is written in place, so that every
//     link sees the new content: a backup copy is written and synced first
//     (left beside the file, named .NAME.kubeharden-backup-*, should the
//     write be interrupted), the content is written, synced and read back,
//     and the backup removed;
//   - a read-only file is refused with ErrReadOnly unless opts.Force, and
//     a file whose owner or group the running user cannot give the new
//     file is refused rather than taken over.
//
// A missing file is created with mode 0644. ctx is checked last before
// anything visible changes: a cancelled context writes nothing.
func Write(ctx context.Context, path string, data []byte, opts WriteOptions) error {
	target, err := filepath.EvalSymlinks(path)
	switch {
	case errors.Is(err, fs.ErrNotExist):
		if _, lerr := os.Lstat(path); lerr == nil {
			// A dangling link: where it points is not kubeharden's to create.
			return fmt.Errorf("%s is a symbolic link to a missing file", path)
		}
		return replace(ctx, path, data, nil)
	case err != nil:
		return err
	}
	info, err := os.Stat(target)
	if err != nil {
		return err
	}
	if !info.Mode().IsRegular() {
		return fmt.Errorf("%s: %w", target, ErrNotRegular)
	}
	if !opts.Force && !writable(target, info) {
		return ErrReadOnly
	}
	if links(info) > 1 {
		return inPlace(ctx, target, data, info)
	}
	return replace(ctx, target, data, info)
}

// replace writes data to a temporary file beside path and renames it over
// path, with the owner and mode of info (nil: a new file).
func replace(ctx context.Context, path string, data []byte, info fs.FileInfo) (err error) {
	tmp, err := os.CreateTemp(filepath.Dir(path), "."+filepath.Base(path)+".kubeharden-*")
	if err != nil {
		return err
	}
	defer func() {
		if err != nil {
			_ = tmp.Close()
			_ = os.Remove(tmp.Name())
		}
	}()
	if _, err = tmp.Write(data); err != nil {
		return err
	}
	mode := fs.FileMode(0o644)
	if info != nil {
		// Owner first: chown clears the setuid and setgid bits.
		if err = keepOwner(tmp, info); err != nil {
			return err
		}
		mode = info.Mode() & (fs.ModePerm | fs.ModeSetuid | fs.ModeSetgid | fs.ModeSticky)
	}
	if err = tmp.Chmod(mode); err != nil {
		return err
	}
	if err = tmp.Sync(); err != nil {
		return err
	}
	if err = tmp.Close(); err != nil {
		return err
	}
	if err = ctx.Err(); err != nil {
		return err
	}
	if err = os.Rename(tmp.Name(), path); err != nil {
		return err
	}
	syncDir(filepath.Dir(path))
	return nil
}

// inPlace overwrites the file at path, which has several hard links, with
// data, after a synced backup; it restores the backup when the write
// fails, and keeps it when even that fails.
func inPlace(ctx context.Context, path string, data []byte, info fs.FileInfo) (err error) {
	old, err := os.ReadFile(path)
	if err != nil {
		return err
	}
	backup, err := os.CreateTemp(filepath.Dir(path), "."+filepath.Base(path)+".kubeharden-backup-*")
	if err != nil {
		return fmt.Errorf("cannot back up a file with %d hard links before writing it in place: %w", links(info), err)
	}
	bname := backup.Name()
	_, err = backup.Write(old)
	if err == nil {
		err = backup.Sync()
	}
	if cerr := backup.Close(); err == nil {
		err = cerr
	}
	if err == nil {
		err = ctx.Err()
	}
	if err != nil {
		_ = os.Remove(bname)
		return err
	}
	if err := overwrite(path, data, info); err != nil {
		if rerr := overwrite(path, old, info); rerr != nil {
			return fmt.Errorf("%w; restoring the file failed too (%w): its content is in %s", err, rerr, bname)
		}
		_ = os.Remove(bname)
		return err
	}
	return os.Remove(bname)
}

// overwrite writes data over the file at path in place, syncs it, reads it
// back and puts back a mode the write cleared (a write by a user other
// than root clears the setuid and setgid bits).
func overwrite(path string, data []byte, info fs.FileInfo) error {
	f, err := os.OpenFile(path, os.O_WRONLY, 0)
	if err != nil {
		return err
	}
	_, err = f.Write(data)
	if err == nil {
		err = f.Truncate(int64(len(data)))
	}
	if err == nil {
		err = f.Sync()
	}
	if cerr := f.Close(); err == nil {
		err = cerr
	}
	if err != nil {
		return err
	}
	got, err := os.ReadFile(path)
	if err != nil {
		return err
	}
	if !bytes.Equal(got, data) {
		return errors.New("the file does not read back as written")
	}
	now, err := os.Stat(path)
	if err != nil {
		return err
	}
	if want := info.Mode() & (fs.ModePerm | fs.ModeSetuid | fs.ModeSetgid | fs.ModeSticky); now.Mode()&(fs.ModePerm|fs.ModeSetuid|fs.ModeSetgid|fs.ModeSticky) != want {
		return os.Chmod(path, want)
	}
	return nil
}

// syncDir makes a rename in dir durable; a failure only weakens that.
func syncDir(dir string) {
	d, err := os.Open(dir)
	if err != nil {
		return
	}
	_ = d.Sync()
	_ = d.Close()
}

// ReadFile reads the regular file at path, at most limit bytes (a caller
// that reads limit+1 knows the file is larger); it never opens anything
// but a regular file (a FIFO would block forever) and returns
// ErrNotRegular for the others.
func ReadFile(path string, limit int64) ([]byte, error) {
	info, err := os.Stat(path)
	if err != nil {
		return nil, err
	}
	if !info.Mode().IsRegular() {
		return nil, ErrNotRegular
	}
	f, err := os.Open(path)
	if err != nil {
		return nil, err
	}
	defer func() { _ = f.Close() }()
	if info, err = f.Stat(); err != nil {
		return nil, err
	}
	if !info.Mode().IsRegular() {
		return nil, ErrNotRegular
	}
	return io.ReadAll(io.LimitReader(f, limit))
}
