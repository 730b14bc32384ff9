package vuln

import (
	"encoding/binary"
	"strings"
	"testing"
)

// rpmEntry is one index entry of a header built by rpmBlob.
type rpmEntry struct {
	tag, typ uint32
	// value is a string (STRING types) or an int32 (INT32).
	value any
	// off and count, when set, replace the computed ones.
	off, count *uint32
}

// rpmBlob builds a header blob as the rpm database stores it (no magic):
// il, dl, the index, the data.
func rpmBlob(entries ...rpmEntry) []byte {
	var data []byte
	index := make([]byte, 0, 16*len(entries))
	for _, e := range entries {
		off := uint32(len(data))
		var count uint32 = 1
		switch v := e.value.(type) {
		case string:
			data = append(data, v...)
			data = append(data, 0)
		case int32:
			for len(data)%4 != 0 {
				data = append(data, 0)
			}
			off = uint32(len(data))
			data = binary.BigEndian.AppendUint32(data, uint32(v))
		}
		if e.off != nil {
			off = *e.off
		}
		if e.count != nil {
			count = *e.count
		}
		index = binary.BigEndian.AppendUint32(index, e.tag)
		index = binary.BigEndian.AppendUint32(index, e.typ)
		index = binary.BigEndian.AppendUint32(index, off)
		index = binary.BigEndian.AppendUint32(index, count)
	}
	out := binary.BigEndian.AppendUint32(nil, uint32(len(entries)))
	out = binary.BigEndian.AppendUint32(out, uint32(len(data)))
	out = append(out, index...)
	return append(out, data...)
}

func u32(v uint32) *uint32 { return &v }

func TestParseRPMHeader(t *testing.T) {
	name := rpmEntry{tag: rpmTagName, typ: rpmTypeString, value: "openssl-libs"}
	version := rpmEntry{tag: rpmTagVersion, typ: rpmTypeString, value: "3.0.7"}
	full := rpmBlob(
		// The region tag rpm puts first, and a tag the inventory skips.
		rpmEntry{tag: 63, typ: 7, value: "0123456789abcdef"},
		name, version,
		rpmEntry{tag: rpmTagRelease, typ: rpmTypeString, value: "27.el9"},
		rpmEntry{tag: rpmTagEpoch, typ: rpmTypeInt32, value: int32(1)},
		rpmEntry{tag: rpmTagArch, typ: rpmTypeString, value: "x86_64"},
		rpmEntry{tag: rpmTagLicense, typ: rpmTypeString, value: "Apache-2.0"},
		rpmEntry{tag: rpmTagSourceRPM, typ: rpmTypeString, value: "openssl-3.0.7-27.el9.src.rpm"},
		rpmEntry{tag: 1004, typ: rpmTypeI18NString, value: "Summary"},
	)
	h, err := parseRPMHeader(full)
	if err != nil {
		t.Fatal(err)
	}
	want := rpmHeader{name: "openssl-libs", version: "3.0.7", release: "27.el9", arch: "x86_64", license: "Apache-2.0", sourceRPM: "openssl-3.0.7-27.el9.src.rpm", epoch: 1, hasEpoch: true}
	if h != want {
		t.Errorf("got %+v\nwant %+v", h, want)
	}
	if h.evr() != "1:3.0.7-27.el9" {
		t.Errorf("evr %q", h.evr())
	}
	// Trailing bytes past dl are ignored, as rpm does.
	if _, err := parseRPMHeader(append(full, 1, 2, 3)); err != nil {
		t.Errorf("trailing bytes: %v", err)
	}

	for _, tc := range []struct {
		name string
		blob []byte
		want string
	}{
		{"empty", nil, "header of 0 bytes"},
		{"no entries", []byte{0, 0, 0, 0, 0, 0, 0, 0}, "0 index entries"},
		{"too many entries", []byte{0, 1, 0, 0, 0, 0, 0, 0}, "65536 index entries"},
		{"too much data", []byte{0, 0, 0, 1, 0x10, 0, 0, 0}, "268435456 bytes of data"},
		{"index past the blob", []byte{0, 0, 0, 2, 0, 0, 0, 0, 1, 2, 3}, "but the blob has 11"},
		{"truncated", full[:len(full)-1], "but the blob has"},
		{"string offset past the data", rpmBlob(rpmEntry{tag: rpmTagName, typ: rpmTypeString, value: "a", off: u32(2)}), "offset 2 is past the 2 bytes"},
		{"huge string offset", rpmBlob(rpmEntry{tag: rpmTagName, typ: rpmTypeString, value: "a", off: u32(0xffffffff)}), "offset 4294967295 is past"},
		{"unterminated string", func() []byte {
			b := rpmBlob(name, version)
			return b[:len(b)-1]
		}(), "but the blob has"},
		{"string running past dl", func() []byte {
			// dl says 3 bytes ("ab\x00" is cut to "ab" plus the next byte
			// is not counted): the NUL is beyond the data store.
			b := rpmBlob(rpmEntry{tag: rpmTagName, typ: rpmTypeString, value: "abc"})
			binary.BigEndian.PutUint32(b[4:8], 3)
			return b
		}(), "not terminated within the data"},
		{"name not a string", rpmBlob(rpmEntry{tag: rpmTagName, typ: rpmTypeInt32, value: int32(5)}), "tag 1000: type 4, not a string"},
		{"string count 0", rpmBlob(rpmEntry{tag: rpmTagName, typ: rpmTypeString, value: "a", count: u32(0)}), "count 0"},
		{"epoch not int32", rpmBlob(name, version, rpmEntry{tag: rpmTagEpoch, typ: rpmTypeString, value: "1"}), "EPOCH) has type 6"},
		{"epoch past the data", rpmBlob(name, version, rpmEntry{tag: rpmTagEpoch, typ: rpmTypeInt32, value: int32(1), off: u32(0xfffffffe)}), "EPOCH) at offset 4294967294 is past"},
		{"negative epoch", rpmBlob(name, version, rpmEntry{tag: rpmTagEpoch, typ: rpmTypeInt32, value: int32(-1)}), "negative EPOCH -1"},
		{"no version", rpmBlob(name), "without NAME or VERSION"},
		{"empty name", rpmBlob(rpmEntry{tag: rpmTagName, typ: rpmTypeString, value: ""}, version), "without NAME or VERSION"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			_, err := parseRPMHeader(tc.blob)
			if err == nil || !strings.Contains(err.Error(), tc.want) {
				t.Errorf("error %v, want %q", err, tc.want)
			}
		})
	}
}

func TestRPMVersionAndSource(t *testing.T) {
	for _, tc := range []struct {
		h               rpmHeader
		evr, sname, svr string
	}{
		{rpmHeader{name: "bash", version: "5.1.8", release: "9.el9", sourceRPM: "bash-5.1.8-9.el9.src.rpm"}, "5.1.8-9.el9", "bash", "5.1.8-9.el9"},
		// Epoch 0 is written as no epoch, as OSV does.
		{rpmHeader{name: "a", version: "1", release: "2", hasEpoch: true}, "1-2", "", ""},
		{rpmHeader{name: "perl-libs", version: "5.32.1", release: "481.el9", epoch: 4, hasEpoch: true, sourceRPM: "perl-5.32.1-481.el9.src.rpm"}, "4:5.32.1-481.el9", "perl", "5.32.1-481.el9"},
		{rpmHeader{name: "x", version: "1", release: "1", sourceRPM: "x-y-z-1.0-1.fc40.nosrc.rpm"}, "1-1", "x-y-z", "1.0-1.fc40"},
		{rpmHeader{name: "x", version: "1", sourceRPM: "x-1.src.rpm"}, "1", "", ""},
		{rpmHeader{name: "x", version: "1", sourceRPM: "-1-2.src.rpm"}, "1", "", ""},
		{rpmHeader{name: "x", version: "1", sourceRPM: "x--2.src.rpm"}, "1", "", ""},
		{rpmHeader{name: "x", version: "1", sourceRPM: "x-1-.src.rpm"}, "1", "", ""},
		{rpmHeader{name: "x", version: "1", sourceRPM: "(none)"}, "1", "", ""},
	} {
		if got := tc.h.evr(); got != tc.evr {
			t.Errorf("%+v: evr %q, want %q", tc.h, got, tc.evr)
		}
		sn, svr, _ := tc.h.source()
		if sn != tc.sname || svr != tc.svr {
			t.Errorf("%s: source %q %q, want %q %q", tc.h.sourceRPM, sn, svr, tc.sname, tc.svr)
		}
	}
}

// TestRPMPackage: the source package is left empty when it is the
// package itself, and carries the binary's epoch otherwise.
func TestRPMPackage(t *testing.T) {
	rhel := distroOf(map[string]string{"ID": "rhel", "VERSION_ID": "9.4"})
	p := rpmPackage(rpmHeader{name: "perl-libs", version: "5.32.1", release: "481.el9", arch: "x86_64", epoch: 4, hasEpoch: true, sourceRPM: "perl-5.32.1-481.el9.src.rpm"}, "/db", rhel)
	want := Package{Name: "perl-libs", Version: "4:5.32.1-481.el9", Ecosystem: RedHat, Release: "9", SourceName: "perl", SourceVersion: "4:5.32.1-481.el9", Path: "/db",
		PURL: "pkg:rpm/redhat/perl-libs@5.32.1-481.el9?arch=x86_64&distro=rhel-9.4&epoch=4&upstream=perl-5.32.1-481.el9.src.rpm"}
	if p.Name != want.Name || p.Version != want.Version || p.Ecosystem != want.Ecosystem || p.Release != want.Release || p.SourceName != want.SourceName || p.SourceVersion != want.SourceVersion || p.PURL != want.PURL || p.Licenses != nil {
		t.Errorf("got %+v\nwant %+v", p, want)
	}
	// Without os-release: ecosystem RPM, no vendor, no release.
	p = rpmPackage(rpmHeader{name: "bash", version: "5.1.8", release: "9.el9", sourceRPM: "bash-5.1.8-9.el9.src.rpm", license: "GPLv3+"}, "/db", distro{})
	if p.Ecosystem != RPM || p.Release != "" || p.SourceName != "" || p.PURL != "pkg:rpm/bash@5.1.8-9.el9?upstream=bash-5.1.8-9.el9.src.rpm" || len(p.Licenses) != 1 {
		t.Errorf("no os-release: %+v", p)
	}
}
