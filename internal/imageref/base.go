package imageref

import "strings"

// Base is a Dockerfile's base image reference, read the way the checks
// and dockerfix classify a base.
type Base struct {
	Ref
	// Name is the last path component, Repo the last two.
	Name, Repo string
}

// ParseBase reads a FROM reference leniently: lower-cased, with the
// variables a build argument decides ($TAG, ${BASE}) kept as written in
// the parts that hold them, and with Docker Hub's registries and its
// library/ namespace (also public.ecr.aws/docker/library/) dropped, so
// that docker.io/library/ubuntu is ubuntu. ok is false for a reference
// that is not one even so.
func ParseBase(s string) (b Base, ok bool) {
	s = strings.ToLower(s)
	stand, subs := standIns(s)
	r, err := Parse(stand)
	if err != nil {
		return Base{}, false
	}
	// Each part is a run of the stand-in text, which maps back to s.
	orig := func(off int) int {
		d := 0
		for _, x := range subs {
			if x.end <= off {
				d += x.extra
			}
		}
		return off + d
	}
	at := 0
	for i, part := range []*string{&r.Domain, &r.Path, &r.Tag, &r.Digest} {
		if *part == "" {
			continue
		}
		if i > 0 && at > 0 {
			at++ // the separator: / : @
		}
		*part, at = s[orig(at):orig(at+len(*part))], at+len(*part)
	}
	switch r.Domain {
	case "docker.io", "index.docker.io", "registry-1.docker.io":
		r.Domain = ""
	}
	r.Path = strings.TrimPrefix(r.Path, "library/")
	if r.Domain == "public.ecr.aws" {
		r.Path = strings.TrimPrefix(r.Path, "docker/library/")
	}
	b.Ref = r
	parts := strings.Split(r.Path, "/")
	b.Name = parts[len(parts)-1]
	b.Repo = b.Name
	if len(parts) > 1 {
		b.Repo = parts[len(parts)-2] + "/" + b.Name
	}
	return b, true
}

// standIn is a variable replaced for parsing: it ends at end in the
// stand-in text, which is extra bytes shorter there.
type standIn struct{ end, extra int }

// nullDigest stands in for a digest that holds a variable.
var nullDigest = "sha256:" + strings.Repeat("0", 64)

// standIns replaces each variable of s ($NAME, ${...}) by x, which is
// valid in a registry, a path and a tag, and a digest that holds one by
// nullDigest, so that the parser reads the parts around them.
func standIns(s string) (string, []standIn) {
	var b strings.Builder
	var subs []standIn
	name, dgst, hasDigest := strings.Cut(s, "@")
	for i := 0; i < len(name); {
		if name[i] != '$' {
			b.WriteByte(name[i])
			i++
			continue
		}
		j := i + 1
		if strings.HasPrefix(name[j:], "{") {
			if k := strings.IndexByte(name[j:], '}'); k >= 0 {
				j += k + 1
			} else {
				j = len(name)
			}
		} else {
			for j < len(name) && (name[j] == '_' || name[j] >= 'a' && name[j] <= 'z' || name[j] >= '0' && name[j] <= '9') {
				j++
			}
		}
		b.WriteByte('x')
		subs = append(subs, standIn{end: b.Len(), extra: j - i - 1})
		i = j
	}
	if hasDigest {
		b.WriteByte('@')
		if strings.Contains(dgst, "$") {
			b.WriteString(nullDigest)
			subs = append(subs, standIn{end: b.Len(), extra: len(dgst) - len(nullDigest)})
		} else {
			b.WriteString(dgst)
		}
	}
	return b.String(), subs
}

// TagHas reports whether a dash-separated part of the tag is word (or,
// with prefix, starts with it): nonroot in debug-nonroot, alpine in
// 3.12-alpine3.20.
func (b Base) TagHas(word string, prefix bool) bool {
	for _, part := range strings.Split(b.Tag, "-") {
		if part == word || prefix && strings.HasPrefix(part, word) {
			return true
		}
	}
	return false
}

// Distroless reports whether the image is one of Google's distroless.
func (b Base) Distroless() bool {
	return strings.HasPrefix(b.Path, "distroless/") || strings.Contains(b.Path, "/distroless/")
}

// Chainguard reports whether the image is one of Chainguard's.
func (b Base) Chainguard() bool {
	return b.Domain == "cgr.dev" || strings.HasPrefix(b.Path, "chainguard/")
}
