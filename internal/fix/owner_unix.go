//go:build unix

package fix

import (
	"fmt"
	"io/fs"
	"os"
	"syscall"
)

// links returns the hard link count of a file, 1 when unknown.
func links(info fs.FileInfo) uint64 {
	if st, ok := info.Sys().(*syscall.Stat_t); ok {
		return uint64(st.Nlink) //nolint:unconvert // uint32 on some platforms
	}
	return 1
}

// writable reports whether the file may be written: its owner may write
// it (a file without the owner's write bit was made read-only on purpose,
// which root must respect too), and so may the running user.
func writable(path string, info fs.FileInfo) bool {
	if info.Mode().Perm()&0o200 == 0 {
		return false
	}
	return syscall.Access(path, 2 /* W_OK */) == nil
}

// keepOwner gives f the owner and group of info, when they differ from
// what the running user made it with; a user who may not do that gets an
// error, and the file is left alone rather than taken over.
func keepOwner(f *os.File, info fs.FileInfo) error {
	st, ok := info.Sys().(*syscall.Stat_t)
	if !ok {
		return nil
	}
	now, err := f.Stat()
	if err != nil {
		return err
	}
	cur, ok := now.Sys().(*syscall.Stat_t)
	if ok && cur.Uid == st.Uid && cur.Gid == st.Gid {
		return nil
	}
	if err := f.Chown(int(st.Uid), int(st.Gid)); err != nil {
		return fmt.Errorf("cannot keep the file's owner and group (%d:%d), so it is left as it is: %w", st.Uid, st.Gid, err)
	}
	return nil
}
