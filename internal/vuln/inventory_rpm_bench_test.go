package vuln

import (
	"context"
	"os"
	"path/filepath"
	"strconv"
	"testing"

	"github.com/ncruces/go-sqlite3"
)

// bigRPMDB is an sqlite RPM database of n headers (n/5 of them
// gpg-pubkeys): the real headers of testdata/rpm/rpmdb.sqlite repeated, the size of a UBI 9 (about 200
// packages) or Fedora (about 500) database and beyond.
func bigRPMDB(b *testing.B, n int) []byte {
	b.Helper()
	path := filepath.Join(b.TempDir(), "rpmdb.sqlite")
	data, err := os.ReadFile("testdata/rpm/rpmdb.sqlite")
	if err != nil {
		b.Fatal(err)
	}
	if err := os.WriteFile(path, data, 0o600); err != nil {
		b.Fatal(err)
	}
	conn, err := sqlite3.Open(path)
	if err != nil {
		b.Fatal(err)
	}
	for _, s := range []string{
		"PRAGMA foreign_keys = OFF",
		"CREATE TEMP TABLE real AS SELECT blob FROM Packages",
		"DELETE FROM Packages",
		"WITH RECURSIVE c(i) AS (SELECT 1 UNION ALL SELECT i+1 FROM c WHERE i < " + strconv.Itoa(n/5) + ") INSERT INTO Packages (blob) SELECT real.blob FROM c, real",
	} {
		if err := conn.Exec(s); err != nil {
			b.Fatalf("%s: %v", s, err)
		}
	}
	if err := conn.Close(); err != nil {
		b.Fatal(err)
	}
	out, err := os.ReadFile(path)
	if err != nil {
		b.Fatal(err)
	}
	return out
}

func benchRPMDB(b *testing.B, data []byte) {
	d := distroOf(map[string]string{"ID": "rhel", "VERSION_ID": "9.4"})
	b.SetBytes(int64(len(data)))
	b.ReportAllocs()
	var n int
	for b.Loop() {
		pkgs, err := parseRPMDB(context.Background(), data, "/usr/lib/sysimage/rpm/rpmdb.sqlite", d)
		if err != nil {
			b.Fatal(err)
		}
		n = len(pkgs)
	}
	b.ReportMetric(float64(n)*float64(b.N)/b.Elapsed().Seconds(), "packages/s")
}

// BenchmarkRPMSQLite reads sqlite RPM databases of 4 (the test one), 500
// and 4000 packages.
func BenchmarkRPMSQLite(b *testing.B) {
	data, err := os.ReadFile("testdata/rpm/rpmdb.sqlite")
	if err != nil {
		b.Fatal(err)
	}
	b.Run("4", func(b *testing.B) { benchRPMDB(b, data) })
	b.Run("500", func(b *testing.B) { benchRPMDB(b, bigRPMDB(b, 500)) })
	b.Run("4000", func(b *testing.B) { benchRPMDB(b, bigRPMDB(b, 4000)) })
}

// BenchmarkRPMBerkeleyDB reads the BerkeleyDB Packages of testdata/rpm.
func BenchmarkRPMBerkeleyDB(b *testing.B) {
	for _, f := range []string{"Packages", "Packages.be512"} {
		data, err := os.ReadFile("testdata/rpm/" + f)
		if err != nil {
			b.Fatal(err)
		}
		b.Run(f, func(b *testing.B) { benchRPMDB(b, data) })
	}
}
