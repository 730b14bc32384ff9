package vuln

import (
	"bytes"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"slices"
	"strings"

	"github.com/kubeharden/kubeharden/internal/check"
	"github.com/kubeharden/kubeharden/internal/limits"
)

// Report is another scanner's report of one image: Trivy JSON, Grype
// JSON, or CycloneDX with vulnerabilities, read into matches.
type Report struct {
	// File is where it was read from, Format "trivy", "grype" or
	// "cyclonedx".
	File, Format string
	// Digests are the digests the report names its image by (manifest,
	// repository digests, image ID): the image it may be applied to.
	Digests []string
	Matches []Match
}

// ReadReport reads a report file, bounded by the record size limit.
func ReadReport(file string, lim limits.Limits) (*Report, error) {
	data, err := readFileBounded(file, lim.VulnRecordSize, lim.VulnRecordSizeExceeded)
	if err != nil {
		return nil, fmt.Errorf("reading vulnerability report: %w", err)
	}
	r, err := ParseReport(data)
	if err != nil {
		return nil, fmt.Errorf("vulnerability report %s: %w", file, err)
	}
	r.File = file
	return r, nil
}

// ParseReport reads a report, recognizing its format by its fields.
func ParseReport(data []byte) (*Report, error) {
	var probe struct {
		SchemaVersion *int            `json:"SchemaVersion"`
		Results       json.RawMessage `json:"Results"`
		Matches       json.RawMessage `json:"matches"`
		BOMFormat     string          `json:"bomFormat"`
	}
	if err := json.Unmarshal(data, &probe); err != nil {
		return nil, fmt.Errorf("not a JSON report: %w", cleanJSONError(err))
	}
	var r *Report
	var err error
	switch {
	case probe.BOMFormat == "CycloneDX":
		r, err = parseCycloneDX(data)
	case probe.Matches != nil:
		r, err = parseGrype(data)
	case probe.SchemaVersion != nil || probe.Results != nil:
		r, err = parseTrivy(data)
	default:
		return nil, errors.New("not a Trivy, Grype or CycloneDX report")
	}
	if err != nil {
		return nil, err
	}
	if len(r.Digests) == 0 {
		return nil, fmt.Errorf("%s report names no image digest, so it cannot be bound to the image (make it from a digest reference)", r.Format)
	}
	SortMatches(r.Matches)
	return r, nil
}

// For reports whether the report is of the image of digest d.
func (r *Report) For(d string) bool { return d != "" && slices.Contains(r.Digests, d) }

// digestOf finds the sha256 digest in a reference, PURL or plain digest.
func digestOf(s string) string {
	s = strings.ReplaceAll(s, "%3A", ":")
	s = strings.ReplaceAll(s, "%3a", ":")
	i := strings.Index(s, "sha256:")
	if i < 0 {
		return ""
	}
	d := s[i:]
	if len(d) < len("sha256:")+64 {
		return ""
	}
	d = d[:len("sha256:")+64]
	for _, c := range d[len("sha256:"):] {
		if !strings.ContainsRune("0123456789abcdef", c) {
			return ""
		}
	}
	return d
}

func addDigest(ds []string, s string) []string {
	if d := digestOf(s); d != "" && !slices.Contains(ds, d) {
		ds = append(ds, d)
	}
	return ds
}

// ecosystemOf maps a scanner's package type, or a PURL's, to an
// ecosystem.
func ecosystemOf(typ, purl string) Ecosystem {
	if purl != "" {
		t, rest, _ := strings.Cut(strings.TrimPrefix(purl, "pkg:"), "/")
		ns, _, _ := strings.Cut(rest, "/")
		switch t {
		case "deb":
			if ns == "ubuntu" {
				return Ubuntu
			}
			return Debian
		case "apk":
			if ns == "wolfi" || ns == "chainguard" {
				return Wolfi
			}
			return Alpine
		case "rpm":
			switch ns {
			case "fedora":
				return Fedora
			case "rocky":
				return Rocky
			case "almalinux":
				return AlmaLinux
			}
			return RedHat
		case "golang":
			return Go
		case "pypi":
			return PyPI
		case "npm":
			return Npm
		case "maven":
			return Maven
		}
	}
	switch strings.ToLower(typ) {
	case "debian", "deb":
		return Debian
	case "ubuntu":
		return Ubuntu
	case "alpine", "apk":
		return Alpine
	case "wolfi", "chainguard":
		return Wolfi
	case "redhat", "rpm", "centos", "rocky", "alma":
		return RedHat
	case "gobinary", "gomod", "go-module", "golang":
		return Go
	case "pip", "pipenv", "poetry", "python-pkg", "python", "pypi":
		return PyPI
	case "npm", "node-pkg", "yarn", "pnpm":
		return Npm
	case "jar", "pom", "java-archive", "maven", "gradle":
		return Maven
	}
	return Ecosystem(typ)
}

// reportRating is the rating a report gives: a CVSS score when it has
// one, else its severity word.
func reportRating(word string, score float64) Rating {
	if score > 0 && score <= 10 {
		return Rating{Severity: scoreSeverity(score), Score: score, Known: true}
	}
	if sev, ok := severityWord(word); ok {
		return Rating{Severity: sev, Known: true}
	}
	return Rating{Severity: check.Medium}
}

func decodeStrict(data []byte, v any) error {
	dec := json.NewDecoder(bytes.NewReader(data))
	if err := dec.Decode(v); err != nil {
		return cleanJSONError(err)
	}
	if _, err := dec.Token(); !errors.Is(err, io.EOF) {
		return errors.New("data after the report")
	}
	return nil
}

// trivyReport is Trivy's JSON report (schema version 2), the fields read.
type trivyReport struct {
	SchemaVersion int    `json:"SchemaVersion"`
	ArtifactName  string `json:"ArtifactName"`
	Metadata      struct {
		ImageID     string   `json:"ImageID"`
		RepoDigests []string `json:"RepoDigests"`
	} `json:"Metadata"`
	Results []struct {
		Target          string `json:"Target"`
		Class           string `json:"Class"`
		Type            string `json:"Type"`
		Vulnerabilities []struct {
			VulnerabilityID  string   `json:"VulnerabilityID"`
			VendorIDs        []string `json:"VendorIDs"`
			PkgName          string   `json:"PkgName"`
			PkgPath          string   `json:"PkgPath"`
			InstalledVersion string   `json:"InstalledVersion"`
			FixedVersion     string   `json:"FixedVersion"`
			Severity         string   `json:"Severity"`
			Title            string   `json:"Title"`
			PkgIdentifier    struct {
				PURL string `json:"PURL"`
			} `json:"PkgIdentifier"`
			SeveritySource string `json:"SeveritySource"`
			CVSS           map[string]struct {
				V3Score float64 `json:"V3Score"`
			} `json:"CVSS"`
		} `json:"Vulnerabilities"`
	} `json:"Results"`
}

func parseTrivy(data []byte) (*Report, error) {
	var t trivyReport
	if err := decodeStrict(data, &t); err != nil {
		return nil, fmt.Errorf("not a Trivy report: %w", err)
	}
	r := &Report{Format: "trivy"}
	r.Digests = addDigest(r.Digests, t.Metadata.ImageID)
	for _, d := range t.Metadata.RepoDigests {
		r.Digests = addDigest(r.Digests, d)
	}
	r.Digests = addDigest(r.Digests, t.ArtifactName)
	for _, res := range t.Results {
		for _, v := range res.Vulnerabilities {
			if v.VulnerabilityID == "" || v.PkgName == "" {
				continue
			}
			score := 0.0
			if c, ok := trivyScore(v.CVSS, v.SeveritySource); ok {
				score = c
			}
			aliases := slices.DeleteFunc(slices.Clone(v.VendorIDs), func(s string) bool { return s == v.VulnerabilityID })
			slices.Sort(aliases)
			p := Package{Name: v.PkgName, Version: v.InstalledVersion, Ecosystem: ecosystemOf(res.Type, v.PkgIdentifier.PURL), PURL: v.PkgIdentifier.PURL, Path: v.PkgPath}
			if p.Path == "" && res.Class == "lang-pkgs" && res.Type == "gobinary" {
				// Trivy names a Go binary's modules by the binary, the
				// result's target.
				p.Path = res.Target
			}
			if p.Path != "" && !strings.HasPrefix(p.Path, "/") {
				p.Path = "/" + p.Path
			}
			r.Matches = append(r.Matches, Match{
				ID: v.VulnerabilityID, Aliases: aliases, Summary: v.Title,
				Rating: reportRating(v.Severity, score), Package: p, Installed: v.InstalledVersion,
				Fixed: firstVersion(v.FixedVersion),
			})
		}
	}
	return r, nil
}

// trivyScore picks the V3 score of the severity source, or of NVD.
func trivyScore(cvss map[string]struct {
	V3Score float64 `json:"V3Score"`
}, source string) (float64, bool) {
	for _, s := range []string{source, "nvd"} {
		if c, ok := cvss[s]; ok && c.V3Score > 0 {
			return c.V3Score, true
		}
	}
	return 0, false
}

// firstVersion is the first of a comma-separated list of fixed versions
// (Trivy lists one per branch).
func firstVersion(s string) string {
	v, _, _ := strings.Cut(s, ",")
	return strings.TrimSpace(v)
}

// grypeReport is Grype's JSON report, the fields read.
type grypeReport struct {
	Matches []struct {
		Vulnerability struct {
			ID          string `json:"id"`
			Severity    string `json:"severity"`
			Description string `json:"description"`
			Fix         struct {
				Versions []string `json:"versions"`
				State    string   `json:"state"`
			} `json:"fix"`
			CVSS []struct {
				Metrics struct {
					BaseScore float64 `json:"baseScore"`
				} `json:"metrics"`
			} `json:"cvss"`
		} `json:"vulnerability"`
		RelatedVulnerabilities []struct {
			ID string `json:"id"`
		} `json:"relatedVulnerabilities"`
		Artifact struct {
			Name      string `json:"name"`
			Version   string `json:"version"`
			Type      string `json:"type"`
			PURL      string `json:"purl"`
			Locations []struct {
				Path string `json:"path"`
			} `json:"locations"`
			Upstreams []struct {
				Name    string `json:"name"`
				Version string `json:"version"`
			} `json:"upstreams"`
		} `json:"artifact"`
	} `json:"matches"`
	Source struct {
		Type   string          `json:"type"`
		Target json.RawMessage `json:"target"`
	} `json:"source"`
}

func parseGrype(data []byte) (*Report, error) {
	var g grypeReport
	if err := decodeStrict(data, &g); err != nil {
		return nil, fmt.Errorf("not a Grype report: %w", err)
	}
	r := &Report{Format: "grype"}
	var target struct {
		UserInput      string   `json:"userInput"`
		ImageID        string   `json:"imageID"`
		ManifestDigest string   `json:"manifestDigest"`
		RepoDigests    []string `json:"repoDigests"`
	}
	if len(g.Source.Target) > 0 && g.Source.Target[0] == '{' {
		if err := json.Unmarshal(g.Source.Target, &target); err != nil {
			return nil, fmt.Errorf("not a Grype report: source.target: %w", cleanJSONError(err))
		}
	}
	for _, s := range append([]string{target.ManifestDigest, target.ImageID, target.UserInput}, target.RepoDigests...) {
		r.Digests = addDigest(r.Digests, s)
	}
	for _, m := range g.Matches {
		v, a := m.Vulnerability, m.Artifact
		if v.ID == "" || a.Name == "" {
			continue
		}
		var aliases []string
		for _, rv := range m.RelatedVulnerabilities {
			if rv.ID != v.ID && !slices.Contains(aliases, rv.ID) {
				aliases = append(aliases, rv.ID)
			}
		}
		slices.Sort(aliases)
		score := 0.0
		for _, c := range v.CVSS {
			score = max(score, c.Metrics.BaseScore)
		}
		p := Package{Name: a.Name, Version: a.Version, Ecosystem: ecosystemOf(a.Type, a.PURL), PURL: a.PURL}
		if len(a.Locations) > 0 {
			p.Path = a.Locations[0].Path
		}
		if len(a.Upstreams) > 0 {
			p.SourceName, p.SourceVersion = a.Upstreams[0].Name, a.Upstreams[0].Version
		}
		fixed := ""
		if len(v.Fix.Versions) > 0 {
			fixed = v.Fix.Versions[0]
		}
		r.Matches = append(r.Matches, Match{
			ID: v.ID, Aliases: aliases, Summary: v.Description, Rating: reportRating(v.Severity, score),
			Package: p, Installed: a.Version, Fixed: fixed,
		})
	}
	return r, nil
}

// cdxReport is a CycloneDX JSON BOM with vulnerabilities, the fields read.
type cdxReport struct {
	Metadata struct {
		Component *cdxReportComponent `json:"component"`
	} `json:"metadata"`
	Components      []cdxReportComponent `json:"components"`
	Vulnerabilities []struct {
		ID         string `json:"id"`
		References []struct {
			ID string `json:"id"`
		} `json:"references"`
		Ratings []struct {
			Score    float64 `json:"score"`
			Severity string  `json:"severity"`
		} `json:"ratings"`
		Description    string `json:"description"`
		Recommendation string `json:"recommendation"`
		Affects        []struct {
			Ref string `json:"ref"`
		} `json:"affects"`
		Analysis struct {
			State string `json:"state"`
		} `json:"analysis"`
	} `json:"vulnerabilities"`
}

type cdxReportComponent struct {
	BOMRef     string               `json:"bom-ref"`
	Type       string               `json:"type"`
	Name       string               `json:"name"`
	Group      string               `json:"group"`
	Version    string               `json:"version"`
	PURL       string               `json:"purl"`
	Properties []cdxReportProperty  `json:"properties"`
	Components []cdxReportComponent `json:"components"`
}

type cdxReportProperty struct {
	Name  string `json:"name"`
	Value string `json:"value"`
}

func parseCycloneDX(data []byte) (*Report, error) {
	var b cdxReport
	if err := decodeStrict(data, &b); err != nil {
		return nil, fmt.Errorf("not a CycloneDX BOM: %w", err)
	}
	r := &Report{Format: "cyclonedx"}
	if c := b.Metadata.Component; c != nil {
		for _, s := range []string{c.Version, c.PURL, c.BOMRef} {
			r.Digests = addDigest(r.Digests, s)
		}
		for _, p := range c.Properties {
			r.Digests = addDigest(r.Digests, p.Value)
		}
	}
	comps := map[string]*cdxReportComponent{}
	var walk func(cs []cdxReportComponent, depth int)
	walk = func(cs []cdxReportComponent, depth int) {
		if depth > 32 {
			return
		}
		for i := range cs {
			c := &cs[i]
			if c.BOMRef != "" {
				comps[c.BOMRef] = c
			}
			walk(c.Components, depth+1)
		}
	}
	walk(b.Components, 0)
	for _, v := range b.Vulnerabilities {
		if v.ID == "" || v.Analysis.State == "false_positive" || v.Analysis.State == "not_affected" || v.Analysis.State == "resolved" {
			continue
		}
		var aliases []string
		for _, ref := range v.References {
			if ref.ID != "" && ref.ID != v.ID && !slices.Contains(aliases, ref.ID) {
				aliases = append(aliases, ref.ID)
			}
		}
		slices.Sort(aliases)
		score, word := 0.0, ""
		for _, rt := range v.Ratings {
			score = max(score, rt.Score)
			if word == "" {
				word = rt.Severity
			}
		}
		for _, a := range v.Affects {
			c := comps[a.Ref]
			if c == nil {
				continue
			}
			name := c.Name
			if c.Group != "" {
				name = c.Group + ":" + c.Name
			}
			p := Package{Name: name, Version: c.Version, Ecosystem: ecosystemOf(c.Type, c.PURL), PURL: c.PURL}
			for _, pr := range c.Properties {
				if strings.HasSuffix(pr.Name, ":PkgPath") || pr.Name == "syft:location:0:path" {
					p.Path = pr.Value
				}
			}
			r.Matches = append(r.Matches, Match{
				ID: v.ID, Aliases: aliases, Summary: v.Description, Rating: reportRating(word, score),
				Package: p, Installed: c.Version, Fixed: fixedFromRecommendation(v.Recommendation),
			})
		}
	}
	return r, nil
}

// fixedFromRecommendation reads "Upgrade libssl3 to version
// 3.0.13-1~deb12u1", the recommendation Trivy writes; "" otherwise.
func fixedFromRecommendation(s string) string {
	i := strings.LastIndex(s, " to ")
	if !strings.HasPrefix(s, "Upgrade ") || i < 0 {
		return ""
	}
	return firstVersion(strings.TrimPrefix(strings.TrimSuffix(s[i+4:], "."), "version "))
}
