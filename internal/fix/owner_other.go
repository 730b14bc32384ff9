//go:build !unix

package fix

import (
	"io/fs"
	"os"
)

// links returns the hard link count of a file, 1 when unknown.
func links(fs.FileInfo) uint64 { return 1 }

// writable reports whether the file's owner may write it.
func writable(_ string, info fs.FileInfo) bool { return info.Mode().Perm()&0o200 != 0 }

// keepOwner does nothing where files have no Unix owner.
func keepOwner(*os.File, fs.FileInfo) error { return nil }
