package vuln_test

import (
	"context"
	"path/filepath"
	"sort"
	"strings"
	"testing"
	"time"

	v1 "github.com/google/go-containerregistry/pkg/v1"

	. "github.com/kubeharden/kubeharden/internal/image/imagetest"
	"github.com/kubeharden/kubeharden/internal/vuln"
)

// TestRPMImageVulnerabilities matches the packages of a real RPM database
// (rpmbuild and rpm --justdb, testdata/rpm) in a Rocky Linux 9 image
// against Rocky advisories: rpmvercmp order with epochs and releases
// compared as numbers, advisories of another release ignored.
func TestRPMImageVulnerabilities(t *testing.T) {
	src, dir := t.TempDir(), filepath.Join(t.TempDir(), "osv")
	z := filepath.Join(src, "Rocky Linux.zip")
	zipRecords(t, z, []map[string]any{
		// kh-epoch 2:3.1-4.el9 is before 2:3.1-5.el9: vulnerable.
		osv("RLSA-2099:0001", "CVE-2099-1001", "Rocky Linux:9", "kh-epoch", "0", "2:3.1-5.el9", nil),
		// Epoch 2 is after every epoch-1 version: fixed.
		osv("RLSA-2099:0002", "CVE-2099-1002", "Rocky Linux:9", "kh-epoch", "0", "1:9.0-1.el9", nil),
		// The installed version is the fixed one.
		osv("RLSA-2099:0003", "CVE-2099-1003", "Rocky Linux:9", "kh-hello", "0", "1.0-1.el9", nil),
		// Release 3 is before release 10 (numbers, not strings).
		osv("RLSA-2099:0004", "CVE-2099-1004", "Rocky Linux:9", "kh-tools-libs", "0", "1.2-10.el9", nil),
		// Another release's advisory.
		osv("RLSA-2099:0005", "CVE-2099-1005", "Rocky Linux:8", "kh-hello", "0", "9.9-1.el8", nil),
	})
	if _, err := vuln.Import(context.Background(), dir, z, time.Now()); err != nil {
		t.Fatal(err)
	}
	db, err := vuln.Open(context.Background(), dir)
	if err != nil {
		t.Fatal(err)
	}
	img := Image(t, v1.Config{User: "10001"}, Layer(t,
		File("etc/os-release", "ID=\"rocky\"\nVERSION_ID=\"9.3\"\n"),
		reg("var/lib/rpm/rpmdb.sqlite", rpmDB(t)),
	))
	res, fs := vulnFindings(t, WriteLayout(t, img), &vuln.Scanner{DB: db}, nil)
	if len(res.Errors) > 0 {
		t.Errorf("errors: %+v", res.Errors)
	}
	var ids []string
	for _, f := range fs {
		ids = append(ids, f.Vulnerability().ID+" "+f.Vulnerability().Package+" "+f.Vulnerability().Installed+" -> "+f.Vulnerability().Fixed)
	}
	sort.Strings(ids)
	want := []string{
		"RLSA-2099:0001 kh-epoch 2:3.1-4.el9 -> 2:3.1-5.el9",
		"RLSA-2099:0004 kh-tools-libs 1.2-3.el9 -> 1.2-10.el9",
	}
	if strings.Join(ids, "\n") != strings.Join(want, "\n") {
		t.Errorf("vulnerabilities:\n%s\nwant:\n%s", strings.Join(ids, "\n"), strings.Join(want, "\n"))
	}
}
