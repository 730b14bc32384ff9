package image

import (
	"archive/tar"
	"archive/zip"
	"bytes"
	"debug/elf"
	"encoding/binary"
	"errors"
	"os"
	"strings"
	"testing"
)

// elfWithBuildInfo is a minimal 64-bit little-endian ELF whose writable
// segment holds a Go 1.18+ build information header.
func elfWithBuildInfo(version, mod string) []byte {
	return elfFile(2, binary.LittleEndian, version, mod)
}

// elfFile is a minimal ELF of class (1: 32-bit, 2: 64-bit) and byte
// order: an executable segment, then a writable one holding a Go 1.18+
// build information header.
func elfFile(class byte, bo binary.ByteOrder, version, mod string) []byte {
	const dataOff = 0x1000
	out := make([]byte, dataOff)
	copy(out, "\x7fELF")
	out[4], out[5], out[6] = class, 1, 1
	if bo == binary.BigEndian {
		out[5] = 2
	}
	var data bytes.Buffer
	data.WriteString("\xff Go buildinf:")
	data.Write([]byte{8, 2})
	data.Write(make([]byte, 16))
	data.Write(binary.AppendUvarint(nil, uint64(len(version))))
	data.WriteString(version)
	sentinel := "0123456789abcdef"
	full := sentinel + mod + sentinel
	data.Write(binary.AppendUvarint(nil, uint64(len(full))))
	data.WriteString(full)
	type seg struct {
		flags     elf.ProgFlag
		off, size uint64
	}
	segs := []seg{{elf.PF_R | elf.PF_X, 0, dataOff}, {elf.PF_R | elf.PF_W, dataOff, uint64(data.Len())}}
	if class == 2 {
		bo.PutUint64(out[0x20:], 64) // phoff
		bo.PutUint16(out[0x36:], 56) // phentsize
		bo.PutUint16(out[0x38:], uint16(len(segs)))
		for i, s := range segs {
			ph := out[64+56*i:]
			bo.PutUint32(ph, uint32(elf.PT_LOAD))
			bo.PutUint32(ph[4:], uint32(s.flags))
			bo.PutUint64(ph[8:], s.off)
			bo.PutUint64(ph[0x20:], s.size)
		}
	} else {
		bo.PutUint32(out[0x1c:], 52) // phoff
		bo.PutUint16(out[0x2a:], 32) // phentsize
		bo.PutUint16(out[0x2c:], uint16(len(segs)))
		for i, s := range segs {
			ph := out[52+32*i:]
			bo.PutUint32(ph, uint32(elf.PT_LOAD))
			bo.PutUint32(ph[4:], uint32(s.off))
			bo.PutUint32(ph[16:], uint32(s.size))
			bo.PutUint32(ph[24:], uint32(s.flags))
		}
	}
	return append(out, data.Bytes()...)
}

func TestReadGoBuildInfo(t *testing.T) {
	mod := "path\texample.com/x\nmod\texample.com/x\t(devel)\t\ndep\tgolang.org/x/text\tv0.14.0\th1:abc=\n"
	v, got, err := readGoBuildInfo(bytes.NewReader(elfWithBuildInfo("go1.21.3", mod)), int64(len(elfWithBuildInfo("go1.21.3", mod))))
	if err != nil || v != "go1.21.3" || string(got) != mod {
		t.Errorf("got %q %q %v", v, got, err)
	}
	for _, layout := range []struct {
		class byte
		bo    binary.ByteOrder
	}{{1, binary.LittleEndian}, {1, binary.BigEndian}, {2, binary.BigEndian}} {
		data := elfFile(layout.class, layout.bo, "go1.22.0", mod)
		v, got, err := readGoBuildInfo(bytes.NewReader(data), int64(len(data)))
		if err != nil || v != "go1.22.0" || string(got) != mod {
			t.Errorf("class %d %v: %q %q %v", layout.class, layout.bo, v, got, err)
		}
	}
	// The toolchain of this test is a real Go 1.18+ ELF executable.
	if exe, err := os.Executable(); err == nil {
		if data, err := os.ReadFile(exe); err == nil && bytes.HasPrefix(data, []byte("\x7fELF")) {
			v, mod, err := readGoBuildInfo(bytes.NewReader(data), int64(len(data)))
			if err != nil || v == "" || !bytes.Contains(mod, []byte("path\t")) {
				t.Errorf("test binary: %q %q %v", v, mod, err)
			}
		}
	}
	for name, data := range map[string][]byte{
		"script":    []byte("#!/bin/sh\n\xff Go buildinf:\x08\x02"),
		"truncated": elfWithBuildInfo("go1.21.3", mod)[:0x1000+20],
		"not go":    elfWithBuildInfo("gcc", mod),
	} {
		if _, _, err := readGoBuildInfo(bytes.NewReader(data), int64(len(data))); !errors.Is(err, errNotGo) {
			t.Errorf("%s: %v, want errNotGo", name, err)
		}
	}
}

// TestGoBuildInfoTooLarge: module information past its bound is an
// error of that file, and the image is still read.
func TestGoBuildInfoTooLarge(t *testing.T) {
	data := elfWithBuildInfo("go1.22.0", "path\tx\n")
	// Claim a module information string far past maxModInfo.
	i := bytes.Index(data, []byte("go1.22.0")) + len("go1.22.0")
	huge := binary.AppendUvarint(nil, maxModInfo+1)
	data = append(append(append([]byte{}, data[:i]...), huge...), make([]byte, 64)...)
	var buf bytes.Buffer
	tw := tar.NewWriter(&buf)
	_ = tw.WriteHeader(&tar.Header{Name: "app", Typeflag: tar.TypeReg, Mode: 0o755, Size: int64(len(data))})
	_, _ = tw.Write(data)
	_ = tw.WriteHeader(&tar.Header{Name: "lib/apk/db/installed", Typeflag: tar.TypeReg, Mode: 0o644, Size: 8})
	_, _ = tw.Write([]byte("P:a\nV:1\n"))
	_ = tw.Close()
	img, err := FlattenTar(buf.Bytes())
	if err != nil {
		t.Fatal(err)
	}
	errs := img.PackageFileErrors()
	if len(errs) != 1 || !strings.Contains(errs[0].Error(), "/app: go build information: a string of 4194305 bytes") {
		t.Errorf("errors %v", errs)
	}
	if files := img.PackageFiles(); len(files) != 1 || files[0].Path != "/lib/apk/db/installed" {
		t.Errorf("files %+v", files)
	}
}

func FuzzGoBuildInfo(f *testing.F) {
	f.Add(elfWithBuildInfo("go1.22.1", "path\tx\n"))
	f.Add([]byte("\x7fELF\x01\x02\x01"))
	f.Fuzz(func(t *testing.T, data []byte) {
		_, mod, err := readGoBuildInfo(bytes.NewReader(data), int64(len(data)))
		if err == nil && len(mod) > len(data) {
			t.Fatalf("module information longer than the file")
		}
	})
}

func FuzzJAR(f *testing.F) {
	var buf bytes.Buffer
	zw := zip.NewWriter(&buf)
	w, _ := zw.Create("META-INF/maven/g/a/pom.properties")
	_, _ = w.Write([]byte("groupId=g\n"))
	w, _ = zw.Create("lib/in.jar")
	_, _ = w.Write([]byte("PK\x05\x06" + string(make([]byte, 18))))
	_ = zw.Close()
	f.Add(buf.Bytes())
	f.Fuzz(func(t *testing.T, data []byte) {
		var out []PackageFile
		_ = readJAR(data, "/a.jar", "", 1, &out)
		for _, p := range out {
			if p.Kind != MavenPomProperties || len(p.Data) > maxPomProperties {
				t.Fatalf("bad member %+v", p)
			}
		}
	})
}
