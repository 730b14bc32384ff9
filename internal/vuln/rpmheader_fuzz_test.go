package vuln

import (
	"context"
	"encoding/binary"
	"os"
	"testing"
)

// FuzzRPMHeader: whatever the blob, parseRPMHeader returns a header with
// a name and a version, or an error; it never panics or reads out of
// bounds. The corpus starts from the real headers of testdata/rpm.
func FuzzRPMHeader(f *testing.F) {
	f.Add(rpmBlob(
		rpmEntry{tag: 63, typ: 7, value: "region"},
		rpmEntry{tag: rpmTagName, typ: rpmTypeString, value: "bash"},
		rpmEntry{tag: rpmTagVersion, typ: rpmTypeString, value: "5.1.8"},
		rpmEntry{tag: rpmTagRelease, typ: rpmTypeString, value: "9.el9"},
		rpmEntry{tag: rpmTagEpoch, typ: rpmTypeInt32, value: int32(2)},
		rpmEntry{tag: rpmTagSourceRPM, typ: rpmTypeString, value: "bash-5.1.8-9.el9.src.rpm"},
	))
	f.Add([]byte{0, 0, 0, 1, 0, 0, 0, 4, 0, 0, 0x03, 0xe8, 0, 0, 0, 6, 0, 0, 0, 0, 0, 0, 0, 1, 'a', 'b', 'c', 0})
	if data, err := os.ReadFile("testdata/rpm/rpmdb.sqlite"); err == nil {
		// The real headers: their index starts 8 bytes before the
		// region tag's entry (0x0000003f, type BIN).
		for i := 0; i+16 < len(data); i++ {
			if i < 8 || data[i] != 0 || data[i+1] != 0 || data[i+2] != 0 || data[i+3] != 0x3f || data[i+7] != 7 {
				continue
			}
			b := data[i-8:]
			n := 8 + 16*int(binary.BigEndian.Uint32(b[0:4])) + int(binary.BigEndian.Uint32(b[4:8]))
			if n > 0 && n <= len(b) && n < 64<<10 {
				f.Add(b[:n])
			}
		}
	}
	d := distroOf(map[string]string{"ID": "rhel", "VERSION_ID": "9.4"})
	f.Fuzz(func(t *testing.T, blob []byte) {
		h, err := parseRPMHeader(blob)
		if err != nil {
			return
		}
		if h.name == "" || h.version == "" {
			t.Fatalf("header without name or version: %+v", h)
		}
		checkPackages(t, []Package{rpmPackage(h, "/var/lib/rpm/rpmdb.sqlite", d)})
	})
}

// FuzzRPMDB: whatever the database file, parseRPMDB returns packages
// with a name, a version and a PURL, or an error; it never panics.
func FuzzRPMDB(f *testing.F) {
	if data, err := os.ReadFile("testdata/rpm/rpmdb.sqlite"); err == nil {
		f.Add(data)
	}
	f.Add([]byte("SQLite format 3\x00"))
	f.Add(append([]byte("RpmP"), make([]byte, 12)...))
	d := distroOf(map[string]string{"ID": "fedora", "VERSION_ID": "40"})
	f.Fuzz(func(t *testing.T, data []byte) {
		pkgs, _ := parseRPMDB(context.Background(), data, "/usr/lib/sysimage/rpm/rpmdb.sqlite", d)
		checkPackages(t, pkgs)
	})
}
