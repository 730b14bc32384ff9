package vuln

import (
	"bytes"
	"encoding/binary"
	"errors"
	"fmt"
	"strings"
)

// The RPM header tags the inventory reads (rpmtag.h).
const (
	rpmTagName      = 1000
	rpmTagVersion   = 1001
	rpmTagRelease   = 1002
	rpmTagEpoch     = 1003
	rpmTagLicense   = 1014
	rpmTagArch      = 1022
	rpmTagSourceRPM = 1044
)

// The RPM header data types the inventory reads (rpmtag.h rpmTagType).
const (
	rpmTypeInt32       = 4
	rpmTypeString      = 6
	rpmTypeStringArray = 8
	rpmTypeI18NString  = 9
)

// The bounds rpm itself puts on a header (header.c): at most 0xffff index
// entries and 256 MiB of data. A blob past them is not one rpm wrote.
const (
	rpmMaxIndexEntries = 0xffff
	rpmMaxDataLength   = 0x0fffffff
	rpmIndexEntrySize  = 16
)

// rpmHeader is what the inventory needs of one installed package's
// header.
type rpmHeader struct {
	name, version, release, arch, license, sourceRPM string
	// epoch is the EPOCH tag, hasEpoch whether the header has one.
	epoch    int32
	hasEpoch bool
}

// parseRPMHeader reads an RPM header blob as the rpm database stores it:
// without the 8-byte magic of a package file's header, starting with the
// big-endian index entry count il and data length dl, then il entries of
// {tag, type, offset, count} and dl bytes of data. Every offset and length
// is checked against the blob: a hostile blob is an error, never a read
// out of bounds.
func parseRPMHeader(blob []byte) (rpmHeader, error) {
	var h rpmHeader
	if len(blob) < 8 {
		return h, fmt.Errorf("header of %d bytes, shorter than its 8-byte preamble", len(blob))
	}
	il := binary.BigEndian.Uint32(blob[0:4])
	dl := binary.BigEndian.Uint32(blob[4:8])
	if il == 0 || il > rpmMaxIndexEntries {
		return h, fmt.Errorf("header declares %d index entries, not within 1..%d", il, rpmMaxIndexEntries)
	}
	if dl > rpmMaxDataLength {
		return h, fmt.Errorf("header declares %d bytes of data, more than rpm's %d", dl, rpmMaxDataLength)
	}
	// Both are bounded above: the sum cannot overflow an int64.
	need := 8 + int64(il)*rpmIndexEntrySize + int64(dl)
	if int64(len(blob)) < need {
		return h, fmt.Errorf("header declares %d index entries and %d bytes of data (%d bytes), but the blob has %d", il, dl, need, len(blob))
	}
	index := blob[8 : 8+int(il)*rpmIndexEntrySize]
	data := blob[8+int(il)*rpmIndexEntrySize : need]
	for i := 0; i < int(il); i++ {
		e := index[i*rpmIndexEntrySize : (i+1)*rpmIndexEntrySize]
		tag := binary.BigEndian.Uint32(e[0:4])
		typ := binary.BigEndian.Uint32(e[4:8])
		off := binary.BigEndian.Uint32(e[8:12])
		count := binary.BigEndian.Uint32(e[12:16])
		var dst *string
		switch tag {
		case rpmTagName:
			dst = &h.name
		case rpmTagVersion:
			dst = &h.version
		case rpmTagRelease:
			dst = &h.release
		case rpmTagArch:
			dst = &h.arch
		case rpmTagLicense:
			dst = &h.license
		case rpmTagSourceRPM:
			dst = &h.sourceRPM
		case rpmTagEpoch:
			if typ != rpmTypeInt32 || count < 1 {
				return h, fmt.Errorf("tag %d (EPOCH) has type %d and count %d, not INT32", tag, typ, count)
			}
			if uint64(off)+4 > uint64(len(data)) {
				return h, fmt.Errorf("tag %d (EPOCH) at offset %d is past the %d bytes of data", tag, off, len(data))
			}
			h.epoch = int32(binary.BigEndian.Uint32(data[off : off+4]))
			h.hasEpoch = true
			continue
		default:
			continue
		}
		s, err := rpmString(data, typ, off, count)
		if err != nil {
			return h, fmt.Errorf("tag %d: %w", tag, err)
		}
		*dst = s
	}
	if h.name == "" || h.version == "" {
		return h, errors.New("header without NAME or VERSION")
	}
	if h.hasEpoch && h.epoch < 0 {
		return h, fmt.Errorf("header has a negative EPOCH %d", h.epoch)
	}
	return h, nil
}

// rpmString reads the string of a STRING, I18NSTRING or STRING_ARRAY
// entry (the first of an array: the untranslated one of I18NSTRING).
func rpmString(data []byte, typ, off, count uint32) (string, error) {
	switch typ {
	case rpmTypeString, rpmTypeI18NString, rpmTypeStringArray:
	default:
		return "", fmt.Errorf("type %d, not a string", typ)
	}
	if count < 1 {
		return "", errors.New("string entry with count 0")
	}
	if uint64(off) >= uint64(len(data)) {
		return "", fmt.Errorf("offset %d is past the %d bytes of data", off, len(data))
	}
	rest := data[off:]
	end := bytes.IndexByte(rest, 0)
	if end < 0 {
		return "", fmt.Errorf("string at offset %d is not terminated within the data", off)
	}
	return string(rest[:end]), nil
}

// evr is the package's version as OSV writes RPM versions:
// EPOCH:VERSION-RELEASE when the epoch is above 0, else VERSION-RELEASE.
func (h rpmHeader) evr() string {
	vr := h.version
	if h.release != "" {
		vr += "-" + h.release
	}
	if h.hasEpoch && h.epoch > 0 {
		return fmt.Sprintf("%d:%s", h.epoch, vr)
	}
	return vr
}

// source splits SOURCERPM ("glibc-2.34-100.el9.src.rpm") into the source
// package's name and VERSION-RELEASE; ok is false when it is not of that
// form.
func (h rpmHeader) source() (name, vr string, ok bool) {
	s, found := strings.CutSuffix(h.sourceRPM, ".src.rpm")
	if !found {
		if s, found = strings.CutSuffix(h.sourceRPM, ".nosrc.rpm"); !found {
			return "", "", false
		}
	}
	r := strings.LastIndexByte(s, '-')
	if r <= 0 {
		return "", "", false
	}
	v := strings.LastIndexByte(s[:r], '-')
	if v <= 0 || v+1 == r || r+1 == len(s) {
		return "", "", false
	}
	return s[:v], s[v+1:], true
}
