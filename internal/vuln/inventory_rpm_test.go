package vuln_test

import (
	"context"
	"encoding/hex"
	"os"
	"path/filepath"
	"strings"
	"testing"

	v1 "github.com/google/go-containerregistry/pkg/v1"
	"github.com/ncruces/go-sqlite3"

	"github.com/kubeharden/kubeharden/internal/image"
	. "github.com/kubeharden/kubeharden/internal/image/imagetest"
	"github.com/kubeharden/kubeharden/internal/limits"
	"github.com/kubeharden/kubeharden/internal/vuln"
)

// rpmDB is the sqlite RPM database testdata/rpm/make-rpmdb.sh made with
// rpmbuild and rpm --justdb: kh-hello 1.0-1.el9, kh-epoch 2:3.1-4.el9,
// kh-tools 1.2-3.el9 and its subpackage kh-tools-libs, and an imported
// gpg-pubkey.
func rpmDB(t testing.TB) []byte {
	t.Helper()
	data, err := os.ReadFile("testdata/rpm/rpmdb.sqlite")
	if err != nil {
		t.Fatal(err)
	}
	return data
}

const ubi9OSRelease = `NAME="Red Hat Enterprise Linux"
VERSION="9.4 (Plow)"
ID="rhel"
ID_LIKE="fedora"
VERSION_ID="9.4"
PLATFORM_ID="platform:el9"
PRETTY_NAME="Red Hat Enterprise Linux 9.4 (Plow)"
`

// rpmPackages are the packages of rpmDB as the inventory lists them for
// an image whose os-release is ID, VERSION_ID, in ecosystem eco with
// release rel and PURL vendor.
func rpmPackages(path string, eco vuln.Ecosystem, rel, vendor, distro string) []vuln.Package {
	q := "?arch=noarch&distro=" + distro
	return []vuln.Package{
		{Name: "kh-epoch", Version: "2:3.1-4.el9", Ecosystem: eco, Release: rel, Path: path, Licenses: []string{"GPL-2.0-or-later"},
			PURL: "pkg:rpm/" + vendor + "/kh-epoch@3.1-4.el9" + q + "&epoch=2&upstream=kh-epoch-3.1-4.el9.src.rpm"},
		{Name: "kh-hello", Version: "1.0-1.el9", Ecosystem: eco, Release: rel, Path: path, Licenses: []string{"MIT"},
			PURL: "pkg:rpm/" + vendor + "/kh-hello@1.0-1.el9" + q + "&upstream=kh-hello-1.0-1.el9.src.rpm"},
		{Name: "kh-tools", Version: "1.2-3.el9", Ecosystem: eco, Release: rel, Path: path, Licenses: []string{"Apache-2.0"},
			PURL: "pkg:rpm/" + vendor + "/kh-tools@1.2-3.el9" + q + "&upstream=kh-tools-1.2-3.el9.src.rpm"},
		{Name: "kh-tools-libs", Version: "1.2-3.el9", Ecosystem: eco, Release: rel, Path: path, Licenses: []string{"Apache-2.0"},
			SourceName: "kh-tools", SourceVersion: "1.2-3.el9",
			PURL: "pkg:rpm/" + vendor + "/kh-tools-libs@1.2-3.el9" + q + "&upstream=kh-tools-1.2-3.el9.src.rpm"},
	}
}

// TestInventoryRPM: the sqlite RPM database of a UBI 9 image, made by
// rpm itself, is read from every image source: every package but the
// gpg-pubkey, with its epoch, source RPM and license, in OSV's Red Hat:9.
// rpm leaves it in WAL mode, as in UBI 9: the image's bytes are not
// changed by reading it.
func TestInventoryRPM(t *testing.T) {
	const db = "/usr/lib/sysimage/rpm/rpmdb.sqlite"
	if data := rpmDB(t); data[18] != 2 || data[19] != 2 {
		t.Fatalf("testdata/rpm/rpmdb.sqlite is not in WAL mode (%d, %d)", data[18], data[19])
	}
	img := Image(t, v1.Config{},
		Layer(t,
			File("etc/os-release", ubi9OSRelease),
			reg(strings.TrimPrefix(db, "/"), rpmDB(t)),
			reg("app/node_modules/x/package.json", []byte(`{"name":"x","version":"1.0.0"}`)),
		))
	want := rpmPackages(db, vuln.RedHat, "9", "redhat", "rhel-9.4")
	want = append(want, vuln.Package{Name: "x", Version: "1.0.0", Ecosystem: vuln.Npm, Path: "/app/node_modules/x/package.json", PURL: "pkg:npm/x@1.0.0"})
	// The package list is sorted by ecosystem: "Red Hat" before "npm".
	forEachSource(t, img, func(t *testing.T, got []vuln.Package, err error) {
		if err != nil {
			t.Fatal(err)
		}
		diffPackages(t, got, want)
		if got[0].OSVEcosystem() != "Red Hat:9" {
			t.Errorf("OSV ecosystem %q, want Red Hat:9", got[0].OSVEcosystem())
		}
	})
	loaded, err := image.Load(context.Background(), WriteLayout(t, img), image.LoadOptions{Packages: true})
	if err != nil {
		t.Fatal(err)
	}
	for range 2 {
		got, err := vuln.Inventory(context.Background(), loaded)
		if err != nil || len(got) != len(want) {
			t.Fatalf("%d packages, error %v", len(got), err)
		}
	}
	for _, f := range loaded.PackageFiles() {
		if f.Path == db && (f.Data[18] != 2 || f.Data[19] != 2) {
			t.Errorf("the image's database was changed by reading it: %d, %d", f.Data[18], f.Data[19])
		}
	}
}

// TestInventoryRPMDistros: the ecosystem, release and PURL vendor come
// from os-release; a distribution OSV has no ecosystem for is "RPM"
// without a release; the older path /var/lib/rpm is read too.
func TestInventoryRPMDistros(t *testing.T) {
	for _, tc := range []struct {
		osRelease, path         string
		eco                     vuln.Ecosystem
		rel, vendor, purlDistro string
	}{
		{"ID=fedora\nVERSION_ID=40\n", "/usr/lib/sysimage/rpm/rpmdb.sqlite", vuln.Fedora, "40", "fedora", "fedora-40"},
		{"ID=\"rocky\"\nVERSION_ID=\"9.3\"\n", "/var/lib/rpm/rpmdb.sqlite", vuln.Rocky, "9", "rocky", "rocky-9.3"},
		{"ID=\"almalinux\"\nVERSION_ID=\"9.4\"\n", "/var/lib/rpm/rpmdb.sqlite", vuln.AlmaLinux, "9", "almalinux", "almalinux-9.4"},
		{"ID=\"amzn\"\nVERSION_ID=\"2023\"\n", "/usr/lib/sysimage/rpm/rpmdb.sqlite", vuln.RPM, "", "amazon", "amzn-2023"},
	} {
		t.Run(string(tc.eco), func(t *testing.T) {
			img := Image(t, v1.Config{}, Layer(t,
				File("etc/os-release", tc.osRelease),
				reg(strings.TrimPrefix(tc.path, "/"), rpmDB(t)),
			))
			loaded, err := image.Load(context.Background(), WriteLayout(t, img), image.LoadOptions{Packages: true})
			if err != nil {
				t.Fatal(err)
			}
			got, err := vuln.Inventory(context.Background(), loaded)
			if err != nil {
				t.Fatal(err)
			}
			diffPackages(t, got, rpmPackages(tc.path, tc.eco, tc.rel, tc.vendor, tc.purlDistro))
		})
	}
}

// sqliteFile writes an sqlite database made by stmts and returns its bytes.
func sqliteFile(t testing.TB, stmts ...string) []byte {
	t.Helper()
	path := filepath.Join(t.TempDir(), "db.sqlite")
	conn, err := sqlite3.Open(path)
	if err != nil {
		t.Fatal(err)
	}
	for _, s := range stmts {
		if err := conn.Exec(s); err != nil {
			t.Fatalf("%s: %v", s, err)
		}
	}
	if err := conn.Close(); err != nil {
		t.Fatal(err)
	}
	data, err := os.ReadFile(path)
	if err != nil {
		t.Fatal(err)
	}
	return data
}

// realBlob is the header of kh-hello in rpmDB.
func realBlob(t testing.TB) []byte {
	t.Helper()
	path := filepath.Join(t.TempDir(), "rpmdb.sqlite")
	if err := os.WriteFile(path, rpmDB(t), 0o600); err != nil {
		t.Fatal(err)
	}
	conn, err := sqlite3.Open("file:" + path + "?mode=ro")
	if err != nil {
		t.Fatal(err)
	}
	defer func() { _ = conn.Close() }()
	stmt, _, err := conn.Prepare("SELECT p.blob FROM Packages p JOIN Name n ON n.hnum = p.hnum WHERE n.key = 'kh-hello'")
	if err != nil {
		t.Fatal(err)
	}
	defer func() { _ = stmt.Close() }()
	if !stmt.Step() {
		t.Fatalf("kh-hello not in the database: %v", stmt.Err())
	}
	return stmt.ColumnBlob(0, nil)
}

// TestInventoryRPMBad: a corrupt, truncated or hostile RPM database is an
// error naming the file (and the package, for a bad header); the good
// headers of the same database and the other package files are still
// listed, and nothing panics.
func TestInventoryRPMBad(t *testing.T) {
	good := realBlob(t)
	truncatedHeader := good[:len(good)/2]
	// il = 1 entry, dl = 4 bytes: NAME as a STRING at offset 1000.
	pastData := []byte{0, 0, 0, 1, 0, 0, 0, 4, 0, 0, 0x03, 0xe8, 0, 0, 0, 6, 0, 0, 0x03, 0xe8, 0, 0, 0, 1, 'a', 'b', 'c', 'd'}
	db := rpmDB(t)
	for _, tc := range []struct {
		name string
		data []byte
		want []string
		pkgs string
	}{
		{"truncated database", db[:8192], []string{"/var/lib/rpm/rpmdb.sqlite: "}, "x"},
		{"garbage after the sqlite magic", append([]byte("SQLite format 3\x00"), make([]byte, 4000)...), []string{"/var/lib/rpm/rpmdb.sqlite: "}, "x"},
		{"hostile headers", sqliteFile(t,
			"CREATE TABLE Packages (hnum INTEGER PRIMARY KEY AUTOINCREMENT, blob BLOB NOT NULL)",
			"INSERT INTO Packages VALUES (1, x'"+hex.EncodeToString(good)+"')",
			"INSERT INTO Packages VALUES (2, x'"+hex.EncodeToString(truncatedHeader)+"')",
			"INSERT INTO Packages VALUES (3, x'"+hex.EncodeToString(pastData)+"')",
			"INSERT INTO Packages VALUES (4, 'text')",
			"INSERT INTO Packages VALUES (5, x'ffffffffffffffff')",
		), []string{
			"/var/lib/rpm/rpmdb.sqlite: package 2: header declares",
			"/var/lib/rpm/rpmdb.sqlite: package 3: tag 1000: offset 1000 is past the 4 bytes of data",
			"/var/lib/rpm/rpmdb.sqlite: package 4: header is a TEXT, not a blob",
			"/var/lib/rpm/rpmdb.sqlite: package 5: header declares 4294967295 index entries",
		}, "kh-hello,x"},
		{"a view that computes rows", sqliteFile(t,
			"CREATE VIEW Packages AS WITH RECURSIVE c(x) AS (SELECT 1 UNION ALL SELECT x+1 FROM c) SELECT x AS hnum, zeroblob(1000000) AS blob FROM c",
		), []string{"/var/lib/rpm/rpmdb.sqlite: schema object Packages is a view, not a table"}, "x"},
		{"a generated column", sqliteFile(t,
			"CREATE TABLE Packages (hnum INTEGER PRIMARY KEY, blob BLOB AS (zeroblob(100000000)) VIRTUAL)",
			"INSERT INTO Packages (hnum) VALUES (1)",
		), []string{"/var/lib/rpm/rpmdb.sqlite: column blob of Packages is generated"}, "x"},
		{"no Packages table", sqliteFile(t, "CREATE TABLE t (a)"), []string{"/var/lib/rpm/rpmdb.sqlite: no table Packages"}, "x"},
		{"not a database", []byte("hello world, this is not a database at all"), []string{"/var/lib/rpm/rpmdb.sqlite: not an RPM database"}, "x"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			img := Image(t, v1.Config{}, Layer(t,
				File("etc/os-release", ubi9OSRelease),
				reg("var/lib/rpm/rpmdb.sqlite", tc.data),
				reg("app/node_modules/x/package.json", []byte(`{"name":"x","version":"1.0.0"}`)),
			))
			loaded, err := image.Load(context.Background(), WriteLayout(t, img), image.LoadOptions{Packages: true})
			if err != nil {
				t.Fatal(err)
			}
			got, err := vuln.Inventory(context.Background(), loaded)
			for _, w := range tc.want {
				if err == nil || !strings.Contains(err.Error(), w) {
					t.Errorf("error %v\nlacks %q", err, w)
				}
			}
			var names []string
			for _, p := range got {
				names = append(names, p.Name)
			}
			if strings.Join(names, ",") != tc.pkgs {
				t.Errorf("packages %v, want %s", names, tc.pkgs)
			}
		})
	}
}

// TestInventoryRPMBerkeleyDB: the BerkeleyDB Packages of UBI 8 and
// CentOS 7, written by BerkeleyDB's db_load and read back by rpm's own
// bdb_ro backend (testdata/rpm/make-rpmdb.sh), in both byte orders, with
// headers inline and on overflow pages, lists the same packages.
func TestInventoryRPMBerkeleyDB(t *testing.T) {
	for _, file := range []string{"Packages", "Packages.be512"} {
		t.Run(file, func(t *testing.T) {
			data, err := os.ReadFile("testdata/rpm/" + file)
			if err != nil {
				t.Fatal(err)
			}
			img := Image(t, v1.Config{}, Layer(t,
				File("etc/os-release", "ID=\"rhel\"\nVERSION_ID=\"8.10\"\n"),
				reg("var/lib/rpm/Packages", data),
			))
			loaded, err := image.Load(context.Background(), WriteLayout(t, img), image.LoadOptions{Packages: true})
			if err != nil {
				t.Fatal(err)
			}
			got, err := vuln.Inventory(context.Background(), loaded)
			if err != nil {
				t.Fatal(err)
			}
			diffPackages(t, got, rpmPackages("/var/lib/rpm/Packages", vuln.RedHat, "8", "redhat", "rhel-8.10"))
		})
	}
}

// TestInventoryRPMNotRead: an ndb database (SUSE) is found and is an
// error saying its packages are missing, not an inventory that silently
// lacks them; a file that is no RPM database at all is an error too.
func TestInventoryRPMNotRead(t *testing.T) {
	bdb := make([]byte, 4096)
	copy(bdb[12:], []byte{0x61, 0x15, 0x06, 0x00}) // hash magic, little-endian, page size 0
	ndb := append([]byte("RpmP"), make([]byte, 60)...)
	img := Image(t, v1.Config{}, Layer(t,
		reg("var/lib/rpm/Packages", bdb),
		reg("usr/lib/sysimage/rpm/Packages.db", ndb),
		reg("app/node_modules/x/package.json", []byte(`{"name":"x","version":"1.0.0"}`)),
	))
	loaded, err := image.Load(context.Background(), WriteLayout(t, img), image.LoadOptions{Packages: true})
	if err != nil {
		t.Fatal(err)
	}
	got, err := vuln.Inventory(context.Background(), loaded)
	for _, w := range []string{
		"/var/lib/rpm/Packages: BerkeleyDB page size 0 is not a power of two",
		"/usr/lib/sysimage/rpm/Packages.db: ndb RPM databases (SUSE) are not read yet",
	} {
		if err == nil || !strings.Contains(err.Error(), w) {
			t.Errorf("error %v\nlacks %q", err, w)
		}
	}
	if len(got) != 1 || got[0].Name != "x" {
		t.Errorf("packages %+v", got)
	}
}

// TestInventoryRPMLimit: an RPM database past --max-inventory-size is an
// error naming it and the limit.
func TestInventoryRPMLimit(t *testing.T) {
	img := Image(t, v1.Config{}, Layer(t,
		reg("usr/lib/sysimage/rpm/rpmdb.sqlite", rpmDB(t)),
		reg("app/node_modules/x/package.json", []byte(`{"name":"x","version":"1.0.0"}`)),
	))
	ctx := limits.With(context.Background(), limits.Limits{InventorySize: 64 << 10})
	loaded, err := image.Load(ctx, WriteLayout(t, img), image.LoadOptions{Packages: true})
	if err != nil {
		t.Fatal(err)
	}
	got, err := vuln.Inventory(ctx, loaded)
	if err == nil || !strings.Contains(err.Error(), "/usr/lib/sysimage/rpm/rpmdb.sqlite (") || !strings.Contains(err.Error(), "--max-inventory-size") {
		t.Errorf("error = %v, want one naming the database and the limit", err)
	}
	if len(got) != 1 || got[0].Name != "x" {
		t.Errorf("packages %+v", got)
	}
}

// TestInventoryRPMCanceled: a canceled context stops the inventory.
func TestInventoryRPMCanceled(t *testing.T) {
	img := Image(t, v1.Config{}, Layer(t, reg("usr/lib/sysimage/rpm/rpmdb.sqlite", rpmDB(t))))
	loaded, err := image.Load(context.Background(), WriteLayout(t, img), image.LoadOptions{Packages: true})
	if err != nil {
		t.Fatal(err)
	}
	ctx, cancel := context.WithCancel(context.Background())
	cancel()
	if got, err := vuln.Inventory(ctx, loaded); err == nil || len(got) != 0 {
		t.Errorf("canceled: %d packages, error %v", len(got), err)
	}
}
