package image

import (
	"bufio"
	"bytes"
	"encoding/binary"
	"errors"
	"fmt"
	"io"
)

// errNotGo says that an executable carries no Go build information that
// can be read while it streams.
var errNotGo = errors.New("not a Go 1.18+ ELF executable")

// buildInfoMagic starts the .go.buildinfo header (see debug/buildinfo).
var buildInfoMagic = []byte("\xff Go buildinf:")

// The .go.buildinfo header: the magic, the pointer size, flags, padding
// to 32 bytes; with flagsVersionInl (Go 1.18+) the toolchain version and
// the module information follow inline as uvarint-prefixed strings.
const (
	buildInfoHeader = 32
	flagsVersionInl = 0x2
)

// The sentinels around the module information (cmd/go/internal/modload).
const modInfoSentinel = 16

// readGoBuildInfo reads the Go toolchain version and module information
// of the ELF executable r streams (size bytes), without buffering it:
// debug/buildinfo wants an io.ReaderAt, which a layer stream is not.
// The header is searched, 16-byte aligned as the linker puts it, in the
// first writable, non-executable PT_LOAD segment, where the linker puts
// .go.buildinfo and where debug/buildinfo looks when the section table is
// stripped; the read-only data of a program that embeds the magic (the
// go command itself) is never searched. Binaries older than Go 1.18,
// whose header points into the data instead of holding it, give errNotGo.
func readGoBuildInfo(r io.Reader, size int64) (version string, modinfo []byte, err error) {
	const window = 64 << 10
	br := bufio.NewReaderSize(io.LimitReader(r, size), window)
	head, _ := br.Peek(window)
	start, end, ok := elfDataSegment(head)
	if !ok || end > size {
		return "", nil, errNotGo
	}
	pos := int64(0)
	skip := func(n int64) error {
		_, err := br.Discard(int(n))
		pos += n
		return err
	}
	if r := start % 16; r != 0 {
		start += 16 - r
	}
	for pos < start {
		n := min(start-pos, window)
		if err := skip(n); err != nil {
			return "", nil, errNotGo
		}
	}
	for pos+buildInfoHeader <= end {
		buf, _ := br.Peek(int(min(window, end-pos)))
		if len(buf) < buildInfoHeader {
			return "", nil, errNotGo
		}
		i := 0
		for ; i+len(buildInfoMagic) <= len(buf); i += 16 {
			if bytes.HasPrefix(buf[i:], buildInfoMagic) {
				break
			}
		}
		if i+len(buildInfoMagic) > len(buf) {
			// No header starts in this window: go on from the first
			// aligned offset whose magic could not be seen whole.
			if err := skip(int64(i)); err != nil {
				return "", nil, errNotGo
			}
			continue
		}
		if err := skip(int64(i)); err != nil {
			return "", nil, errNotGo
		}
		return parseBuildInfo(br)
	}
	return "", nil, errNotGo
}

// parseBuildInfo reads the header br is at.
func parseBuildInfo(br *bufio.Reader) (string, []byte, error) {
	var hdr [buildInfoHeader]byte
	if _, err := io.ReadFull(br, hdr[:]); err != nil {
		return "", nil, errNotGo
	}
	if hdr[15]&flagsVersionInl == 0 {
		return "", nil, errNotGo
	}
	version, err := readVarString(br, 256)
	if err != nil || !bytes.HasPrefix(version, []byte("go")) {
		return "", nil, errNotGo
	}
	mod, err := readVarString(br, maxModInfo)
	if err != nil {
		return "", nil, fmt.Errorf("go build information: %w", err)
	}
	if len(mod) >= 2*modInfoSentinel+1 && mod[len(mod)-modInfoSentinel-1] == '\n' {
		mod = mod[modInfoSentinel : len(mod)-modInfoSentinel]
	} else {
		mod = nil
	}
	return string(version), mod, nil
}

// readVarString reads a uvarint-prefixed string of at most max bytes.
func readVarString(br *bufio.Reader, max uint64) ([]byte, error) {
	n, err := binary.ReadUvarint(br)
	if err != nil {
		return nil, err
	}
	if n > max {
		return nil, fmt.Errorf("a string of %d bytes, more than the %d read", n, max)
	}
	out := make([]byte, n)
	if _, err := io.ReadFull(br, out); err != nil {
		return nil, err
	}
	return out, nil
}

// elfDataSegment returns the file range of the first writable,
// non-executable PT_LOAD segment of the ELF file head starts, when its
// program headers lie in head.
func elfDataSegment(head []byte) (start, end int64, ok bool) {
	if len(head) < 64 || !bytes.HasPrefix(head, []byte("\x7fELF")) {
		return 0, 0, false
	}
	var bo binary.ByteOrder
	switch head[5] {
	case 1:
		bo = binary.LittleEndian
	case 2:
		bo = binary.BigEndian
	default:
		return 0, 0, false
	}
	const ptLoad, pfX, pfW = 1, 1, 2
	var phoff, phentsize, phnum uint64
	is64 := head[4] == 2
	switch head[4] {
	case 1:
		phoff, phentsize, phnum = uint64(bo.Uint32(head[0x1c:])), uint64(bo.Uint16(head[0x2a:])), uint64(bo.Uint16(head[0x2c:]))
	case 2:
		phoff, phentsize, phnum = bo.Uint64(head[0x20:]), uint64(bo.Uint16(head[0x36:])), uint64(bo.Uint16(head[0x38:]))
	default:
		return 0, 0, false
	}
	minEnt := uint64(32)
	if is64 {
		minEnt = 56
	}
	if phentsize < minEnt || phoff > uint64(len(head)) || phnum > uint64(len(head))/phentsize ||
		phoff+phnum*phentsize > uint64(len(head)) {
		return 0, 0, false
	}
	for i := range phnum {
		ph := head[phoff+i*phentsize:]
		var typ, flags uint32
		var off, filesz uint64
		if is64 {
			typ, flags, off, filesz = bo.Uint32(ph), bo.Uint32(ph[4:]), bo.Uint64(ph[8:]), bo.Uint64(ph[0x20:])
		} else {
			typ, off, filesz, flags = bo.Uint32(ph), uint64(bo.Uint32(ph[4:])), uint64(bo.Uint32(ph[16:])), bo.Uint32(ph[24:])
		}
		if typ == ptLoad && flags&(pfX|pfW) == pfW {
			if off > 1<<62 || filesz > 1<<62 {
				return 0, 0, false
			}
			return int64(off), int64(off + filesz), true
		}
	}
	return 0, 0, false
}
