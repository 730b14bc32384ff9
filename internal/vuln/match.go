package vuln

import (
	"context"
	"slices"
	"sort"
	"strings"

	"github.com/kubeharden/kubeharden/internal/check"
)

// Match is one known vulnerability of one installed package.
type Match struct {
	// ID is the record's ID (DSA-5678-1, GHSA-..., CVE-...), Aliases its
	// other IDs (the CVE of a distribution advisory).
	ID      string
	Aliases []string
	Summary string
	Rating  Rating
	Package Package
	// Installed is the version compared: the source package's version
	// when the advisory names the source package.
	Installed string
	// Fixed is the first version that fixes it, "" when none does yet.
	Fixed string
	// Suppression says why the match does not count (an ignore entry of
	// the config, a VEX statement); nil when it counts.
	Suppression *check.Suppression
}

// IDs are the ID and the aliases.
func (m *Match) IDs() []string { return append([]string{m.ID}, m.Aliases...) }

// MatchPackages matches an inventory against db: for each package, the
// records naming it (or, for OS packages, its source package) in its
// ecosystem and release, compared with the ecosystem's version rules.
// Packages of ecosystems without version rules, and versions that do not
// parse, match nothing. Matches are sorted by package, then ID.
func MatchPackages(ctx context.Context, db *DB, pkgs []Package) ([]Match, error) {
	keys := map[indexKey]bool{}
	for _, p := range pkgs {
		for _, k := range packageKeys(&p) {
			keys[k.indexKey] = true
		}
	}
	recs, err := db.lookup(ctx, keys)
	if err != nil {
		return nil, err
	}
	var out []Match
	for i := range pkgs {
		p := &pkgs[i]
		seen := map[string]bool{}
		for _, k := range packageKeys(p) {
			for _, rec := range recs[k.indexKey] {
				if seen[rec.ID] {
					continue
				}
				if m, ok := matchRecord(rec, p, k); ok {
					seen[rec.ID] = true
					out = append(out, m)
				}
			}
		}
	}
	SortMatches(out)
	return out, nil
}

// SortMatches orders matches by package path, name, version, then ID.
func SortMatches(ms []Match) {
	sort.SliceStable(ms, func(i, j int) bool {
		a, b := &ms[i], &ms[j]
		if a.Package.Path != b.Package.Path {
			return a.Package.Path < b.Package.Path
		}
		if a.Package.Name != b.Package.Name {
			return a.Package.Name < b.Package.Name
		}
		if a.Package.Version != b.Package.Version {
			return a.Package.Version < b.Package.Version
		}
		return a.ID < b.ID
	})
}

type packageKey struct {
	indexKey
	version string
}

// packageKeys are the names a package is known by in advisories: its
// own, and for OS packages its source package at the source version,
// which is what Debian, Ubuntu and Alpine advisories name (a binNMU's
// binary version, 3.0.11-1~deb12u2+b1, is not what a fix is stated in).
func packageKeys(p *Package) []packageKey {
	eco := p.OSVEcosystem()
	if p.SourceName == "" {
		return []packageKey{{indexKey{eco, normalizeName(eco, p.Name)}, p.Version}}
	}
	srcV := p.SourceVersion
	if srcV == "" {
		srcV = p.Version
	}
	src := packageKey{indexKey{eco, normalizeName(eco, p.SourceName)}, srcV}
	if p.SourceName == p.Name {
		return []packageKey{src}
	}
	return []packageKey{{indexKey{eco, normalizeName(eco, p.Name)}, p.Version}, src}
}

func matchRecord(rec *Record, p *Package, k packageKey) (Match, bool) {
	if rec.Withdrawn != nil {
		return Match{}, false
	}
	parse, err := parserOf(k.ecosystem)
	if err != nil {
		return Match{}, false
	}
	installed, err := parse(k.version)
	if err != nil {
		return Match{}, false
	}
	for i := range rec.Affected {
		a := &rec.Affected[i]
		if a.Package.Ecosystem != k.ecosystem || normalizeName(a.Package.Ecosystem, a.Package.Name) != k.name {
			continue
		}
		hit, fixed := affects(a, parse, installed, k.version)
		if !hit {
			continue
		}
		aliases := slices.Clone(rec.Aliases)
		for _, u := range rec.Upstream {
			if !slices.Contains(aliases, u) && u != rec.ID {
				aliases = append(aliases, u)
			}
		}
		slices.Sort(aliases)
		return Match{
			ID: rec.ID, Aliases: aliases, Summary: rec.Summary, Rating: rate(rec, a),
			Package: *p, Installed: k.version, Fixed: fixed,
		}, true
	}
	return Match{}, false
}

// affects reports whether installed is in the affected versions of a, and
// the version that fixes it.
func affects(a *Affected, parse parser, installed version, raw string) (bool, string) {
	listed := false
	for _, v := range a.Versions {
		if v == raw {
			listed = true
			break
		}
		if pv, err := parse(v); err == nil && pv.compare(installed) == 0 {
			listed = true
			break
		}
	}
	hit, fixed := listed, ""
	for _, r := range a.Ranges {
		var rp parser
		iv := installed
		switch r.Type {
		case "ECOSYSTEM":
			rp = parse
		case "SEMVER":
			rp = parseSemver
			var err error
			if iv, err = parseSemver(raw); err != nil {
				continue
			}
		default:
			continue
		}
		in, fix, ok := inRange(r.Events, rp, iv)
		if !ok || !in {
			continue
		}
		if !hit || fixed == "" {
			fixed = fix
		}
		hit = true
	}
	return hit, fixed
}

type event struct {
	kind int
	zero bool
	v    version
	raw  string
}

const (
	introduced = iota
	fixedEvent
	lastAffected
	limitEvent
)

// inRange evaluates a range as the OSV schema defines it: events sorted
// by version, the installed version affected from an introduced event
// until a fixed event (exclusive) or past a last_affected one. fix is the
// first fixed version above the installed one. ok is false when an event
// does not parse: the range is then not used at all, since skipping one
// event would change what the others mean.
func inRange(events []Event, parse parser, iv version) (in bool, fix string, ok bool) {
	evs := make([]event, 0, len(events))
	for _, e := range events {
		var ev event
		switch {
		case e.Introduced != "":
			ev = event{kind: introduced, raw: e.Introduced, zero: e.Introduced == "0"}
		case e.Fixed != "":
			ev = event{kind: fixedEvent, raw: e.Fixed}
		case e.LastAffected != "":
			ev = event{kind: lastAffected, raw: e.LastAffected}
		case e.Limit != "":
			ev = event{kind: limitEvent, raw: e.Limit, zero: e.Limit == "*"}
		default:
			continue
		}
		if !ev.zero {
			v, err := parse(strings.TrimSpace(ev.raw))
			if err != nil {
				return false, "", false
			}
			ev.v = v
		}
		evs = append(evs, ev)
	}
	sort.SliceStable(evs, func(i, j int) bool {
		a, b := evs[i], evs[j]
		if a.zero || b.zero {
			return a.zero && !b.zero && a.kind == introduced
		}
		return a.v.compare(b.v) < 0
	})
	for _, e := range evs {
		switch e.kind {
		case introduced:
			if e.zero || iv.compare(e.v) >= 0 {
				in = true
			}
		case fixedEvent:
			if iv.compare(e.v) >= 0 {
				in = false
			}
		case lastAffected:
			if iv.compare(e.v) > 0 {
				in = false
			}
		case limitEvent:
			if !e.zero && iv.compare(e.v) >= 0 {
				in = false
			}
		}
	}
	if !in {
		return false, "", true
	}
	for _, e := range evs {
		if e.kind == fixedEvent && iv.compare(e.v) < 0 {
			return true, e.raw, true
		}
	}
	return true, "", true
}
