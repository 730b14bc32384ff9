package vuln

import (
	"bytes"
	"encoding/binary"
	"os"
	"strings"
	"testing"
)

var rhel8 = distroOf(map[string]string{"ID": "rhel", "VERSION_ID": "8.10"})

// bdbTestFile is a copy of a BerkeleyDB Packages of testdata/rpm.
func bdbTestFile(t testing.TB, name string) []byte {
	t.Helper()
	data, err := os.ReadFile("testdata/rpm/" + name)
	if err != nil {
		t.Fatal(err)
	}
	return data
}

// firstPage returns the number of the first page of type typ.
func firstPage(t *testing.T, data []byte, pageSize int, typ byte) int {
	t.Helper()
	for n := 1; (n+1)*pageSize <= len(data); n++ {
		if data[n*pageSize+25] == typ {
			return n
		}
	}
	t.Fatalf("no page of type %d", typ)
	return 0
}

// TestRPMBerkeleyDBHostile: a corrupt or hostile BerkeleyDB Packages is
// an error naming the file and the page, never a panic, a loop or an
// allocation its size does not justify; the good packages are still read.
func TestRPMBerkeleyDBHostile(t *testing.T) {
	const be = "Packages.be512" // big-endian, 512-byte pages: every header on overflow pages
	for _, tc := range []struct {
		name, file string
		edit       func(t *testing.T, d []byte) []byte
		want       string
		pkgs       int
	}{
		{"truncated to its metadata page", "Packages", func(t *testing.T, d []byte) []byte { return d[:4096] }, "", 0},
		{"shorter than a page", "Packages", func(t *testing.T, d []byte) []byte { return d[:100] }, "shorter than its metadata page", 0},
		{"page size not a power of two", "Packages", func(t *testing.T, d []byte) []byte {
			binary.LittleEndian.PutUint32(d[20:], 4000)
			return d
		}, "page size 4000 is not a power of two", 0},
		{"encrypted", "Packages", func(t *testing.T, d []byte) []byte { d[24] = 1; return d }, "encrypted BerkeleyDB", 0},
		{"checksummed", "Packages", func(t *testing.T, d []byte) []byte { d[26] = 1; return d }, "checksummed BerkeleyDB", 0},
		{"not a hash database", "Packages", func(t *testing.T, d []byte) []byte { d[25] = 9; return d }, "page type 9, not a hash database", 0},
		{"too many items", "Packages", func(t *testing.T, d []byte) []byte {
			n := firstPage(t, d, 4096, bdbPageHash)
			binary.LittleEndian.PutUint16(d[n*4096+20:], 0xffff)
			return d
		}, "65535 items declared, more than the page holds", 2},
		{"item offset outside the page", "Packages", func(t *testing.T, d []byte) []byte {
			n := firstPage(t, d, 4096, bdbPageHash)
			binary.LittleEndian.PutUint16(d[n*4096+bdbPageHeaderSize:], 5)
			return d
		}, "item 0: item at offset 5..", 4},
		{"overflow chain cycle", be, func(t *testing.T, d []byte) []byte {
			n := firstPage(t, d, 512, bdbPageOverflow)
			// A page of no data that points to itself: only the bound on
			// the pages visited ends the chain.
			binary.BigEndian.PutUint32(d[n*512+16:], uint32(n))
			binary.BigEndian.PutUint16(d[n*512+22:], 0)
			return d
		}, "or a cycle", 3},
		{"overflow chain past the file", be, func(t *testing.T, d []byte) []byte {
			n := firstPage(t, d, 512, bdbPageOverflow)
			binary.BigEndian.PutUint32(d[n*512+16:], 0xfffffff0)
			return d
		}, "past the", 3},
		{"overflow page length past its page", be, func(t *testing.T, d []byte) []byte {
			n := firstPage(t, d, 512, bdbPageOverflow)
			binary.BigEndian.PutUint16(d[n*512+22:], 0xffff)
			return d
		}, "holds 65535 bytes, more than its page", 3},
		{"overflow item of 4 GiB", be, func(t *testing.T, d []byte) []byte {
			for n := 1; (n+1)*512 <= len(d); n++ {
				page := d[n*512 : (n+1)*512]
				if page[25] != bdbPageHash || binary.BigEndian.Uint16(page[20:]) < 2 {
					continue
				}
				if off := binary.BigEndian.Uint16(page[bdbPageHeaderSize+2:]); page[off] == bdbItemOffPage {
					binary.BigEndian.PutUint32(page[off+8:], 0xffffffff)
					return d
				}
			}
			t.Fatal("no overflow item")
			return nil
		}, "declares 4294967295 bytes, more than the", 3},
	} {
		t.Run(tc.name, func(t *testing.T) {
			data := tc.edit(t, bdbTestFile(t, tc.file))
			pkgs, err := parseRPMDB(t.Context(), data, "/var/lib/rpm/Packages", rhel8)
			if tc.want == "" {
				if err != nil {
					t.Errorf("error %v", err)
				}
			} else if err == nil || !strings.Contains(err.Error(), "/var/lib/rpm/Packages: ") || !strings.Contains(err.Error(), tc.want) {
				t.Errorf("error %v\nwant %q", err, tc.want)
			}
			// A broken item or page loses its own packages only (page 1
			// holds key 0 and two packages, page 2 three).
			if len(pkgs) != tc.pkgs {
				t.Errorf("%d packages, want %d", len(pkgs), tc.pkgs)
			}
		})
	}
}

// TestRPMBerkeleyDBOrders: both byte orders and both item placements
// (inline with 4096-byte pages, overflow with 512-byte ones) give the
// same packages.
func TestRPMBerkeleyDBOrders(t *testing.T) {
	var lists []string
	for _, f := range []string{"Packages", "Packages.be512"} {
		pkgs, err := parseRPMDB(t.Context(), bdbTestFile(t, f), "/var/lib/rpm/Packages", rhel8)
		if err != nil {
			t.Fatal(err)
		}
		var b bytes.Buffer
		for _, p := range pkgs {
			b.WriteString(p.Name + " " + p.Version + "\n")
		}
		lists = append(lists, b.String())
	}
	if lists[0] != lists[1] || strings.Count(lists[0], "\n") != 4 {
		t.Errorf("little-endian:\n%s\nbig-endian:\n%s", lists[0], lists[1])
	}
}

// FuzzRPMBerkeleyDB: whatever the file, the BerkeleyDB reader returns
// complete packages or an error; it never panics.
func FuzzRPMBerkeleyDB(f *testing.F) {
	for _, name := range []string{"Packages", "Packages.be512"} {
		if data, err := os.ReadFile("testdata/rpm/" + name); err == nil {
			f.Add(data)
		}
	}
	f.Fuzz(func(t *testing.T, data []byte) {
		pkgs, _ := parseRPMBerkeleyDB(data, "/var/lib/rpm/Packages", rhel8)
		checkPackages(t, pkgs)
	})
}
