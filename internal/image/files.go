package image

import (
	"crypto/sha256"
	"encoding/hex"
	"errors"
	"fmt"
	"hash"
	"io"
	"os"

	v1 "github.com/google/go-containerregistry/pkg/v1"

	"github.com/kubeharden/kubeharden/internal/limits"
)

// ErrNotRegular is wrapped by the error for a path that is not a regular
// file (a FIFO, a device, a directory, a socket): reading one could block
// forever or never end.
var ErrNotRegular = errors.New("not a regular file")

// ErrDigestMismatch is wrapped by the error for a blob or layer whose
// content does not match the digest or size that names it: a tampered or
// truncated image.
var ErrDigestMismatch = errors.New("content does not match its digest")

// OpenRegular opens path for reading only if it is a regular file (after
// symlinks), without ever blocking on a FIFO: the file is opened
// non-blocking (see openNoBlock) and its type checked on the open file,
// so nothing can swap it in between. It returns the file's size; the
// error for another type of file wraps ErrNotRegular.
func OpenRegular(path string) (*os.File, int64, error) {
	f, err := openNoBlock(path)
	if err != nil {
		return nil, 0, err
	}
	st, err := f.Stat()
	if err != nil {
		_ = f.Close()
		return nil, 0, err
	}
	if !st.Mode().IsRegular() {
		_ = f.Close()
		return nil, 0, fmt.Errorf("%s: %w (%s)", path, ErrNotRegular, fileType(st.Mode()))
	}
	return f, st.Size(), nil
}

// fileType names a non-regular file's type for an error message.
func fileType(m os.FileMode) string {
	switch {
	case m&os.ModeNamedPipe != 0:
		return "a FIFO"
	case m&os.ModeDevice != 0, m&os.ModeCharDevice != 0:
		return "a device"
	case m&os.ModeSocket != 0:
		return "a socket"
	case m.IsDir():
		return "a directory"
	}
	return m.Type().String()
}

// readBlob reads the blob desc describes from r: at most desc.Size bytes,
// refused outright past the blob-size limit, and checked against the
// descriptor's size and sha256 digest.
func readBlob(r io.Reader, desc v1.Descriptor, lim limits.Limits) ([]byte, error) {
	if desc.Size > lim.BlobSize {
		return nil, fmt.Errorf("blob %s of %d bytes %w", desc.Digest, desc.Size, lim.BlobSizeExceeded())
	}
	if desc.Size < 0 {
		return nil, fmt.Errorf("blob %s: negative size %d", desc.Digest, desc.Size)
	}
	v, err := newVerifier(r, desc.Digest, desc.Size)
	if err != nil {
		return nil, err
	}
	data, err := io.ReadAll(v)
	if err != nil {
		return nil, err
	}
	return data, nil
}

// readSmall reads a metadata file that no digest names (index.json, a
// docker archive's manifest.json), refused past the blob-size limit.
func readSmall(r io.Reader, size int64, what string, lim limits.Limits) ([]byte, error) {
	if size > lim.BlobSize {
		return nil, fmt.Errorf("%s of %d bytes %w", what, size, lim.BlobSizeExceeded())
	}
	data, err := io.ReadAll(io.LimitReader(r, lim.BlobSize+1))
	if err != nil {
		return nil, fmt.Errorf("reading %s: %w", what, err)
	}
	if int64(len(data)) > lim.BlobSize {
		return nil, fmt.Errorf("%s %w", what, lim.BlobSizeExceeded())
	}
	return data, nil
}

// verifier hashes what is read through it and, at the end of the stream,
// returns an error wrapping ErrDigestMismatch instead of io.EOF when the
// content is not the size (when known, >= 0) or the digest expected. It
// never reads more than size+1 bytes, so a blob that is /dev/zero or far
// larger than its descriptor says costs nothing.
type verifier struct {
	r    io.Reader
	want v1.Hash
	size int64 // -1: unknown
	n    int64
	h    hash.Hash
	err  error
}

func newVerifier(r io.Reader, want v1.Hash, size int64) (*verifier, error) {
	if want.Algorithm != "sha256" {
		return nil, fmt.Errorf("digest %s: only sha256 is supported", want)
	}
	if size >= 0 {
		r = io.LimitReader(r, size+1)
	}
	return &verifier{r: r, want: want, size: size, h: sha256.New()}, nil
}

func (v *verifier) Read(p []byte) (int, error) {
	if v.err != nil {
		return 0, v.err
	}
	n, err := v.r.Read(p)
	v.h.Write(p[:n])
	v.n += int64(n)
	if v.size >= 0 && v.n > v.size {
		v.err = fmt.Errorf("%s: %w: larger than its size %d", v.want, ErrDigestMismatch, v.size)
		return 0, v.err
	}
	if errors.Is(err, io.EOF) {
		switch got := hex.EncodeToString(v.h.Sum(nil)); {
		case v.size >= 0 && v.n != v.size:
			v.err = fmt.Errorf("%s: %w: %d bytes, its size is %d", v.want, ErrDigestMismatch, v.n, v.size)
			return 0, v.err
		case got != v.want.Hex:
			v.err = fmt.Errorf("%s: %w: the content is sha256:%s", v.want, ErrDigestMismatch, got)
			return 0, v.err
		}
		v.err = io.EOF
	}
	return n, err
}
