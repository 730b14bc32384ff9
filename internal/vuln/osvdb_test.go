package vuln

import (
	"archive/zip"
	"context"
	"encoding/json"
	"errors"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/kubeharden/kubeharden/internal/check"
	"github.com/kubeharden/kubeharden/internal/limits"
)

// writeZip writes records as osv.dev's all.zip does: one <id>.json each.
func writeZip(t testing.TB, path string, recs []map[string]any) {
	t.Helper()
	f, err := os.Create(path)
	if err != nil {
		t.Fatal(err)
	}
	zw := zip.NewWriter(f)
	for _, r := range recs {
		w, err := zw.Create(r["id"].(string) + ".json")
		if err != nil {
			t.Fatal(err)
		}
		if err := json.NewEncoder(w).Encode(r); err != nil {
			t.Fatal(err)
		}
	}
	if err := zw.Close(); err != nil {
		t.Fatal(err)
	}
	if err := f.Close(); err != nil {
		t.Fatal(err)
	}
}

// rec builds an OSV record affecting one package with one ECOSYSTEM range.
func rec(id, modified, eco, name string, events ...map[string]string) map[string]any {
	evs := make([]any, len(events))
	for i, e := range events {
		evs[i] = e
	}
	return map[string]any{
		"id":       id,
		"modified": modified,
		"affected": []any{map[string]any{
			"package": map[string]any{"ecosystem": eco, "name": name},
			"ranges":  []any{map[string]any{"type": "ECOSYSTEM", "events": evs}},
		}},
	}
}

func intro(v string) map[string]string { return map[string]string{"introduced": v} }
func fixed(v string) map[string]string { return map[string]string{"fixed": v} }

// testDB is a database of a Debian and an Alpine export, imported.
func testDB(t testing.TB) string {
	t.Helper()
	src, dir := t.TempDir(), filepath.Join(t.TempDir(), "db")
	deb := rec("DSA-5678-1", "2024-03-01T00:00:00Z", "Debian:12", "openssl", intro("0"), fixed("3.0.13-1~deb12u1"))
	deb["aliases"] = []string{"CVE-2024-0727"}
	deb["severity"] = []any{map[string]any{"type": "CVSS_V3", "score": "CVSS:3.1/AV:N/AC:L/PR:N/UI:N/S:U/C:H/I:H/A:H"}}
	old := rec("DSA-1000-1", "2023-01-01T00:00:00Z", "Debian:12", "openssl", intro("0"), fixed("3.0.2-1"))
	other := rec("DSA-2000-1", "2023-06-01T00:00:00Z", "Debian:11", "openssl", intro("0"), fixed("1.1.1w-0+deb11u1"))
	glibc := rec("DEBIAN-CVE-2023-4911", "2023-10-03T00:00:00Z", "Debian:12", "glibc", intro("0"), fixed("2.36-9+deb12u3"))
	glibc["aliases"] = []string{"CVE-2023-4911"}
	writeZip(t, filepath.Join(src, "debian.zip"), []map[string]any{deb, old, other, glibc})
	alp := rec("ALPINE-CVE-2024-1111", "2024-05-02T00:00:00Z", "Alpine:v3.19", "busybox", intro("0"), fixed("1.36.1-r16"))
	alpFixed := rec("ALPINE-CVE-2022-2222", "2022-05-02T00:00:00Z", "Alpine:v3.19", "busybox", intro("0"), fixed("1.35.0-r1"))
	writeZip(t, filepath.Join(src, "alpine.zip"), []map[string]any{alp, alpFixed})
	now := time.Date(2024, 6, 1, 0, 0, 0, 0, time.UTC)
	for _, z := range []string{"debian.zip", "alpine.zip"} {
		if _, err := Import(context.Background(), dir, filepath.Join(src, z), now); err != nil {
			t.Fatal(err)
		}
	}
	return dir
}

// TestImportAndMatch: imported exports are indexed by ecosystem; a
// package matches the advisories of its release and its source package,
// with the fixed version, and none of the fixed ones.
func TestImportAndMatch(t *testing.T) {
	dir := testDB(t)
	for _, f := range []string{"Debian/all.zip", "Alpine/all.zip", MetaFile, IndexFile} {
		if _, err := os.Stat(filepath.Join(dir, f)); err != nil {
			t.Errorf("after import: %v", err)
		}
	}
	db, err := Open(context.Background(), dir)
	if err != nil {
		t.Fatal(err)
	}
	if db.Records() != 6 || len(db.Exports) != 2 {
		t.Errorf("records %d, exports %+v", db.Records(), db.Exports)
	}
	if got := db.Oldest().Format(time.DateOnly); got != "2024-03-01" {
		t.Errorf("oldest = %s, want the Debian export's newest record (2024-03-01)", got)
	}
	pkgs := []Package{
		{Name: "libssl3", Version: "3.0.11-1~deb12u2", Ecosystem: Debian, Release: "12", SourceName: "openssl", Path: "/var/lib/dpkg/status"},
		{Name: "libc6", Version: "2.36-9+deb12u4", Ecosystem: Debian, Release: "12", SourceName: "glibc", Path: "/var/lib/dpkg/status"},
		{Name: "busybox", Version: "1.36.1-r15", Ecosystem: Alpine, Release: "v3.19", Path: "/lib/apk/db/installed"},
	}
	ms, err := MatchPackages(context.Background(), db, pkgs)
	if err != nil {
		t.Fatal(err)
	}
	var got []string
	for _, m := range ms {
		got = append(got, m.Package.Name+" "+m.ID+" "+m.Installed+" -> "+m.Fixed)
	}
	want := []string{
		"busybox ALPINE-CVE-2024-1111 1.36.1-r15 -> 1.36.1-r16",
		"libssl3 DSA-5678-1 3.0.11-1~deb12u2 -> 3.0.13-1~deb12u1",
	}
	if strings.Join(got, "\n") != strings.Join(want, "\n") {
		t.Errorf("matches:\n%s\nwant:\n%s", strings.Join(got, "\n"), strings.Join(want, "\n"))
	}
	for _, m := range ms {
		if m.ID == "DSA-5678-1" {
			if m.Rating.Severity != check.Critical || m.Rating.Score != 9.8 || strings.Join(m.Aliases, ",") != "CVE-2024-0727" || m.Package.Path != "/var/lib/dpkg/status" {
				t.Errorf("DSA-5678-1: %+v", m)
			}
		}
	}
	// A re-import of the same ecosystem replaces its export.
	src := t.TempDir()
	writeZip(t, filepath.Join(src, "all.zip"), []map[string]any{rec("DSA-9-1", "2024-07-01T00:00:00Z", "Debian:12", "zlib", intro("0"))})
	if _, err := Import(context.Background(), dir, filepath.Join(src, "all.zip"), time.Now()); err != nil {
		t.Fatal(err)
	}
	db, err = Open(context.Background(), dir)
	if err != nil {
		t.Fatal(err)
	}
	ms, err = MatchPackages(context.Background(), db, pkgs)
	if err != nil || len(ms) != 1 || ms[0].ID != "ALPINE-CVE-2024-1111" {
		t.Errorf("after re-import of Debian: %v %+v", err, ms)
	}
}

// TestLooseRecords: JSON files dropped into the directory and zips not
// imported are read too.
func TestLooseRecords(t *testing.T) {
	dir := t.TempDir()
	r := rec("GHSA-xxxx-yyyy-zzzz", "2024-01-01T00:00:00Z", "PyPI", "Django", intro("4.2"), fixed("4.2.8"))
	r["database_specific"] = map[string]any{"severity": "MODERATE"}
	data, _ := json.Marshal(r)
	if err := os.WriteFile(filepath.Join(dir, "GHSA-xxxx-yyyy-zzzz.json"), data, 0o644); err != nil {
		t.Fatal(err)
	}
	os.MkdirAll(filepath.Join(dir, "Go"), 0o755)
	writeZip(t, filepath.Join(dir, "Go", "all.zip"), []map[string]any{
		rec("GO-2024-0001", "2024-02-01T00:00:00Z", "Go", "golang.org/x/net", intro("0"), fixed("0.23.0")),
	})
	db, err := Open(context.Background(), dir)
	if err != nil {
		t.Fatal(err)
	}
	ms, err := MatchPackages(context.Background(), db, []Package{
		{Name: "django", Version: "4.2.7", Ecosystem: PyPI, Path: "/usr/lib/python3/site-packages/Django-4.2.7.dist-info"},
		{Name: "golang.org/x/net", Version: "v0.0.0-20230101000000-abcdefabcdef", Ecosystem: Go, Path: "/app/server"},
		{Name: "golang.org/x/net", Version: "v0.23.0", Ecosystem: Go, Path: "/app/fixed"},
	})
	if err != nil {
		t.Fatal(err)
	}
	if len(ms) != 2 || ms[0].ID != "GO-2024-0001" || ms[0].Fixed != "0.23.0" || ms[0].Package.Path != "/app/server" ||
		ms[1].ID != "GHSA-xxxx-yyyy-zzzz" || ms[1].Rating.Severity != check.Medium || !ms[1].Rating.Known {
		t.Errorf("matches: %+v", ms)
	}
}

// TestDBBounds: a record past the record limit (a zip bomb's entry
// whatever its header claims), an export past the export limit, a record
// without an id and a directory without records are errors naming the
// file and the limit.
func TestDBBounds(t *testing.T) {
	src := t.TempDir()
	big := rec("BIG-1", "2024-01-01T00:00:00Z", "Debian:12", "x", intro("0"))
	big["summary"] = strings.Repeat("a", 4096)
	writeZip(t, filepath.Join(src, "big.zip"), []map[string]any{big})
	ctx := limits.With(context.Background(), limits.Limits{VulnRecordSize: 1024})
	_, err := Import(ctx, t.TempDir(), filepath.Join(src, "big.zip"), time.Now())
	var ex *limits.Exceeded
	if !errors.As(err, &ex) || !strings.Contains(err.Error(), "big.zip") || !strings.Contains(err.Error(), "--max-vuln-record-size") {
		t.Errorf("record past the limit: %v", err)
	}
	var many []map[string]any
	for i := range 20 {
		many = append(many, rec("R-"+strings.Repeat("x", i+1), "2024-01-01T00:00:00Z", "Debian:12", "x", intro("0")))
	}
	writeZip(t, filepath.Join(src, "many.zip"), many)
	ctx = limits.With(context.Background(), limits.Limits{VulnExportSize: 1000})
	if _, err := Import(ctx, t.TempDir(), filepath.Join(src, "many.zip"), time.Now()); !errors.As(err, &ex) || !strings.Contains(err.Error(), "--max-vuln-export-size") {
		t.Errorf("export past the limit: %v", err)
	}
	noID := t.TempDir()
	os.WriteFile(filepath.Join(noID, "x.json"), []byte(`{"modified":"2024-01-01T00:00:00Z"}`), 0o644)
	if _, err := Open(context.Background(), noID); err == nil || !strings.Contains(err.Error(), "x.json") || !strings.Contains(err.Error(), "no id") {
		t.Errorf("record without id: %v", err)
	}
	if _, err := Open(context.Background(), t.TempDir()); err == nil || !strings.Contains(err.Error(), "holds no OSV records") {
		t.Errorf("empty directory: %v", err)
	}
	// An export changed after its import is refused, not half-trusted.
	dir := testDB(t)
	if err := os.WriteFile(filepath.Join(dir, "Alpine", "all.zip"), []byte("garbage"), 0o644); err != nil {
		t.Fatal(err)
	}
	if _, err := Open(context.Background(), dir); err == nil || !strings.Contains(err.Error(), "import it again") {
		t.Errorf("changed export: %v", err)
	}
}

// TestIndexStaysInside: an index line naming a file that is not an
// imported export (a path out of the directory) is an error, not a read.
func TestIndexStaysInside(t *testing.T) {
	dir := testDB(t)
	f, err := os.OpenFile(filepath.Join(dir, IndexFile), os.O_APPEND|os.O_WRONLY, 0)
	if err != nil {
		t.Fatal(err)
	}
	f.WriteString("Debian:12\topenssl\t../outside/all.zip\tX.json\n")
	f.Close()
	db, err := Open(context.Background(), dir)
	if err != nil {
		t.Fatal(err)
	}
	_, err = MatchPackages(context.Background(), db, []Package{{Name: "openssl", Version: "1", Ecosystem: Debian, Release: "12"}})
	if err == nil || !strings.Contains(err.Error(), `"../outside/all.zip" is not an imported export`) {
		t.Errorf("index line out of the directory: %v", err)
	}
}

// TestCancelled: a cancelled context stops an import, opening a
// directory of loose records and matching, and leaves no export behind.
func TestCancelled(t *testing.T) {
	src := t.TempDir()
	writeZip(t, filepath.Join(src, "all.zip"), []map[string]any{rec("DSA-1", "2024-01-01T00:00:00Z", "Debian:12", "a", intro("0"))})
	ctx, cancel := context.WithCancel(context.Background())
	cancel()
	dir := filepath.Join(t.TempDir(), "db")
	if _, err := Import(ctx, dir, filepath.Join(src, "all.zip"), time.Now()); !errors.Is(err, context.Canceled) {
		t.Errorf("import: %v", err)
	}
	if _, err := os.Stat(filepath.Join(dir, "Debian", "all.zip")); err == nil {
		t.Error("a cancelled import left an export")
	}
	if _, err := Open(ctx, src); !errors.Is(err, context.Canceled) {
		t.Errorf("open: %v", err)
	}
	db, err := Open(context.Background(), testDB(t))
	if err != nil {
		t.Fatal(err)
	}
	if _, err := MatchPackages(ctx, db, []Package{{Name: "openssl", Version: "1", Ecosystem: Debian, Release: "12"}}); !errors.Is(err, context.Canceled) {
		t.Errorf("match: %v", err)
	}
}

// TestRecordCache: records read for one image are kept, so that the next
// image of the run does not read them again (here: the export is gone,
// and the answer is the same).
func TestRecordCache(t *testing.T) {
	dir := testDB(t)
	db, err := Open(context.Background(), dir)
	if err != nil {
		t.Fatal(err)
	}
	pkgs := []Package{{Name: "libssl3", Version: "3.0.11-1~deb12u2", Ecosystem: Debian, Release: "12", SourceName: "openssl"}}
	first, err := MatchPackages(context.Background(), db, pkgs)
	if err != nil || len(first) != 1 {
		t.Fatalf("%v %v", first, err)
	}
	if err := os.Remove(filepath.Join(dir, "Debian", "all.zip")); err != nil {
		t.Fatal(err)
	}
	again, err := MatchPackages(context.Background(), db, pkgs)
	if err != nil || len(again) != 1 || again[0].ID != first[0].ID || again[0].Fixed != first[0].Fixed {
		t.Errorf("second match: %v %v", again, err)
	}
}
