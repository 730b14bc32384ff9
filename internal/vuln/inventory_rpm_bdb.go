package vuln

import (
	"encoding/binary"
	"errors"
	"fmt"
)

// BerkeleyDB hash database layout (db_page.h), as rpm's Packages uses it:
// a metadata page, then hash pages whose items alternate key and data,
// a data too large for its page going to a chain of overflow pages.
const (
	bdbPageHeaderSize = 26
	// Page types.
	bdbPageHashUnsorted = 2
	bdbPageOverflow     = 7
	bdbPageHashMeta     = 8
	bdbPageHash         = 13
	// Hash item types.
	bdbItemKeyData = 1
	bdbItemOffPage = 3
	// bdbHOffPageSize is a HOFFPAGE item: type, 3 unused, pgno, tlen.
	bdbHOffPageSize = 12
)

// parseRPMBerkeleyDB reads the package headers of rpm's Packages, a
// BerkeleyDB hash database (UBI 8, RHEL 8, CentOS 7, Amazon Linux 2):
// every page is bounds-checked, overflow chains are bounded by the
// number of pages and the declared length, and a bad item is an error
// naming the file and the page while the rest is still read.
func parseRPMBerkeleyDB(data []byte, path string, d distro) ([]Package, error) {
	if len(data) < 512 {
		return nil, fmt.Errorf("%s: BerkeleyDB database of %d bytes, shorter than its metadata page", path, len(data))
	}
	var bo binary.ByteOrder = binary.LittleEndian
	if binary.BigEndian.Uint32(data[12:16]) == bdbHashMagic {
		bo = binary.BigEndian
	}
	pageSize := bo.Uint32(data[20:24])
	switch {
	case pageSize < 512 || pageSize > 64<<10 || pageSize&(pageSize-1) != 0:
		return nil, fmt.Errorf("%s: BerkeleyDB page size %d is not a power of two within 512..65536", path, pageSize)
	case data[24] != 0:
		return nil, fmt.Errorf("%s: encrypted BerkeleyDB database (algorithm %d): not an RPM database", path, data[24])
	case data[25] != bdbPageHashMeta:
		return nil, fmt.Errorf("%s: BerkeleyDB database of page type %d, not a hash database", path, data[25])
	case data[26]&1 != 0:
		// Checksummed pages put the checksum where the items start.
		return nil, fmt.Errorf("%s: checksummed BerkeleyDB database: not one rpm writes", path)
	}
	db := bdb{data: data, bo: bo, pageSize: int(pageSize), pages: len(data) / int(pageSize)}
	fe := &fileErrors{path: path}
	var out []Package
	for n := 1; n < db.pages; n++ {
		page := db.page(n)
		if t := page[25]; t != bdbPageHash && t != bdbPageHashUnsorted {
			continue
		}
		entries := int(bo.Uint16(page[20:22]))
		if bdbPageHeaderSize+2*entries > len(page) {
			fe.addAt(fmt.Sprintf("page %d", n), "%d items declared, more than the page holds", entries)
			continue
		}
		// Items alternate key, data; the items are stored from the end
		// of the page down, so item i ends where item i-1 starts.
		for i := 0; i+1 < entries; i += 2 {
			key, err := db.item(page, i)
			if err != nil {
				fe.addAt(fmt.Sprintf("page %d item %d", n, i), "%v", err)
				continue
			}
			if len(key) == 4 && bo.Uint32(key) == 0 {
				// Key 0 holds rpm's next package number, not a package.
				continue
			}
			blob, err := db.value(page, i+1)
			if err != nil {
				fe.addAt(fmt.Sprintf("page %d item %d", n, i+1), "%v", err)
				continue
			}
			h, err := parseRPMHeader(blob)
			if err != nil {
				fe.addAt(fmt.Sprintf("page %d item %d", n, i+1), "%v", err)
				continue
			}
			if h.name == "gpg-pubkey" {
				continue
			}
			out = append(out, rpmPackage(h, path, d))
		}
	}
	return out, fe.err()
}

// bdb is a BerkeleyDB file being read.
type bdb struct {
	data     []byte
	bo       binary.ByteOrder
	pageSize int
	pages    int
}

func (db bdb) page(n int) []byte {
	return db.data[n*db.pageSize : (n+1)*db.pageSize]
}

// item returns the bytes of item i of a hash page, its type byte
// included.
func (db bdb) item(page []byte, i int) ([]byte, error) {
	start := int(db.bo.Uint16(page[bdbPageHeaderSize+2*i:]))
	end := len(page)
	if i > 0 {
		end = int(db.bo.Uint16(page[bdbPageHeaderSize+2*(i-1):]))
	}
	if start < bdbPageHeaderSize || start >= end || end > len(page) {
		return nil, fmt.Errorf("item at offset %d..%d is outside its page", start, end)
	}
	it := page[start:end]
	if it[0] != bdbItemKeyData {
		return nil, fmt.Errorf("item of type %d, not a key", it[0])
	}
	return it[1:], nil
}

// value returns data item i of a hash page: inline, or gathered from its
// overflow pages.
func (db bdb) value(page []byte, i int) ([]byte, error) {
	start := int(db.bo.Uint16(page[bdbPageHeaderSize+2*i:]))
	end := int(db.bo.Uint16(page[bdbPageHeaderSize+2*(i-1):]))
	if start < bdbPageHeaderSize || start >= end || end > len(page) {
		return nil, fmt.Errorf("item at offset %d..%d is outside its page", start, end)
	}
	it := page[start:end]
	switch it[0] {
	case bdbItemKeyData:
		return it[1:], nil
	case bdbItemOffPage:
	default:
		return nil, fmt.Errorf("data item of type %d, neither inline nor overflow", it[0])
	}
	if len(it) < bdbHOffPageSize {
		return nil, fmt.Errorf("overflow item of %d bytes, shorter than %d", len(it), bdbHOffPageSize)
	}
	next := db.bo.Uint32(it[4:8])
	total := db.bo.Uint32(it[8:12])
	if total > maxRPMHeader || int64(total) > int64(len(db.data)) {
		return nil, fmt.Errorf("overflow item declares %d bytes, more than the %d read", total, min(maxRPMHeader, len(db.data)))
	}
	out := make([]byte, 0, total)
	// Each page of the chain is visited at most once: a chain longer
	// than the file has pages is a cycle.
	for visited := 0; next != 0; visited++ {
		if visited >= db.pages || int64(next) >= int64(db.pages) {
			return nil, fmt.Errorf("overflow chain reaches page %d after %d pages: past the %d pages of the file, or a cycle", next, visited, db.pages)
		}
		p := db.page(int(next))
		if p[25] != bdbPageOverflow {
			return nil, fmt.Errorf("overflow chain reaches page %d of type %d, not an overflow page", next, p[25])
		}
		// An overflow page's hf_offset is the length of its data.
		n := int(db.bo.Uint16(p[22:24]))
		if bdbPageHeaderSize+n > len(p) || len(out)+n > int(total) {
			return nil, fmt.Errorf("overflow page %d holds %d bytes, more than its page or the item's %d", next, n, total)
		}
		out = append(out, p[bdbPageHeaderSize:bdbPageHeaderSize+n]...)
		next = db.bo.Uint32(p[16:20])
	}
	if len(out) != int(total) {
		return nil, errors.New("overflow chain ends before the item's length")
	}
	return out, nil
}
