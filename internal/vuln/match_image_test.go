package vuln_test

import (
	"context"
	"path/filepath"
	"slices"
	"sort"
	"strings"
	"testing"
	"time"

	v1 "github.com/google/go-containerregistry/pkg/v1"

	"github.com/kubeharden/kubeharden/internal/check"
	"github.com/kubeharden/kubeharden/internal/checks"
	"github.com/kubeharden/kubeharden/internal/config"
	"github.com/kubeharden/kubeharden/internal/image"
	. "github.com/kubeharden/kubeharden/internal/image/imagetest"
	"github.com/kubeharden/kubeharden/internal/policy"
	"github.com/kubeharden/kubeharden/internal/scan"
	"github.com/kubeharden/kubeharden/internal/vuln"
)

// osv is an OSV record with one affected package and one ECOSYSTEM range
// from introduced to fixed ("" for no fix yet).
func osv(id, cve, eco, name, introduced, fixed string, extra map[string]any) map[string]any {
	events := []any{map[string]string{"introduced": introduced}}
	if fixed != "" {
		events = append(events, map[string]string{"fixed": fixed})
	}
	r := map[string]any{
		"id": id, "modified": "2024-05-01T10:00:00Z", "aliases": []string{cve},
		"affected": []any{map[string]any{
			"package": map[string]any{"ecosystem": eco, "name": name},
			"ranges":  []any{map[string]any{"type": "ECOSYSTEM", "events": events}},
		}},
	}
	for k, v := range extra {
		r[k] = v
	}
	return r
}

// zipRecords writes records as osv.dev's all.zip does.
func zipRecords(t testing.TB, path string, recs []map[string]any) { vuln.WriteZip(t, path, recs) }

func cvss(v string) map[string]any {
	return map[string]any{"severity": []any{map[string]string{"type": "CVSS_V3", "score": v}}}
}

// e2eDB writes and imports an OSV database with, for each ecosystem of
// the test images, advisories that apply, advisories already fixed in the
// installed version, and advisories of another release.
func e2eDB(t testing.TB) string {
	t.Helper()
	src, dir := t.TempDir(), filepath.Join(t.TempDir(), "osv")
	exports := map[string][]map[string]any{
		"Debian": {
			osv("DSA-5678-1", "CVE-2024-0727", "Debian:12", "openssl", "0", "3.0.13-1~deb12u1", cvss("CVSS:3.1/AV:L/AC:L/PR:N/UI:R/S:U/C:N/I:N/A:H")),
			osv("DEBIAN-CVE-2023-4911", "CVE-2023-4911", "Debian:12", "glibc", "0", "2.36-9+deb12u3", nil),
			osv("DEBIAN-CVE-2023-45853", "CVE-2023-45853", "Debian:12", "zlib", "0", "", map[string]any{"affected": []any{map[string]any{
				"package":            map[string]any{"ecosystem": "Debian:12", "name": "zlib"},
				"ranges":             []any{map[string]any{"type": "ECOSYSTEM", "events": []any{map[string]string{"introduced": "0"}}}},
				"ecosystem_specific": map[string]any{"urgency": "unimportant"},
			}}}),
			osv("DEBIAN-CVE-2018-25032", "CVE-2018-25032", "Debian:12", "zlib", "0", "1:1.2.11.dfsg-4", nil),
			osv("DEBIAN-CVE-2022-0563", "CVE-2022-0563", "Debian:12", "util-linux", "0", "2.38.1-5+deb12u1", nil),
			osv("DLA-3530-1", "CVE-2023-0464", "Debian:11", "openssl", "0", "1.1.1v-0~deb11u1", nil),
		},
		"Alpine": {
			osv("ALPINE-CVE-2024-0727", "CVE-2024-0727", "Alpine:v3.19", "openssl", "0", "3.1.4-r6", nil),
			osv("ALPINE-CVE-2023-42363", "CVE-2023-42363", "Alpine:v3.19", "busybox", "0", "1.36.1-r15", nil),
			osv("ALPINE-CVE-2023-42366", "CVE-2023-42366", "Alpine:v3.19", "busybox", "0", "1.36.1-r16", nil),
			osv("ALPINE-CVE-2022-48174", "CVE-2022-48174", "Alpine:v3.18", "busybox", "0", "1.36.1-r20", nil),
			osv("ALPINE-CVE-2025-26519", "CVE-2025-26519", "Alpine:v3.19", "musl", "0", "1.2.4_git20230717-r4", nil),
		},
		"PyPI": {
			osv("GHSA-9wx4-h78v-vm56", "CVE-2024-35195", "PyPI", "requests", "0", "2.32.0", map[string]any{"database_specific": map[string]any{"severity": "MODERATE"}}),
			osv("GHSA-h5c8-rqwp-cp95", "CVE-2024-22195", "PyPI", "jinja2", "0", "3.1.3", nil),
		},
		"Go": {
			osv("GO-2099-0001", "CVE-2099-0001", "Go", "github.com/spf13/pflag", "0", "1.0.11", nil),
			osv("GO-2099-0002", "CVE-2099-0002", "Go", "stdlib", "0", "1.0.0", nil),
		},
		"npm": {
			osv("GHSA-35jh-r3h4-6jhm", "CVE-2021-23337", "npm", "lodash", "0", "4.17.21", cvss("CVSS:3.1/AV:N/AC:L/PR:H/UI:N/S:U/C:H/I:H/A:H")),
		},
		"Maven": {
			osv("GHSA-jfh8-c2jp-5v3q", "CVE-2021-44228", "Maven", "org.apache.logging.log4j:log4j-core", "2.0-beta9", "2.15.0", cvss("CVSS:3.1/AV:N/AC:L/PR:N/UI:N/S:C/C:H/I:H/A:H")),
			osv("GHSA-0000-0000-0001", "CVE-2099-0003", "Maven", "org.example:app", "0", "1.4.2", nil),
		},
	}
	for name, recs := range exports {
		z := filepath.Join(src, name+".zip")
		zipRecords(t, z, recs)
		if _, err := vuln.Import(context.Background(), dir, z, time.Now()); err != nil {
			t.Fatal(err)
		}
	}
	return dir
}

// debianImage is a Debian 12 image with a dpkg database, Python, npm and
// Maven packages and a real Go binary.
func debianImage(t testing.TB) v1.Image {
	log4j := jar(t, map[string][]byte{
		"META-INF/maven/org.apache.logging.log4j/log4j-core/pom.properties": []byte("version=2.14.1\ngroupId=org.apache.logging.log4j\nartifactId=log4j-core\n"),
	})
	appJAR := jar(t, map[string][]byte{
		"META-INF/maven/org.example/app/pom.properties": []byte("artifactId=app\ngroupId=org.example\nversion=1.4.2\n"),
		"BOOT-INF/lib/log4j-core-2.14.1.jar":            log4j,
	})
	return Image(t, v1.Config{User: "10001"},
		Layer(t,
			File("etc/os-release", "NAME=\"Debian GNU/Linux\"\nVERSION_ID=\"12\"\nVERSION=\"12 (bookworm)\"\nID=debian\n"),
			reg("var/lib/dpkg/status", []byte(dpkgStatus)),
			reg("usr/lib/python3/dist-packages/requests-2.31.0.dist-info/METADATA", []byte(pythonMetadata)),
			reg("usr/local/lib/python3.12/site-packages/Jinja2-3.1.3rc1.dist-info/METADATA", []byte(pythonMetadataExpression)),
			reg("app/node_modules/lodash/package.json", []byte(`{"name":"lodash","version":"4.17.20"}`)),
			reg("app/app.jar", appJAR),
			exe("usr/local/bin/hello", goBinary(t, "")),
		),
	)
}

func alpineImage(t testing.TB) v1.Image {
	return Image(t, v1.Config{},
		Layer(t,
			File("etc/os-release", "NAME=\"Alpine Linux\"\nID=alpine\nVERSION_ID=3.19.1\n"),
			reg("lib/apk/db/installed", []byte(apkInstalled)),
		),
	)
}

// vulnFindings runs every image check with the scanner as the
// vulnerability source, as `kubeharden image` does.
func vulnFindings(t *testing.T, ref string, s *vuln.Scanner, cfg *config.Config) (*scan.Result, []check.Finding) {
	t.Helper()
	img, err := image.Load(context.Background(), ref, image.LoadOptions{Insecure: true, Packages: true})
	if err != nil {
		t.Fatal(err)
	}
	if cfg == nil {
		cfg = config.Default()
	}
	opts := scan.Options{Registry: checks.Registry(), Policy: policy.New(cfg, checks.Registry(), time.Date(2025, 1, 1, 0, 0, 0, 0, time.UTC)), Vulnerabilities: s.Scan}
	res := scan.RunImages(context.Background(), []*image.Image{img}, opts)
	var out []check.Finding
	for _, f := range res.Findings {
		if f.Check == "image-vulnerability" {
			out = append(out, f)
		}
	}
	return res, out
}

func summarize(fs []check.Finding) []string {
	var out []string
	for _, f := range fs {
		out = append(out, f.Severity.String()+" "+f.Path+" "+f.Message)
	}
	sort.Strings(out)
	return out
}

// TestImageVulnerabilities: real images of each package family, read
// from every source kind, matched offline against an OSV database written
// by the test: every expected vulnerability is found with its fixed
// version, severity and the file that brought the package in, and none of
// the fixed ones (nor another release's) is reported.
func TestImageVulnerabilities(t *testing.T) {
	dir := e2eDB(t)
	db, err := vuln.Open(context.Background(), dir)
	if err != nil {
		t.Fatal(err)
	}
	s := &vuln.Scanner{DB: db}
	cases := []struct {
		name string
		img  v1.Image
		want []string
	}{
		{"debian", debianImage(t), []string{
			`critical /app/app.jar!/BOOT-INF/lib/log4j-core-2.14.1.jar package "org.apache.logging.log4j:log4j-core" 2.14.1 (Maven) is affected by GHSA-jfh8-c2jp-5v3q (CVE-2021-44228), CVSS 10.0: fixed in 2.15.0`,
			`high /app/node_modules/lodash/package.json package "lodash" 4.17.20 (npm) is affected by GHSA-35jh-r3h4-6jhm (CVE-2021-23337), CVSS 7.2: fixed in 4.17.21`,
			`medium /usr/lib/python3/dist-packages/requests-2.31.0.dist-info package "requests" 2.31.0 (PyPI) is affected by GHSA-9wx4-h78v-vm56 (CVE-2024-35195): fixed in 2.32.0`,
			`medium /usr/local/bin/hello package "github.com/spf13/pflag" v1.0.10 (Go) is affected by GO-2099-0001 (CVE-2099-0001), severity unknown: fixed in 1.0.11`,
			`medium /usr/local/lib/python3.12/site-packages/Jinja2-3.1.3rc1.dist-info package "Jinja2" 3.1.3rc1 (PyPI) is affected by GHSA-h5c8-rqwp-cp95 (CVE-2024-22195), severity unknown: fixed in 3.1.3`,
			`low /var/lib/dpkg/status package "zlib1g" 1:1.2.13.dfsg-1 (Debian:12, source zlib 1:1.2.13.dfsg-1) is affected by DEBIAN-CVE-2023-45853 (CVE-2023-45853): no fixed version yet`,
			`medium /var/lib/dpkg/status package "bsdutils" 1:2.38.1-5+deb12u1 (Debian:12, source util-linux 2.38.1-5) is affected by DEBIAN-CVE-2022-0563 (CVE-2022-0563), severity unknown: fixed in 2.38.1-5+deb12u1`,
			`medium /var/lib/dpkg/status package "openssl" 3.0.11-1~deb12u2+b1 (Debian:12, source openssl 3.0.11-1~deb12u2) is affected by DSA-5678-1 (CVE-2024-0727), CVSS 5.5: fixed in 3.0.13-1~deb12u1`,
		}},
		{"alpine", alpineImage(t), []string{
			`medium /lib/apk/db/installed package "busybox" 1.36.1-r15 (Alpine:v3.19) is affected by ALPINE-CVE-2023-42366 (CVE-2023-42366), severity unknown: fixed in 1.36.1-r16`,
			`medium /lib/apk/db/installed package "libcrypto3" 3.1.4-r5 (Alpine:v3.19, source openssl 3.1.4-r5) is affected by ALPINE-CVE-2024-0727 (CVE-2024-0727), severity unknown: fixed in 3.1.4-r6`,
		}},
	}
	for _, tc := range cases {
		for _, src := range Sources(t, tc.img) {
			t.Run(tc.name+"/"+src.Kind, func(t *testing.T) {
				res, fs := vulnFindings(t, src.Ref, s, nil)
				if len(res.Errors) > 0 {
					t.Errorf("errors: %+v", res.Errors)
				}
				got := summarize(fs)
				want := slices.Clone(tc.want)
				sort.Strings(want)
				if strings.Join(got, "\n") != strings.Join(want, "\n") {
					t.Errorf("findings:\n%s\nwant:\n%s", strings.Join(got, "\n"), strings.Join(want, "\n"))
				}
				for _, f := range fs {
					if f.Location.File != src.Ref {
						t.Errorf("finding located at %q, want the reference", f.Location.File)
					}
				}
			})
		}
	}
}

// TestUnreadableDatabaseIsInputError: an image whose OS packages cannot
// be read (an RPM database, not read yet) is an input error naming the
// database, and its other packages are still matched.
func TestUnreadableDatabaseIsInputError(t *testing.T) {
	db, err := vuln.Open(context.Background(), e2eDB(t))
	if err != nil {
		t.Fatal(err)
	}
	img := Image(t, v1.Config{}, Layer(t,
		File("etc/os-release", "ID=rhel\nVERSION_ID=\"9.4\"\n"),
		reg("var/lib/rpm/rpmdb.sqlite", []byte("SQLite format 3\x00")),
		reg("usr/lib/python3.9/site-packages/requests-2.31.0.dist-info/METADATA", []byte(pythonMetadata)),
	))
	res, fs := vulnFindings(t, WriteLayout(t, img), &vuln.Scanner{DB: db}, nil)
	if len(res.Errors) != 1 || !strings.Contains(res.Errors[0].Message, "/var/lib/rpm/rpmdb.sqlite") {
		t.Errorf("errors: %+v", res.Errors)
	}
	if len(fs) != 1 || !strings.Contains(fs[0].Message, "GHSA-9wx4-h78v-vm56") {
		t.Errorf("findings: %v", summarize(fs))
	}
}
