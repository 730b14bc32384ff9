package vuln

import (
	"bytes"
	"context"
	"encoding/binary"
	"errors"
	"fmt"
	"strings"
	"sync/atomic"

	"github.com/ncruces/go-sqlite3"
	"github.com/ncruces/go-sqlite3/vfs/memdb"
)

// RPM is the ecosystem of the RPM packages of a distribution OSV has no
// ecosystem for (Amazon Linux, CentOS, Oracle Linux, an image without
// os-release): they are listed in the inventory and the SBOM, with no
// release, and match no advisory.
const RPM Ecosystem = "RPM"

// The bounds of reading an sqlite RPM database, beyond the inventory-size
// limit that bounds the file itself.
const (
	// maxRPMHeader bounds one package's header blob: rpm allows 256 MiB,
	// the largest real ones (texlive, kernel-core) are a few MiB.
	maxRPMHeader = 32 << 20
	// maxRPMSQLiteMemory bounds the memory SQLite itself uses (page
	// cache, the row being read); the database file is outside it.
	maxRPMSQLiteMemory = 128 << 20
)

// The file signatures that tell RPM database formats apart.
var (
	sqliteMagic = []byte("SQLite format 3\x00")
	// ndbMagic starts SUSE's ndb Packages.db ("RpmP" little-endian).
	ndbMagic = []byte("RpmP")
)

// bdbHashMagic is BerkeleyDB's hash database magic, at offset 12 of its
// metadata page, in the byte order of the machine that wrote it.
const bdbHashMagic = 0x00061561

// rpmdbSeq makes the names of the in-memory databases unique.
var rpmdbSeq atomic.Uint64

// parseRPMDB reads the installed packages of an RPM database: sqlite
// (UBI 9, RHEL 9, Fedora 33 and later, Rocky and Alma 9, Amazon Linux
// 2023) or BerkeleyDB (UBI 8, RHEL 8, CentOS 7, Amazon Linux 2); ndb
// (SUSE) is an error saying its packages are missing.
func parseRPMDB(ctx context.Context, data []byte, path string, d distro) ([]Package, error) {
	switch {
	case bytes.HasPrefix(data, sqliteMagic):
		return parseRPMSQLite(ctx, data, path, d)
	case bytes.HasPrefix(data, ndbMagic):
		return nil, fmt.Errorf("%s: ndb RPM databases (SUSE) are not read yet: the image's RPM packages are missing from the inventory", path)
	case len(data) >= 16 && (binary.BigEndian.Uint32(data[12:16]) == bdbHashMagic || binary.LittleEndian.Uint32(data[12:16]) == bdbHashMagic):
		return parseRPMBerkeleyDB(data, path, d)
	}
	return nil, fmt.Errorf("%s: not an RPM database (neither sqlite, BerkeleyDB nor ndb)", path)
}

// parseRPMSQLite reads table Packages (hnum, blob) of an sqlite RPM
// database: each blob is a package's header.
//
// SQLite runs translated from WebAssembly (ncruces/go-sqlite3): its memory
// is a bounds-checked Go slice of at most maxRPMSQLiteMemory, so a hostile
// database that found a bug in SQLite could not reach the rest of the
// process. It reads a private in-memory copy (WAL mode turned off, as the
// image's -wal file is not read), never a file.
func parseRPMSQLite(ctx context.Context, data []byte, path string, d distro) (pkgs []Package, err error) {
	defer func() {
		// A trap of the translated code (an out-of-bounds access of its
		// memory) is a Go panic in this goroutine: this database's error.
		if r := recover(); r != nil {
			pkgs, err = nil, fmt.Errorf("%s: reading the sqlite RPM database failed: %v", path, r)
		}
	}()
	name := fmt.Sprintf("kubeharden-rpmdb-%d", rpmdbSeq.Add(1))
	memdb.Create(name, bytes.Clone(data))
	defer memdb.Delete(name)
	conn, err := sqlite3.OpenContext(sqlite3.WithMaxMemory(ctx, maxRPMSQLiteMemory), "file:/"+name+"?vfs=memdb&mode=ro")
	if err != nil {
		return nil, fmt.Errorf("%s: opening the sqlite RPM database: %w", path, err)
	}
	defer func() { _ = conn.Close() }()
	conn.Limit(sqlite3.LIMIT_LENGTH, maxRPMHeader)
	conn.SetInterrupt(ctx)
	// A schema may hold SQL: only a plain table with stored columns is
	// read, never a view, a virtual table or a generated column that
	// would run the database's code.
	if err := conn.Exec("PRAGMA trusted_schema = OFF; PRAGMA query_only = ON"); err != nil {
		return nil, fmt.Errorf("%s: %w", path, err)
	}
	if err := checkRPMSchema(conn); err != nil {
		return nil, fmt.Errorf("%s: %w", path, err)
	}
	stmt, _, err := conn.Prepare("SELECT hnum, blob FROM Packages ORDER BY hnum")
	if err != nil {
		return nil, fmt.Errorf("%s: reading table Packages: %w", path, err)
	}
	defer func() { _ = stmt.Close() }()
	fe := &fileErrors{path: path}
	for stmt.Step() {
		hnum := stmt.ColumnInt64(0)
		if stmt.ColumnType(1) != sqlite3.BLOB {
			fe.addAt(fmt.Sprintf("package %d", hnum), "header is a %s, not a blob", stmt.ColumnType(1))
			continue
		}
		h, err := parseRPMHeader(stmt.ColumnRawBlob(1))
		if err != nil {
			fe.addAt(fmt.Sprintf("package %d", hnum), "%v", err)
			continue
		}
		if h.name == "gpg-pubkey" {
			// An imported signing key, not a package.
			continue
		}
		pkgs = append(pkgs, rpmPackage(h, path, d))
	}
	if err := stmt.Err(); err != nil {
		if ctxErr := ctx.Err(); ctxErr != nil {
			return nil, ctxErr
		}
		return pkgs, errors.Join(fe.err(), fmt.Errorf("%s: reading table Packages: %w", path, err))
	}
	return pkgs, fe.err()
}

// addAt is add for a place that is not a line: "package 3", "page 2
// item 5".
func (e *fileErrors) addAt(where, format string, args ...any) {
	e.n++
	if e.n <= maxFileErrors {
		e.errs = append(e.errs, fmt.Errorf("%s: %s: %s", e.path, where, fmt.Sprintf(format, args...)))
	}
}

// checkRPMSchema makes sure Packages is an ordinary table whose columns
// hnum and blob are stored, not computed.
func checkRPMSchema(conn *sqlite3.Conn) error {
	stmt, _, err := conn.Prepare("SELECT type, sql FROM sqlite_schema WHERE name = 'Packages'")
	if err != nil {
		return fmt.Errorf("reading the schema: %w", err)
	}
	defer func() { _ = stmt.Close() }()
	if !stmt.Step() {
		if err := stmt.Err(); err != nil {
			return fmt.Errorf("reading the schema: %w", err)
		}
		return errors.New("no table Packages: not an RPM database")
	}
	typ, sql := stmt.ColumnText(0), stmt.ColumnText(1)
	if typ == "table" && strings.HasPrefix(strings.ToUpper(strings.TrimSpace(sql)), "CREATE VIRTUAL") {
		typ = "virtual table"
	}
	if typ != "table" {
		return fmt.Errorf("schema object Packages is a %s, not a table: not an RPM database", short(typ))
	}
	cols, _, err := conn.Prepare("SELECT name, hidden FROM pragma_table_xinfo('Packages')")
	if err != nil {
		return fmt.Errorf("reading the columns of Packages: %w", err)
	}
	defer func() { _ = cols.Close() }()
	found := 0
	for cols.Step() {
		name := cols.ColumnText(0)
		if name != "hnum" && name != "blob" {
			continue
		}
		found++
		if cols.ColumnInt(1) != 0 {
			return fmt.Errorf("column %s of Packages is generated, not stored: not an RPM database", name)
		}
	}
	if err := cols.Err(); err != nil {
		return fmt.Errorf("reading the columns of Packages: %w", err)
	}
	if found != 2 {
		return errors.New("table Packages has no columns hnum and blob: not an RPM database")
	}
	return nil
}

// rpmVendors are the PURL namespaces of the RPM distributions, by
// os-release ID (purl-spec: the vendor, "fedora", "redhat").
var rpmVendors = map[string]string{
	"rhel": "redhat", "centos": "centos", "fedora": "fedora", "rocky": "rocky",
	"almalinux": "almalinux", "amzn": "amazon", "ol": "oracle",
	"opensuse": "opensuse", "opensuse-leap": "opensuse", "sles": "suse",
}

// rpmPackage is the inventory's package of an RPM header.
func rpmPackage(h rpmHeader, path string, d distro) Package {
	eco := RPM
	switch d.ecosystem {
	case RedHat, Rocky, AlmaLinux, Fedora:
		eco = d.ecosystem
	}
	p := Package{Name: h.name, Version: h.evr(), Ecosystem: eco, Path: path}
	if eco == d.ecosystem {
		p.Release = d.release
	}
	if sn, svr, ok := h.source(); ok {
		sv := svr
		if h.hasEpoch && h.epoch > 0 {
			// The source RPM's file name has no epoch; its package has
			// the binary's.
			sv = fmt.Sprintf("%d:%s", h.epoch, svr)
		}
		if sn != p.Name || sv != p.Version {
			p.SourceName, p.SourceVersion = sn, sv
		}
	}
	if h.license != "" {
		p.Licenses = []string{h.license}
	}
	vendor := rpmVendors[d.id]
	if vendor == "" {
		vendor = d.id
	}
	// purl-spec's rpm type: VERSION-RELEASE as the version, the epoch a
	// qualifier.
	vr := h.version
	if h.release != "" {
		vr += "-" + h.release
	}
	epoch := ""
	if h.hasEpoch && h.epoch > 0 {
		epoch = fmt.Sprint(h.epoch)
	}
	p.PURL = purl("rpm", vendor, h.name, vr,
		[2]string{"arch", h.arch}, [2]string{"distro", d.purlDistro()},
		[2]string{"epoch", epoch}, [2]string{"upstream", h.sourceRPM})
	return p
}
