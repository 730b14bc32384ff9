package config

import "testing"

// FuzzParse: any config text is either accepted or rejected with an error
// naming the file; it never panics.
func FuzzParse(f *testing.F) {
	f.Add([]byte("checks:\n  disable: [a]\n  severity: {a: high}\nparameters: {minUID: 1000}\nexemptions:\n- {kind: Pod, reason: r, expires: 2030-01-01}\n"))
	f.Add([]byte("exemptions: [{}]\n"))
	f.Add([]byte("parameters: {minUID: -1, maxUID: 5}\n"))
	f.Fuzz(func(t *testing.T, data []byte) {
		c, err := Parse("k.yaml", data, func(id string) bool { return id == "a" })
		if err == nil && c == nil {
			t.Fatal("nil config without error")
		}
		if err != nil && len(err.Error()) < len("k.yaml") {
			t.Fatalf("error does not name the file: %v", err)
		}
	})
}
