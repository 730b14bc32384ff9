package jsonenc

import (
	"bytes"
	"encoding/json"
	"testing"
)

func reference(t *testing.T, s string) []byte {
	var buf bytes.Buffer
	enc := json.NewEncoder(&buf)
	enc.SetEscapeHTML(false)
	if err := enc.Encode(s); err != nil {
		t.Fatal(err)
	}
	return bytes.TrimSuffix(buf.Bytes(), []byte("\n"))
}

// FuzzAppendString holds AppendString to encoding/json byte for byte.
func FuzzAppendString(f *testing.F) {
	for _, s := range []string{"", "plain", `q " b \`, "\x00\x01\x1f\x7f\b\f\n\r\t", "<&>", "bad \xff\xfe", "\u2028\u2029", "é🚀", "\xe2\x80"} {
		f.Add(s)
	}
	f.Fuzz(func(t *testing.T, s string) {
		if got, want := AppendString(nil, s), reference(t, s); !bytes.Equal(got, want) {
			t.Fatalf("AppendString(%q) = %s, want %s", s, got, want)
		}
	})
}
