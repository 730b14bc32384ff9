package vuln

import (
	"context"
	"os"
	"path/filepath"
	"strings"
	"testing"
)

// FuzzMatchRecord: any bytes read as an OSV record either fail to parse
// or are matched against packages of every ecosystem the record names
// (every version parser and the range evaluation on hostile versions)
// without a panic; a match always names the record and its package.
func FuzzMatchRecord(f *testing.F) {
	f.Add([]byte(`{"id":"DSA-1","modified":"2024-01-01T00:00:00Z","aliases":["CVE-1"],"affected":[{"package":{"ecosystem":"Debian:12","name":"openssl"},"ranges":[{"type":"ECOSYSTEM","events":[{"introduced":"0"},{"fixed":"1:3.0.13-1~deb12u1"}]}],"versions":["3.0.11-1"]}],"severity":[{"type":"CVSS_V3","score":"CVSS:3.1/AV:N/AC:L/PR:N/UI:N/S:U/C:H/I:H/A:H"}]}`))
	f.Add([]byte(`{"id":"A","affected":[{"package":{"ecosystem":"Alpine:v3.19","name":"busybox"},"ranges":[{"type":"ECOSYSTEM","events":[{"introduced":"1.0_rc1-r0"},{"last_affected":"1.36.1-r15"},{"limit":"*"}]}]}]}`))
	f.Add([]byte(`{"id":"G","affected":[{"package":{"ecosystem":"Go","name":"stdlib"},"ranges":[{"type":"SEMVER","events":[{"introduced":"0"},{"fixed":"1.22.0-rc.1"}]}]},{"package":{"ecosystem":"PyPI","name":"Django"},"ranges":[{"type":"ECOSYSTEM","events":[{"introduced":"1!2.0.dev1"},{"fixed":"2.0.post1"}]}]}]}`))
	f.Add([]byte(`{"id":"M","affected":[{"package":{"ecosystem":"Maven","name":"g:a"},"ranges":[{"type":"ECOSYSTEM","events":[{"introduced":"0"},{"fixed":"2.15.0-rc1"}]}]},{"package":{"ecosystem":"npm","name":"x"},"ranges":[{"type":"SEMVER","events":[{"introduced":"0"},{"fixed":"4.17.21"}]}]},{"package":{"ecosystem":"Red Hat","name":"openssl"},"ranges":[{"type":"ECOSYSTEM","events":[{"introduced":"0"},{"fixed":"1:3.0.7-27.el9"}]}]}],"severity":[{"type":"CVSS_V4","score":"CVSS:4.0/AV:N/AC:L/AT:N/PR:N/UI:N/VC:H/VI:H/VA:H/SC:N/SI:N/SA:N"}]}`))
	versions := []string{"0", "1:1.0-1~a", "1.36.1-r15", "v0.0.0-20230101000000-abcdefabcdef", "go1.22rc2", "2.0.0rc1", "1.0-SNAPSHOT", "3.0.7-25.el9_3", "", "~", "-", "1:", ":", "r", "_p", "1..2", "v1.2.3+incompatible"}
	f.Fuzz(func(t *testing.T, data []byte) {
		rec, err := ParseRecord(data)
		if err != nil {
			return
		}
		rate(rec, &Affected{})
		for _, a := range rec.Affected {
			rate(rec, &a)
			base, rel := splitEcosystem(a.Package.Ecosystem)
			for _, v := range append(versions, a.Versions...) {
				p := Package{Name: a.Package.Name, Version: v, Ecosystem: Ecosystem(base), Release: rel}
				k := packageKeys(&p)[0]
				m, ok := matchRecord(rec, &p, k)
				if ok && (m.ID != rec.ID || m.Package.Name != a.Package.Name || strings.TrimSpace(m.ID) == "") {
					t.Fatalf("match %+v of record %q", m, rec.ID)
				}
			}
		}
	})
}

// FuzzParseReport: any bytes are a Trivy, Grype or CycloneDX report with
// a digest, or an error; never a panic, and a report's matches always
// name a vulnerability and a package.
func FuzzParseReport(f *testing.F) {
	d := "sha256:" + strings.Repeat("a", 64)
	f.Add([]byte(`{"SchemaVersion":2,"ArtifactName":"x@` + d + `","Metadata":{"ImageID":"` + d + `"},"Results":[{"Type":"debian","Vulnerabilities":[{"VulnerabilityID":"CVE-1","VendorIDs":["DSA-1"],"PkgName":"a","InstalledVersion":"1","FixedVersion":"2, 3","Severity":"HIGH","CVSS":{"nvd":{"V3Score":7.5}}}]}]}`))
	f.Add([]byte(`{"matches":[{"vulnerability":{"id":"GHSA-1","severity":"Critical","fix":{"versions":["2"]},"cvss":[{"metrics":{"baseScore":9.8}}]},"relatedVulnerabilities":[{"id":"CVE-1"}],"artifact":{"name":"a","version":"1","type":"npm","purl":"pkg:npm/a@1","locations":[{"path":"/x"}]}}],"source":{"type":"image","target":{"manifestDigest":"` + d + `"}}}`))
	f.Add([]byte(`{"bomFormat":"CycloneDX","metadata":{"component":{"version":"` + d + `"}},"components":[{"bom-ref":"r","name":"a","group":"g","version":"1","purl":"pkg:maven/g/a@1","components":[{"bom-ref":"s"}]}],"vulnerabilities":[{"id":"CVE-1","affects":[{"ref":"r"},{"ref":"nope"}],"ratings":[{"severity":"high"}],"recommendation":"Upgrade a to version 2"}]}`))
	f.Add([]byte(`{"matches":[],"source":{"target":"` + d + `"}}`))
	f.Fuzz(func(t *testing.T, data []byte) {
		r, err := ParseReport(data)
		if err != nil {
			return
		}
		if len(r.Digests) == 0 {
			t.Fatal("a report without a digest was accepted")
		}
		for _, m := range r.Matches {
			if m.ID == "" || m.Package.Name == "" {
				t.Fatalf("match without an ID or a package: %+v", m)
			}
		}
		dedupe(r.Matches)
	})
}

// FuzzParseVEX: any bytes are an OpenVEX document or an error, and
// judging a match with one never panics.
func FuzzParseVEX(f *testing.F) {
	f.Add([]byte(`{"@context":"https://openvex.dev/ns/v0.2.0","statements":[{"vulnerability":{"name":"CVE-1","aliases":["GHSA-1"]},"products":[{"@id":"pkg:oci/a@sha256%3A` + strings.Repeat("a", 64) + `","subcomponents":[{"@id":"pkg:npm/a@1?x=y"}]}],"status":"not_affected","justification":"j"}]}`))
	f.Add([]byte(`{"@context":"https://openvex.dev/ns","statements":[{"vulnerability":"CVE-1","products":["x"],"status":"fixed"}]}`))
	f.Fuzz(func(t *testing.T, data []byte) {
		v, err := ParseVEX(data)
		if err != nil {
			return
		}
		m := Match{ID: "CVE-1", Aliases: []string{"GHSA-1"}, Package: Package{Name: "a", PURL: "pkg:npm/a@1"}}
		v.Suppression(&m, "sha256:"+strings.Repeat("a", 64), "x")
	})
}

// FuzzDBFiles: whatever the metadata and index files of a database
// directory hold (a hand-edited or truncated file, a path out of the
// directory), opening it and looking packages up is an error or a
// result, never a panic nor a read outside the directory.
func FuzzDBFiles(f *testing.F) {
	f.Add([]byte(`{"version":1,"exports":[{"name":"Debian","file":"Debian/all.zip","size":0}]}`), []byte("Debian:12\topenssl\tDebian/all.zip\tDSA-1.json\n"))
	f.Add([]byte(`{"exports":[{"file":"../../etc/passwd"}]}`), []byte("a\tb\t../x\ty\n"))
	f.Add([]byte(`{"exports":[{"file":"kubeharden-vulndb.index","size":10}]}`), []byte("\t\t\t\n"))
	f.Fuzz(func(t *testing.T, meta, index []byte) {
		dir := t.TempDir()
		if err := os.WriteFile(filepath.Join(dir, MetaFile), meta, 0o644); err != nil {
			t.Fatal(err)
		}
		if err := os.WriteFile(filepath.Join(dir, IndexFile), index, 0o644); err != nil {
			t.Fatal(err)
		}
		db, err := Open(context.Background(), dir)
		if err != nil {
			return
		}
		_, _ = MatchPackages(context.Background(), db, []Package{
			{Name: "openssl", Version: "3.0.11-1", Ecosystem: Debian, Release: "12"},
			{Name: "b", Version: "1", Ecosystem: "a"},
		})
	})
}
