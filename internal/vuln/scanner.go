package vuln

import (
	"context"
	"errors"
	"fmt"
	"slices"
	"strings"
	"sync"

	"github.com/kubeharden/kubeharden/internal/image"
)

// Scanner finds the known vulnerabilities of images from the sources the
// user gave: an offline OSV database, other scanners' reports (each
// applied to the image of its digest only), and VEX documents that
// suppress. It is safe for concurrent use.
type Scanner struct {
	// DB, when set, is matched against each image's inventory.
	DB *DB
	// Reports are applied to the image whose digest they name.
	Reports []*Report
	// VEX documents suppress what their statements say.
	VEX []*VEX

	mu   sync.Mutex
	used map[*Report]bool
}

// Scan returns the vulnerabilities of img: the database's matches for
// its inventory and the matches of the reports made for its digest, the
// same vulnerability of the same package once, VEX suppressions set. An
// inventory error (a package database that could not be read) is
// returned with the matches of everything else.
func (s *Scanner) Scan(ctx context.Context, img *image.Image) ([]Match, error) {
	var out []Match
	var errs []error
	if s.DB != nil {
		pkgs, err := Inventory(ctx, img)
		if err != nil {
			if ctx.Err() != nil {
				return nil, ctx.Err()
			}
			errs = append(errs, err)
		}
		ms, err := MatchPackages(ctx, s.DB, pkgs)
		if err != nil {
			return nil, fmt.Errorf("matching %s: %w", img.Ref, err)
		}
		out = append(out, ms...)
	}
	for _, r := range s.Reports {
		if !r.For(img.Digest) {
			continue
		}
		s.mu.Lock()
		if s.used == nil {
			s.used = map[*Report]bool{}
		}
		s.used[r] = true
		s.mu.Unlock()
		out = append(out, r.Matches...)
	}
	out = dedupe(out)
	for i := range out {
		for _, v := range s.VEX {
			if sup := v.Suppression(&out[i], img.Digest, img.Ref); sup != nil {
				out[i].Suppression = sup
			}
		}
	}
	SortMatches(out)
	return out, errors.Join(errs...)
}

// Unused returns an error for each report no scanned image had the
// digest of (the report was made for another image, or another build of
// it): applying it would report another image's packages.
func (s *Scanner) Unused(scanned []*image.Image) []error {
	s.mu.Lock()
	defer s.mu.Unlock()
	var digests []string
	for _, img := range scanned {
		if img.Digest != "" {
			digests = append(digests, img.Digest)
		}
	}
	var errs []error
	for _, r := range s.Reports {
		if s.used[r] {
			continue
		}
		errs = append(errs, fmt.Errorf("vulnerability report %s is for %s, not for the image scanned (%s): refused, make the report from the same image digest",
			r.File, strings.Join(r.Digests, ", "), orNone(strings.Join(digests, ", "))))
	}
	return errs
}

func orNone(s string) string {
	if s == "" {
		return "no digest"
	}
	return s
}

// dedupe keeps one match per package (name, version, path) and
// vulnerability, two being the same when their IDs or aliases meet: the
// first wins, with the aliases of both and a fixed version if either
// has one.
func dedupe(ms []Match) []Match {
	var out []Match
	// Candidates are only the matches of the same package and version.
	byPackage := map[[2]string][]int{}
	for _, m := range ms {
		key := [2]string{m.Package.Name, m.Package.Version}
		dup := -1
		ids := m.IDs()
		for _, i := range byPackage[key] {
			o := &out[i]
			if samePath(o.Package.Path, m.Package.Path) && namesAny(o.IDs(), ids) {
				dup = i
				break
			}
		}
		if dup < 0 {
			byPackage[key] = append(byPackage[key], len(out))
			out = append(out, m)
			continue
		}
		o := &out[dup]
		for _, id := range ids {
			if id != o.ID && !slices.Contains(o.Aliases, id) {
				o.Aliases = append(o.Aliases, id)
			}
		}
		slices.Sort(o.Aliases)
		if o.Fixed == "" {
			o.Fixed = m.Fixed
		}
		if o.Package.Path == "" {
			o.Package.Path = m.Package.Path
		}
	}
	return out
}

// samePath: paths of one package as two sources write them. A report
// may not say where a package is found, write paths without the leading
// slash, or name a file of the package (dist-info/METADATA) or the JAR
// holding it rather than the inventory's directory or nested JAR.
func samePath(a, b string) bool {
	a, b = strings.TrimPrefix(a, "/"), strings.TrimPrefix(b, "/")
	if a == "" || b == "" || a == b {
		return true
	}
	if len(a) > len(b) {
		a, b = b, a
	}
	return strings.HasPrefix(b, a+"/") || strings.HasPrefix(b, a+"!/")
}
