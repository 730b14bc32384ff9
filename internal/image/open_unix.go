//go:build unix

package image

import (
	"os"
	"syscall"
)

// openNoBlock opens path read-only without blocking: opening a FIFO with
// no writer returns at once instead of waiting for one. On a regular file
// O_NONBLOCK changes nothing.
func openNoBlock(path string) (*os.File, error) {
	return os.OpenFile(path, os.O_RDONLY|syscall.O_NONBLOCK, 0)
}
