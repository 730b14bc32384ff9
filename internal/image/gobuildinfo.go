package image

import (
	"bufio"
	"bytes"
	"encoding/binary"
	"errors"
	"fmt"
	"io"
	"sort"
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
// writable, non-executable PT_LOAD segments, where the linker puts
// .go.buildinfo (the section table, which names it, is at the end of the
// file, past it in the stream); the read-only data of a program that embeds the magic (the
// go command itself) is never searched. Binaries older than Go 1.18,
// whose header points into the data instead of holding it, give errNotGo.
func readGoBuildInfo(r io.Reader, size int64) (version string, modinfo []byte, err error) {
	// A small executable (a script) needs no large buffer.
	window := int64(64 << 10)
	if size < window {
		window = max(size, 64)
	}
	br := bufio.NewReaderSize(io.LimitReader(r, size), int(window))
	head, _ := br.Peek(int(window))
	segs, ok := elfDataSegments(head, size)
	if !ok {
		return "", nil, errNotGo
	}
	pos := int64(0)
	skip := func(n int64) error {
		_, err := br.Discard(int(n))
		pos += n
		return err
	}
	for _, seg := range segs {
		start, end := seg[0], seg[1]
		if r := start % 16; r != 0 {
			start += 16 - r
		}
		if start < pos {
			continue // overlaps a segment already searched
		}
		for pos < start {
			if err := skip(min(start-pos, window)); err != nil {
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
			if i+len(buildInfoMagic) <= len(buf) {
				if err := skip(int64(i)); err != nil {
					return "", nil, errNotGo
				}
				return parseBuildInfo(br)
			}
			// No header starts in this window: go on from the first
			// aligned offset whose magic could not be seen whole.
			if err := skip(int64(i)); err != nil {
				return "", nil, errNotGo
			}
		}
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

// maxDataSegments bounds the writable segments searched.
const maxDataSegments = 8

// elfDataSegments returns the file ranges, by offset, of the writable,
// non-executable PT_LOAD segments of the ELF file of size bytes head
// starts, when its program headers lie in head. A static executable has
// one; a position-independent one puts .go.buildinfo in the second,
// after the relocated read-only data.
func elfDataSegments(head []byte, size int64) (segs [][2]int64, ok bool) {
	if len(head) < 64 || !bytes.HasPrefix(head, []byte("\x7fELF")) {
		return nil, false
	}
	var bo binary.ByteOrder
	switch head[5] {
	case 1:
		bo = binary.LittleEndian
	case 2:
		bo = binary.BigEndian
	default:
		return nil, false
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
		return nil, false
	}
	minEnt := uint64(32)
	if is64 {
		minEnt = 56
	}
	if phentsize < minEnt || phoff > uint64(len(head)) || phnum > uint64(len(head))/phentsize ||
		phoff+phnum*phentsize > uint64(len(head)) {
		return nil, false
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
		if typ != ptLoad || flags&(pfX|pfW) != pfW || filesz == 0 {
			continue
		}
		if off > uint64(size) || filesz > uint64(size)-off {
			return nil, false // a segment past the end: not a real executable
		}
		segs = append(segs, [2]int64{int64(off), int64(off + filesz)})
		if len(segs) == maxDataSegments {
			break
		}
	}
	sort.Slice(segs, func(i, j int) bool { return segs[i][0] < segs[j][0] })
	return segs, len(segs) > 0
}
