//go:build !unix

package image

import (
	"fmt"
	"os"
)

// openNoBlock opens path read-only after checking that it is a regular
// file, where no non-blocking open exists.
func openNoBlock(path string) (*os.File, error) {
	st, err := os.Stat(path)
	if err != nil {
		return nil, err
	}
	if !st.Mode().IsRegular() {
		return nil, fmt.Errorf("%s: %w (%s)", path, ErrNotRegular, fileType(st.Mode()))
	}
	return os.Open(path)
}
