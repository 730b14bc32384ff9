package image

import (
	"archive/zip"
	"bytes"
	"debug/elf"
	"encoding/binary"
	"errors"
	"os"
	"testing"
)

// elfWithBuildInfo is a minimal 64-bit ELF whose writable segment holds
// a Go 1.18+ build information header.
func elfWithBuildInfo(version, mod string) []byte {
	const dataOff = 0x1000
	out := make([]byte, dataOff)
	copy(out, "\x7fELF")
	out[4], out[5], out[6] = 2, 1, 1
	le := binary.LittleEndian
	le.PutUint64(out[0x20:], 64) // phoff
	le.PutUint16(out[0x36:], 56) // phentsize
	le.PutUint16(out[0x38:], 2)  // phnum
	ph := out[64:]
	le.PutUint32(ph, 1)
	le.PutUint32(ph[4:], uint32(elf.PF_R|elf.PF_X))
	ph = out[64+56:]
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
	le.PutUint32(ph, 1)
	le.PutUint32(ph[4:], uint32(elf.PF_R|elf.PF_W))
	le.PutUint64(ph[8:], dataOff)
	le.PutUint64(ph[0x20:], uint64(data.Len()))
	return append(out, data.Bytes()...)
}

func TestReadGoBuildInfo(t *testing.T) {
	mod := "path\texample.com/x\nmod\texample.com/x\t(devel)\t\ndep\tgolang.org/x/text\tv0.14.0\th1:abc=\n"
	v, got, err := readGoBuildInfo(bytes.NewReader(elfWithBuildInfo("go1.21.3", mod)), int64(len(elfWithBuildInfo("go1.21.3", mod))))
	if err != nil || v != "go1.21.3" || string(got) != mod {
		t.Errorf("got %q %q %v", v, got, err)
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
