package vuln_test

import (
	"context"
	"encoding/json"
	"os"
	"path/filepath"
	"slices"
	"sort"
	"strings"
	"testing"

	"github.com/kubeharden/kubeharden/internal/image"
	. "github.com/kubeharden/kubeharden/internal/image/imagetest"
	"github.com/kubeharden/kubeharden/internal/limits"
	"github.com/kubeharden/kubeharden/internal/vuln"
)

// reportVuln is one vulnerability as another scanner reports it of the
// Debian test image, with the data of e2eDB.
type reportVuln struct {
	cve, vendorID, pkg, version, fixed, typ, class, purl, path, severity string
	score                                                                float64
}

var reportVulns = []reportVuln{
	{"CVE-2024-0727", "DSA-5678-1", "openssl", "3.0.11-1~deb12u2+b1", "3.0.13-1~deb12u1", "debian", "os-pkgs", "pkg:deb/debian/openssl@3.0.11-1~deb12u2%2Bb1?arch=amd64&distro=debian-12", "", "MEDIUM", 5.5},
	{"CVE-2022-0563", "", "bsdutils", "1:2.38.1-5+deb12u1", "2.38.1-5+deb12u1", "debian", "os-pkgs", "pkg:deb/debian/bsdutils@2.38.1-5%2Bdeb12u1?arch=amd64&epoch=1&distro=debian-12", "", "LOW", 0},
	{"CVE-2023-45853", "", "zlib1g", "1:1.2.13.dfsg-1", "", "debian", "os-pkgs", "pkg:deb/debian/zlib1g@1.2.13.dfsg-1?arch=amd64&epoch=1&distro=debian-12", "", "LOW", 0},
	{"CVE-2024-35195", "GHSA-9wx4-h78v-vm56", "requests", "2.31.0", "2.32.0", "python-pkg", "lang-pkgs", "pkg:pypi/requests@2.31.0", "usr/lib/python3/dist-packages/requests-2.31.0.dist-info/METADATA", "MEDIUM", 5.6},
	{"CVE-2024-22195", "GHSA-h5c8-rqwp-cp95", "Jinja2", "3.1.3rc1", "3.1.3", "python-pkg", "lang-pkgs", "pkg:pypi/jinja2@3.1.3rc1", "usr/local/lib/python3.12/site-packages/Jinja2-3.1.3rc1.dist-info/METADATA", "MEDIUM", 5.4},
	{"CVE-2099-0001", "GO-2099-0001", "github.com/spf13/pflag", "v1.0.10", "1.0.11", "gobinary", "lang-pkgs", "pkg:golang/github.com/spf13/pflag@v1.0.10", "usr/local/bin/hello", "UNKNOWN", 0},
	{"CVE-2021-23337", "GHSA-35jh-r3h4-6jhm", "lodash", "4.17.20", "4.17.21", "node-pkg", "lang-pkgs", "pkg:npm/lodash@4.17.20", "app/node_modules/lodash/package.json", "HIGH", 7.2},
	{"CVE-2021-44228", "GHSA-jfh8-c2jp-5v3q", "org.apache.logging.log4j:log4j-core", "2.14.1", "2.15.0", "jar", "lang-pkgs", "pkg:maven/org.apache.logging.log4j/log4j-core@2.14.1", "app/app.jar", "CRITICAL", 10},
}

// trivyJSON writes a report in Trivy's JSON format (schema version 2) of
// the image of manifest digest digest and config digest imageID.
func trivyJSON(t *testing.T, name, digest, imageID string) []byte {
	results := map[string]map[string]any{}
	var order []string
	for _, v := range reportVulns {
		key := v.class + "/" + v.typ
		if results[key] == nil {
			target := name + " (debian 12.5)"
			if v.class == "lang-pkgs" {
				target = v.path
			}
			results[key] = map[string]any{"Target": target, "Class": v.class, "Type": v.typ, "Vulnerabilities": []any{}}
			order = append(order, key)
		}
		entry := map[string]any{
			"VulnerabilityID": v.cve, "PkgID": v.pkg + "@" + v.version, "PkgName": v.pkg,
			"PkgIdentifier":    map[string]any{"PURL": v.purl, "UID": "f1e2d3c4b5a69788"},
			"InstalledVersion": v.version, "FixedVersion": v.fixed, "Status": "fixed",
			"Layer":          map[string]any{"Digest": "sha256:" + strings.Repeat("1", 64), "DiffID": "sha256:" + strings.Repeat("2", 64)},
			"SeveritySource": "nvd", "PrimaryURL": "https://avd.aquasec.com/nvd/" + strings.ToLower(v.cve),
			"DataSource": map[string]any{"ID": "debian", "Name": "Debian Security Tracker", "URL": "https://salsa.debian.org/security-tracker-team/security-tracker"},
			"Title":      "a vulnerability", "Description": "...", "Severity": v.severity,
			"VendorSeverity": map[string]any{"nvd": 2},
			"References":     []string{"https://www.cve.org/CVERecord?id=" + v.cve},
			"PublishedDate":  "2024-01-26T09:15:07.837Z", "LastModifiedDate": "2024-06-10T17:16:15.963Z",
		}
		if v.fixed == "" {
			entry["Status"] = "affected"
		}
		if v.vendorID != "" {
			entry["VendorIDs"] = []string{v.vendorID}
		}
		if v.path != "" {
			entry["PkgPath"] = v.path
		}
		if v.score > 0 {
			entry["CVSS"] = map[string]any{"nvd": map[string]any{"V3Vector": "CVSS:3.1/AV:N/AC:L/PR:N/UI:N/S:U/C:H/I:H/A:H", "V3Score": v.score}}
		}
		results[key]["Vulnerabilities"] = append(results[key]["Vulnerabilities"].([]any), entry)
	}
	var res []any
	for _, k := range order {
		res = append(res, results[k])
	}
	doc := map[string]any{
		"SchemaVersion": 2, "CreatedAt": "2025-01-01T00:00:00Z", "ArtifactName": name, "ArtifactType": "container_image",
		"Metadata": map[string]any{
			"Size": 123456, "OS": map[string]any{"Family": "debian", "Name": "12.5"},
			"ImageID": imageID, "DiffIDs": []string{"sha256:" + strings.Repeat("2", 64)},
			"RepoTags": []string{name + ":latest"}, "RepoDigests": []string{name + "@" + digest},
			"ImageConfig": map[string]any{"architecture": "amd64", "os": "linux"},
		},
		"Results": res,
	}
	data, err := json.MarshalIndent(doc, "", "  ")
	if err != nil {
		t.Fatal(err)
	}
	return data
}

// grypeJSON writes a report in Grype's JSON format.
func grypeJSON(t *testing.T, name, digest, imageID string) []byte {
	gtype := map[string]string{"debian": "deb", "python-pkg": "python", "gobinary": "go-module", "node-pkg": "npm", "jar": "java-archive"}
	var matches []any
	for _, v := range reportVulns {
		// Grype reports a distribution's CVE by its CVE, a GitHub
		// advisory by its GHSA with the CVE related.
		id, related := v.cve, []any{}
		if strings.HasPrefix(v.vendorID, "GHSA-") {
			id = v.vendorID
			related = append(related, map[string]any{"id": v.cve, "dataSource": "https://nvd.nist.gov/vuln/detail/" + v.cve, "namespace": "nvd:cpe"})
		}
		fix := map[string]any{"versions": []string{}, "state": "not-fixed"}
		if v.fixed != "" {
			fix = map[string]any{"versions": []string{v.fixed}, "state": "fixed"}
		}
		loc := "/" + v.path
		if v.path == "" {
			loc = "/var/lib/dpkg/status"
		}
		art := map[string]any{
			"id": "0123456789abcdef", "name": v.pkg, "version": v.version, "type": gtype[v.typ],
			"locations": []any{map[string]any{"path": loc, "layerID": "sha256:" + strings.Repeat("2", 64)}},
			"language":  "", "licenses": []string{}, "cpes": []string{}, "purl": v.purl,
		}
		cvss := []any{}
		if v.score > 0 {
			cvss = append(cvss, map[string]any{"version": "3.1", "vector": "CVSS:3.1/AV:N/AC:L/PR:N/UI:N/S:U/C:H/I:H/A:H", "metrics": map[string]any{"baseScore": v.score, "exploitabilityScore": 3.9, "impactScore": 5.9}})
		}
		matches = append(matches, map[string]any{
			"vulnerability": map[string]any{
				"id": id, "dataSource": "https://security-tracker.debian.org/tracker/" + v.cve, "namespace": "debian:distro:debian:12",
				"severity": strings.ToUpper(v.severity[:1]) + strings.ToLower(v.severity[1:]), "urls": []string{}, "description": "...",
				"cvss": cvss, "fix": fix, "advisories": []any{},
			},
			"relatedVulnerabilities": related,
			"matchDetails":           []any{map[string]any{"type": "exact-direct-match", "matcher": "dpkg-matcher"}},
			"artifact":               art,
		})
	}
	doc := map[string]any{
		"matches": matches,
		"source": map[string]any{"type": "image", "target": map[string]any{
			"userInput": name, "imageID": imageID, "manifestDigest": digest, "mediaType": "application/vnd.oci.image.manifest.v1+json",
			"tags": []string{name + ":latest"}, "imageSize": 123456, "layers": []any{}, "repoDigests": []string{name + "@" + digest},
			"architecture": "amd64", "os": "linux",
		}},
		"distro":     map[string]any{"name": "debian", "version": "12", "idLike": []string{}},
		"descriptor": map[string]any{"name": "grype", "version": "0.80.0"},
	}
	data, err := json.MarshalIndent(doc, "", "  ")
	if err != nil {
		t.Fatal(err)
	}
	return data
}

// cycloneDXJSON writes a CycloneDX 1.6 BOM with vulnerabilities, as
// Trivy's --format cyclonedx writes one.
func cycloneDXJSON(t *testing.T, name, digest, imageID string) []byte {
	var comps, vulns []any
	for i, v := range reportVulns {
		ref := v.purl
		comp := map[string]any{"bom-ref": ref, "type": "library", "name": v.pkg, "version": v.version, "purl": v.purl}
		if g, a, ok := strings.Cut(v.pkg, ":"); ok {
			comp["group"], comp["name"] = g, a
		}
		if v.path != "" {
			comp["properties"] = []any{map[string]any{"name": "aquasecurity:trivy:PkgPath", "value": v.path}}
		}
		comps = append(comps, comp)
		vv := map[string]any{
			"id": v.cve, "bom-ref": "vuln-" + string(rune('a'+i)),
			"source":  map[string]any{"name": "nvd"},
			"ratings": []any{map[string]any{"source": map[string]any{"name": "nvd"}, "score": v.score, "severity": strings.ToLower(v.severity), "method": "CVSSv31"}},
			"affects": []any{map[string]any{"ref": ref, "versions": []any{map[string]any{"version": v.version, "status": "affected"}}}},
		}
		if v.fixed != "" {
			vv["recommendation"] = "Upgrade " + v.pkg + " to version " + v.fixed
		}
		if v.vendorID != "" {
			vv["references"] = []any{map[string]any{"id": v.vendorID, "source": map[string]any{"name": "osv"}}}
		}
		vulns = append(vulns, vv)
	}
	doc := map[string]any{
		"bomFormat": "CycloneDX", "specVersion": "1.6", "version": 1,
		"metadata": map[string]any{"component": map[string]any{
			"bom-ref": "pkg:oci/app@" + strings.Replace(digest, ":", "%3A", 1), "type": "container", "name": name,
			"purl": "pkg:oci/app@" + strings.Replace(digest, ":", "%3A", 1),
			"properties": []any{
				map[string]any{"name": "aquasecurity:trivy:ImageID", "value": imageID},
				map[string]any{"name": "aquasecurity:trivy:RepoDigest", "value": name + "@" + digest},
			},
		}},
		"components": comps, "vulnerabilities": vulns,
	}
	data, err := json.MarshalIndent(doc, "", "  ")
	if err != nil {
		t.Fatal(err)
	}
	return data
}

// cveSet is every CVE a list of matches names, by package: what the
// scanners agree on whatever ID each prefers (a DSA, a GHSA, a CVE).
func cveSet(ms []vuln.Match) []string {
	var out []string
	for _, m := range ms {
		for _, id := range m.IDs() {
			if strings.HasPrefix(id, "CVE-") {
				out = append(out, m.Package.Name+" "+id)
			}
		}
	}
	sort.Strings(out)
	return slices.Compact(out)
}

// TestIngestSameAsOffline: a Trivy, a Grype and a CycloneDX report of
// the Debian test image give the same vulnerabilities (by CVE, per
// package), and the same fixed versions, as matching the image offline
// against the same data; a report of another digest is refused.
func TestIngestSameAsOffline(t *testing.T) {
	img := debianImage(t)
	digest, err := img.Digest()
	if err != nil {
		t.Fatal(err)
	}
	cfgName, err := img.ConfigName()
	if err != nil {
		t.Fatal(err)
	}
	ref := WriteLayout(t, img)
	db, err := vuln.Open(context.Background(), e2eDB(t))
	if err != nil {
		t.Fatal(err)
	}
	_, offline := vulnFindings(t, ref, &vuln.Scanner{DB: db}, nil)
	loaded := loadImage(t, ref)
	offMatches, err := (&vuln.Scanner{DB: db}).Scan(context.Background(), loaded)
	if err != nil {
		t.Fatal(err)
	}
	want := cveSet(offMatches)
	if len(want) != len(reportVulns) || len(offline) != len(reportVulns) {
		t.Fatalf("offline: %d findings, CVEs %v; want %d", len(offline), want, len(reportVulns))
	}
	dir := t.TempDir()
	for _, f := range []struct {
		name string
		data []byte
	}{
		{"trivy", trivyJSON(t, "registry.example/app", digest.String(), cfgName.String())},
		{"grype", grypeJSON(t, "registry.example/app", digest.String(), cfgName.String())},
		{"cyclonedx", cycloneDXJSON(t, "registry.example/app", digest.String(), cfgName.String())},
	} {
		t.Run(f.name, func(t *testing.T) {
			file := filepath.Join(dir, f.name+".json")
			if err := os.WriteFile(file, f.data, 0o644); err != nil {
				t.Fatal(err)
			}
			r, err := vuln.ReadReport(file, limits.Default())
			if err != nil {
				t.Fatal(err)
			}
			if r.Format != f.name {
				t.Errorf("format %q, want %q", r.Format, f.name)
			}
			s := &vuln.Scanner{Reports: []*vuln.Report{r}}
			ms, err := s.Scan(context.Background(), loaded)
			if err != nil {
				t.Fatal(err)
			}
			if got := cveSet(ms); strings.Join(got, "\n") != strings.Join(want, "\n") {
				t.Errorf("CVEs:\n%s\nwant (offline):\n%s", strings.Join(got, "\n"), strings.Join(want, "\n"))
			}
			fixedOf := func(ms []vuln.Match) map[string]string {
				out := map[string]string{}
				for _, m := range ms {
					out[m.Package.Name] = m.Fixed
				}
				return out
			}
			if got, w := fixedOf(ms), fixedOf(offMatches); !mapsEqual(got, w) {
				t.Errorf("fixed versions %v, offline %v", got, w)
			}
			if errs := s.Unused([]*image.Image{loaded}); len(errs) > 0 {
				t.Errorf("report bound to the image reported unused: %v", errs)
			}
			// The same report against another build is refused.
			other := loadImage(t, WriteLayout(t, alpineImage(t)))
			s = &vuln.Scanner{Reports: []*vuln.Report{r}}
			ms, err = s.Scan(context.Background(), other)
			if err != nil || len(ms) != 0 {
				t.Errorf("report applied to another image: %v %v", ms, err)
			}
			errs := s.Unused([]*image.Image{other})
			if len(errs) != 1 || !strings.Contains(errs[0].Error(), digest.String()) || !strings.Contains(errs[0].Error(), other.Digest) || !strings.Contains(errs[0].Error(), "refused") {
				t.Errorf("report of another digest: %v", errs)
			}
			// Both sources together report each vulnerability once.
			s = &vuln.Scanner{DB: db, Reports: []*vuln.Report{r}}
			ms, err = s.Scan(context.Background(), loaded)
			if err != nil || len(ms) != len(offMatches) {
				t.Errorf("database and report together: %d matches, want %d (%v)", len(ms), len(offMatches), err)
			}
		})
	}
}

func mapsEqual(a, b map[string]string) bool {
	if len(a) != len(b) {
		return false
	}
	for k, v := range a {
		if b[k] != v {
			return false
		}
	}
	return true
}

// TestReportErrors: reports without a digest, of no known format, or
// past the size limit are errors naming the file.
func TestReportErrors(t *testing.T) {
	dir := t.TempDir()
	for name, tc := range map[string]struct{ data, want string }{
		"nodigest.json": {`{"SchemaVersion":2,"ArtifactName":"app:latest","Results":[]}`, "names no image digest"},
		"unknown.json":  {`{"hello":"world"}`, "not a Trivy, Grype or CycloneDX report"},
		"broken.json":   {`{"matches":[{"vulnerability":{"id":5}}]}`, "not a Grype report"},
		"notjson.json":  {`<xml/>`, "not a JSON report"},
	} {
		file := filepath.Join(dir, name)
		os.WriteFile(file, []byte(tc.data), 0o644)
		_, err := vuln.ReadReport(file, limits.Default())
		if err == nil || !strings.Contains(err.Error(), tc.want) || !strings.Contains(err.Error(), name) {
			t.Errorf("%s: %v, want %q", name, err, tc.want)
		}
	}
	big := filepath.Join(dir, "big.json")
	os.WriteFile(big, []byte(`{"matches":[]}`+strings.Repeat(" ", 2048)), 0o644)
	if _, err := vuln.ReadReport(big, limits.Limits{VulnRecordSize: 1024}); err == nil || !strings.Contains(err.Error(), "--max-vuln-record-size") {
		t.Errorf("big report: %v", err)
	}
}

func loadImage(t *testing.T, ref string) *image.Image {
	t.Helper()
	img, err := image.Load(context.Background(), ref, image.LoadOptions{Packages: true})
	if err != nil {
		t.Fatal(err)
	}
	return img
}
