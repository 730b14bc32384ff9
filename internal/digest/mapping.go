package digest

import (
	"errors"
	"fmt"
	"strings"
)

// mapping is one line of a mapping file.
type mapping struct {
	ref    string // as written
	key    string // normalised, see key
	digest string
	line   int
}

// parseMapping reads a mapping file: one "REF@sha256:DIGEST" or
// "REF sha256:DIGEST" per line, blank lines and "#" comments ignored.
// Errors name file:line. A reference given twice with the same digest is
// fine (files are often concatenated); with different digests it is an
// error naming both lines, since either answer would be a guess.
func parseMapping(file string, data []byte) ([]mapping, error) {
	var out []mapping
	seen := map[string]int{} // key -> index in out
	text := strings.TrimPrefix(string(data), "\ufeff")
	for i, line := range strings.Split(text, "\n") {
		n := i + 1
		// "#" cannot occur in a reference or a digest, so it always starts
		// a comment, also after an entry.
		if j := strings.IndexByte(line, '#'); j >= 0 {
			line = line[:j]
		}
		fields := strings.Fields(line)
		var ref, dig string
		switch {
		case len(fields) == 0:
			continue
		case len(fields) == 1 && strings.Contains(fields[0], "@"):
			j := strings.LastIndexByte(fields[0], '@')
			ref, dig = fields[0][:j], fields[0][j+1:]
		case len(fields) == 2 && !strings.Contains(fields[0], "@"):
			ref, dig = fields[0], fields[1]
		default:
			return nil, fmt.Errorf("%s:%d: %q is not REF@sha256:DIGEST or REF DIGEST", file, n, strings.TrimSpace(line))
		}
		if !isDigest(dig) {
			return nil, fmt.Errorf("%s:%d: %q is not a digest (sha256: and 64 lowercase hex digits)", file, n, dig)
		}
		t, err := parseTagged(ref)
		if errors.Is(err, errNoTag) {
			return nil, fmt.Errorf("%s:%d: %w: write REF:TAG@sha256:DIGEST (crane digest --full-ref leaves the tag out)", file, n, err)
		}
		if err != nil {
			return nil, fmt.Errorf("%s:%d: %w", file, n, err)
		}
		m := mapping{ref: ref, key: key(t), digest: dig, line: n}
		if j, ok := seen[m.key]; ok {
			if prev := out[j]; prev.digest != m.digest {
				return nil, fmt.Errorf("%s:%d: %s is %s, but line %d says %s is %s", file, n, m.ref, m.digest, prev.line, prev.ref, prev.digest)
			}
		} else {
			seen[m.key] = len(out)
		}
		out = append(out, m)
	}
	return out, nil
}
