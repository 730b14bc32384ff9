package vuln

import (
	"archive/zip"
	"bufio"
	"bytes"
	"context"
	"crypto/sha256"
	"encoding/hex"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"io/fs"
	"os"
	"path"
	"path/filepath"
	"slices"
	"sort"
	"strings"
	"sync"
	"time"

	"github.com/kubeharden/kubeharden/internal/limits"
)

// The files kubeharden keeps in a database directory beside the exports.
const (
	// MetaFile records the exports imported: when, how many records,
	// and the newest modified date of each (the database's age).
	MetaFile = "kubeharden-vulndb.json"
	// IndexFile maps (ecosystem, package) to the records naming it, one
	// tab-separated line each, so that matching reads only those.
	IndexFile = "kubeharden-vulndb.index"
)

// maxMetaSize bounds the metadata file: a few hundred bytes per export.
const maxMetaSize = 16 << 20

// Export is one OSV export of a database directory.
type Export struct {
	// Name is the ecosystem the export covers ("Debian"), and File its
	// path in the directory (Debian/all.zip).
	Name string `json:"name"`
	File string `json:"file"`
	// Source is the file it was imported from.
	Source   string    `json:"source"`
	Imported time.Time `json:"imported"`
	Records  int       `json:"records"`
	// Newest is the newest modified date of its records: how fresh the
	// export is, whenever it was downloaded.
	Newest time.Time `json:"newest"`
	Size   int64     `json:"size"`
	SHA256 string    `json:"sha256"`
}

type meta struct {
	Version int      `json:"version"`
	Exports []Export `json:"exports"`
}

// DB is a directory of OSV data as osv.dev publishes it: exports
// imported by Import (indexed), and loose records (*.json files, and
// zips copied in by hand), indexed when the directory is opened.
type DB struct {
	Dir     string
	Exports []Export
	lim     limits.Limits
	// loose indexes the records not in an imported export, read at Open.
	loose   map[indexKey][]*Record
	looseN  int
	newestL time.Time

	// cache keeps the records read from exports, so that images sharing
	// a base (the images of one scan --images) read each record once. It
	// holds at most maxCachedRecords.
	mu    sync.Mutex
	cache map[entryRef]*Record
}

// maxCachedRecords bounds the records a DB keeps read: about 3 KB each
// parsed, some 300 MB at most, far above what the images of one run
// share.
const maxCachedRecords = 100_000

type indexKey struct{ ecosystem, name string }

// normalizeName puts a package name in the form the index keys it by:
// PyPI names are case-insensitive with runs of -, _ and . equal (PEP 503).
func normalizeName(ecosystem, name string) string {
	base, _ := splitEcosystem(ecosystem)
	if Ecosystem(base) == PyPI {
		return pypiNormalize(name)
	}
	return name
}

// Open opens a database directory. It reads the metadata and index of
// the imported exports, and reads and indexes every other record: loose
// *.json files and zips not imported. It never downloads anything.
func Open(ctx context.Context, dir string) (*DB, error) {
	lim := limits.From(ctx)
	info, err := os.Stat(dir)
	if err != nil {
		return nil, fmt.Errorf("opening vulnerability database: %w", err)
	}
	if !info.IsDir() {
		return nil, fmt.Errorf("opening vulnerability database: %s is not a directory", dir)
	}
	db := &DB{Dir: dir, lim: lim, loose: map[indexKey][]*Record{}}
	m, err := readMeta(dir)
	if err != nil {
		return nil, err
	}
	db.Exports = m.Exports
	imported := map[string]bool{}
	for _, e := range m.Exports {
		imported[e.File] = true
		st, err := os.Stat(filepath.Join(dir, filepath.FromSlash(e.File)))
		if err != nil {
			return nil, fmt.Errorf("vulnerability database %s: export %s: %w", dir, e.File, err)
		}
		if st.Size() != e.Size {
			return nil, fmt.Errorf("vulnerability database %s: %s changed since it was imported (%d bytes, was %d): import it again", dir, e.File, st.Size(), e.Size)
		}
	}
	budget := lim.VulnExportSize
	err = filepath.WalkDir(dir, func(p string, d fs.DirEntry, err error) error {
		if err != nil {
			return err
		}
		if ctx.Err() != nil {
			return ctx.Err()
		}
		rel, _ := filepath.Rel(dir, p)
		rel = filepath.ToSlash(rel)
		if d.IsDir() || rel == MetaFile || rel == IndexFile || imported[rel] || strings.HasPrefix(d.Name(), ".") {
			return nil
		}
		if !d.Type().IsRegular() {
			return nil
		}
		switch {
		case strings.HasSuffix(rel, ".json"):
			data, err := readFileBounded(p, lim.VulnRecordSize, lim.VulnRecordSizeExceeded)
			if err != nil {
				return err
			}
			if budget -= int64(len(data)); budget < 0 {
				return fmt.Errorf("%s: loose records %w", dir, lim.VulnExportSizeExceeded())
			}
			rec, err := ParseRecord(data)
			if err != nil {
				return fmt.Errorf("%s: %w", p, err)
			}
			db.addLoose(rec)
		case strings.HasSuffix(rel, ".zip"):
			return readZip(ctx, p, p, lim, func(_ string, rec *Record) { db.addLoose(rec) })
		}
		return nil
	})
	if err != nil {
		return nil, fmt.Errorf("opening vulnerability database: %w", err)
	}
	if len(db.Exports) == 0 && db.looseN == 0 {
		return nil, fmt.Errorf("opening vulnerability database: %s holds no OSV records (import osv.dev exports with `kubeharden vulndb import`)", dir)
	}
	return db, nil
}

func (db *DB) addLoose(rec *Record) {
	db.looseN++
	if rec.Modified.After(db.newestL) {
		db.newestL = rec.Modified
	}
	seen := map[indexKey]bool{}
	for _, a := range rec.Affected {
		k := indexKey{a.Package.Ecosystem, normalizeName(a.Package.Ecosystem, a.Package.Name)}
		if !seen[k] {
			seen[k] = true
			db.loose[k] = append(db.loose[k], rec)
		}
	}
}

// Records is the number of records in the database.
func (db *DB) Records() int {
	n := db.looseN
	for _, e := range db.Exports {
		n += e.Records
	}
	return n
}

// Oldest is the stalest part of the database: the oldest of the newest
// modified dates of its exports (and of the loose records), which is how
// out of date the database is, whenever it was downloaded. Zero for a
// database without dates.
func (db *DB) Oldest() time.Time {
	var t time.Time
	for _, e := range db.Exports {
		if t.IsZero() || e.Newest.Before(t) {
			t = e.Newest
		}
	}
	if db.looseN > 0 && (t.IsZero() || db.newestL.Before(t)) {
		t = db.newestL
	}
	return t
}

// lookup returns the records naming any of keys, reading from the
// exports only the records the index lists for them.
func (db *DB) lookup(ctx context.Context, keys map[indexKey]bool) (map[indexKey][]*Record, error) {
	out := map[indexKey][]*Record{}
	for k := range keys {
		if rs := db.loose[k]; len(rs) > 0 {
			out[k] = append(out[k], rs...)
		}
	}
	if len(db.Exports) == 0 {
		return out, nil
	}
	wanted, err := db.scanIndex(keys)
	if err != nil {
		return nil, err
	}
	// One read per record, however many keys name it.
	byFile := map[string]map[string][]indexKey{}
	for k, refs := range wanted {
		for _, r := range refs {
			if byFile[r.file] == nil {
				byFile[r.file] = map[string][]indexKey{}
			}
			byFile[r.file][r.entry] = append(byFile[r.file][r.entry], k)
		}
	}
	for _, file := range slices.Sorted(mapKeys(byFile)) {
		if err := ctx.Err(); err != nil {
			return nil, err
		}
		entries := byFile[file]
		db.mu.Lock()
		for entry, ks := range entries {
			if rec, ok := db.cache[entryRef{file, entry}]; ok {
				for _, k := range ks {
					out[k] = append(out[k], rec)
				}
				delete(entries, entry)
			}
		}
		db.mu.Unlock()
		if len(entries) == 0 {
			continue
		}
		if err := db.readEntries(file, entries, out); err != nil {
			return nil, err
		}
	}
	return out, nil
}

// readEntries reads the records of entries from the export file, adding
// each to out under its keys and to the cache.
func (db *DB) readEntries(file string, entries map[string][]indexKey, out map[indexKey][]*Record) error {
	zr, err := zip.OpenReader(filepath.Join(db.Dir, filepath.FromSlash(file)))
	if err != nil {
		return fmt.Errorf("vulnerability database: %s: %w", file, err)
	}
	defer func() { _ = zr.Close() }()
	for _, f := range zr.File {
		ks, ok := entries[f.Name]
		if !ok {
			continue
		}
		data, err := readZipEntry(f, db.lim)
		if err != nil {
			return fmt.Errorf("vulnerability database: %s: %s: %w", file, f.Name, err)
		}
		rec, err := ParseRecord(data)
		if err != nil {
			return fmt.Errorf("vulnerability database: %s: %s: %w", file, f.Name, err)
		}
		for _, k := range ks {
			out[k] = append(out[k], rec)
		}
		db.mu.Lock()
		if db.cache == nil {
			db.cache = map[entryRef]*Record{}
		}
		if len(db.cache) < maxCachedRecords {
			db.cache[entryRef{file, f.Name}] = rec
		}
		db.mu.Unlock()
	}
	return nil
}

func mapKeys[K comparable, V any](m map[K]V) func(func(K) bool) {
	return func(yield func(K) bool) {
		for k := range m {
			if !yield(k) {
				return
			}
		}
	}
}

type entryRef struct{ file, entry string }

// scanIndex streams the index file, keeping the lines of keys only.
func (db *DB) scanIndex(keys map[indexKey]bool) (map[indexKey][]entryRef, error) {
	f, err := os.Open(filepath.Join(db.Dir, IndexFile))
	if err != nil {
		return nil, fmt.Errorf("vulnerability database: %w", err)
	}
	defer func() { _ = f.Close() }()
	out := map[indexKey][]entryRef{}
	sc := bufio.NewScanner(f)
	sc.Buffer(make([]byte, 64<<10), 1<<20)
	line := 0
	for sc.Scan() {
		line++
		eco, rest, ok1 := strings.Cut(sc.Text(), "\t")
		name, rest, ok2 := strings.Cut(rest, "\t")
		file, entry, ok3 := strings.Cut(rest, "\t")
		if !ok1 || !ok2 || !ok3 {
			return nil, fmt.Errorf("vulnerability database: %s:%d: not an index line: import the exports again", IndexFile, line)
		}
		k := indexKey{eco, name}
		if !slices.ContainsFunc(db.Exports, func(e Export) bool { return e.File == file }) {
			// Only the exports the metadata lists are read: an index
			// line cannot send a read elsewhere.
			return nil, fmt.Errorf("vulnerability database: %s:%d: %q is not an imported export: import the exports again", IndexFile, line, file)
		}
		if keys[k] {
			out[k] = append(out[k], entryRef{file, entry})
		}
	}
	if err := sc.Err(); err != nil {
		return nil, fmt.Errorf("vulnerability database: %s: %w", IndexFile, err)
	}
	return out, nil
}

func readMeta(dir string) (*meta, error) {
	data, err := readFileBounded(filepath.Join(dir, MetaFile), maxMetaSize, func() error { return errors.New("is too large") })
	if errors.Is(err, fs.ErrNotExist) {
		return &meta{Version: 1}, nil
	}
	if err != nil {
		return nil, fmt.Errorf("vulnerability database: %w", err)
	}
	var m meta
	if err := json.Unmarshal(data, &m); err != nil {
		return nil, fmt.Errorf("vulnerability database: %s: %w", MetaFile, cleanJSONError(err))
	}
	for _, e := range m.Exports {
		if !fs.ValidPath(e.File) || e.File == MetaFile || e.File == IndexFile {
			return nil, fmt.Errorf("vulnerability database: %s: export file %q is not a path inside the directory", MetaFile, e.File)
		}
	}
	return &m, nil
}

// readFileBounded reads a regular file of at most max bytes.
func readFileBounded(p string, max int64, exceeded func() error) ([]byte, error) {
	f, err := os.Open(p)
	if err != nil {
		return nil, err
	}
	defer func() { _ = f.Close() }()
	st, err := f.Stat()
	if err != nil {
		return nil, err
	}
	if !st.Mode().IsRegular() {
		return nil, fmt.Errorf("%s: not a regular file", p)
	}
	data, err := io.ReadAll(io.LimitReader(f, max+1))
	if err != nil {
		return nil, fmt.Errorf("%s: %w", p, err)
	}
	if int64(len(data)) > max {
		return nil, fmt.Errorf("%s: %w", p, exceeded())
	}
	return data, nil
}

// readZipEntry reads one entry, refusing one past the record size
// whatever its header claims (a zip bomb's header lies).
func readZipEntry(f *zip.File, lim limits.Limits) ([]byte, error) {
	if f.UncompressedSize64 > uint64(lim.VulnRecordSize) {
		return nil, lim.VulnRecordSizeExceeded()
	}
	rc, err := f.Open()
	if err != nil {
		return nil, err
	}
	defer func() { _ = rc.Close() }()
	data, err := io.ReadAll(io.LimitReader(rc, lim.VulnRecordSize+1))
	if err != nil {
		return nil, err
	}
	if int64(len(data)) > lim.VulnRecordSize {
		return nil, lim.VulnRecordSizeExceeded()
	}
	return data, nil
}

// readZip reads every *.json record of an export, bounded per record and
// in total.
func readZip(ctx context.Context, p, name string, lim limits.Limits, each func(entry string, rec *Record)) error {
	zr, err := zip.OpenReader(p)
	if err != nil {
		return fmt.Errorf("%s: %w", name, err)
	}
	defer func() { _ = zr.Close() }()
	var total int64
	for _, f := range zr.File {
		if err := ctx.Err(); err != nil {
			return err
		}
		if f.FileInfo().IsDir() || !strings.HasSuffix(f.Name, ".json") {
			continue
		}
		data, err := readZipEntry(f, lim)
		if err != nil {
			return fmt.Errorf("%s: %s: %w", name, f.Name, err)
		}
		if total += int64(len(data)); total > lim.VulnExportSize {
			return fmt.Errorf("%s: %w", name, lim.VulnExportSizeExceeded())
		}
		rec, err := ParseRecord(data)
		if err != nil {
			return fmt.Errorf("%s: %s: %w", name, f.Name, err)
		}
		each(f.Name, rec)
	}
	return nil
}

// Import adds an OSV export (an all.zip as osv.dev publishes it) to the
// database directory dir, creating it if needed: the zip is copied in as
// <ecosystem>/all.zip, replacing the previous export of that ecosystem,
// every record is read and checked, and the index and metadata are
// rewritten. Each file is replaced atomically (written aside, then
// renamed): an import that fails while reading leaves the directory as it
// was, and one interrupted between the renames is detected by Open (the
// export's size no longer matches) and asks for a new import.
func Import(ctx context.Context, dir, zipPath string, now time.Time) (Export, error) {
	lim := limits.From(ctx)
	if err := os.MkdirAll(dir, 0o755); err != nil {
		return Export{}, fmt.Errorf("importing %s: %w", zipPath, err)
	}
	src, err := os.Open(zipPath)
	if err != nil {
		return Export{}, fmt.Errorf("importing: %w", err)
	}
	defer func() { _ = src.Close() }()
	if st, err := src.Stat(); err != nil || !st.Mode().IsRegular() {
		return Export{}, fmt.Errorf("importing %s: not a regular file", zipPath)
	}
	// Copy first, then read the copy: what is indexed is what is kept.
	tmp, err := os.CreateTemp(dir, ".import-*.zip")
	if err != nil {
		return Export{}, fmt.Errorf("importing %s: %w", zipPath, err)
	}
	tmpName := tmp.Name()
	defer func() { _ = os.Remove(tmpName) }()
	h := sha256.New()
	size, err := io.Copy(io.MultiWriter(tmp, h), io.LimitReader(src, lim.VulnExportSize+1))
	if err == nil && size > lim.VulnExportSize {
		err = lim.VulnExportSizeExceeded()
	}
	if err == nil {
		err = tmp.Sync()
	}
	if cerr := tmp.Close(); err == nil {
		err = cerr
	}
	if err != nil {
		return Export{}, fmt.Errorf("importing %s: %w", zipPath, err)
	}
	type row struct{ eco, name, entry string }
	var rows []row
	bases := map[string]bool{}
	exp := Export{Source: zipPath, Imported: now.UTC(), Size: size, SHA256: hex.EncodeToString(h.Sum(nil))}
	err = readZip(ctx, tmpName, zipPath, lim, func(entry string, rec *Record) {
		exp.Records++
		if rec.Modified.After(exp.Newest) {
			exp.Newest = rec.Modified
		}
		if strings.ContainsAny(entry, "\t\n\r") {
			return
		}
		seen := map[indexKey]bool{}
		for _, a := range rec.Affected {
			eco, name := a.Package.Ecosystem, normalizeName(a.Package.Ecosystem, a.Package.Name)
			if eco == "" || name == "" || strings.ContainsAny(eco+name, "\t\n\r") || seen[indexKey{eco, name}] {
				continue
			}
			seen[indexKey{eco, name}] = true
			base, _ := splitEcosystem(eco)
			bases[base] = true
			rows = append(rows, row{eco, name, entry})
		}
	})
	if err != nil {
		return Export{}, fmt.Errorf("importing %w", err)
	}
	if exp.Records == 0 {
		return Export{}, fmt.Errorf("importing %s: no OSV records (*.json) in the zip", zipPath)
	}
	names := slices.Sorted(mapKeys(bases))
	exp.Name = strings.Join(names, "+")
	if exp.Name == "" || !fs.ValidPath(exp.Name) || strings.ContainsAny(exp.Name, "/\\") || strings.HasPrefix(exp.Name, ".") {
		exp.Name = strings.TrimSuffix(filepath.Base(zipPath), ".zip")
	}
	exp.File = path.Join(safeDirName(exp.Name), "all.zip")

	m, err := readMeta(dir)
	if err != nil {
		return Export{}, fmt.Errorf("importing %s: %w", zipPath, err)
	}
	var idx bytes.Buffer
	if old, err := os.ReadFile(filepath.Join(dir, IndexFile)); err == nil {
		for line := range strings.SplitSeq(string(old), "\n") {
			f := strings.SplitN(line, "\t", 4)
			if len(f) == 4 && f[2] != exp.File {
				idx.WriteString(line)
				idx.WriteByte('\n')
			}
		}
	}
	sort.Slice(rows, func(i, j int) bool { return rows[i].eco+"\t"+rows[i].name < rows[j].eco+"\t"+rows[j].name })
	for _, r := range rows {
		fmt.Fprintf(&idx, "%s\t%s\t%s\t%s\n", r.eco, r.name, exp.File, r.entry)
	}
	m.Exports = slices.DeleteFunc(m.Exports, func(e Export) bool { return e.File == exp.File })
	m.Exports = append(m.Exports, exp)
	sort.Slice(m.Exports, func(i, j int) bool { return m.Exports[i].File < m.Exports[j].File })
	m.Version = 1
	metaData, err := json.MarshalIndent(m, "", "  ")
	if err != nil {
		return Export{}, fmt.Errorf("importing %s: %w", zipPath, err)
	}
	if err := os.MkdirAll(filepath.Join(dir, filepath.Dir(filepath.FromSlash(exp.File))), 0o755); err != nil {
		return Export{}, fmt.Errorf("importing %s: %w", zipPath, err)
	}
	if err := os.Rename(tmpName, filepath.Join(dir, filepath.FromSlash(exp.File))); err != nil {
		return Export{}, fmt.Errorf("importing %s: %w", zipPath, err)
	}
	if err := writeAtomic(filepath.Join(dir, IndexFile), idx.Bytes()); err != nil {
		return Export{}, fmt.Errorf("importing %s: %w", zipPath, err)
	}
	if err := writeAtomic(filepath.Join(dir, MetaFile), append(metaData, '\n')); err != nil {
		return Export{}, fmt.Errorf("importing %s: %w", zipPath, err)
	}
	return exp, nil
}

// safeDirName keeps an ecosystem name usable as a directory name.
func safeDirName(s string) string {
	return strings.Map(func(r rune) rune {
		if r == '/' || r == '\\' || r < ' ' {
			return '_'
		}
		return r
	}, s)
}

func writeAtomic(p string, data []byte) error {
	f, err := os.CreateTemp(filepath.Dir(p), "."+filepath.Base(p)+"-*")
	if err != nil {
		return err
	}
	defer func() { _ = os.Remove(f.Name()) }()
	if _, err := f.Write(data); err != nil {
		_ = f.Close()
		return err
	}
	if err := f.Sync(); err != nil {
		_ = f.Close()
		return err
	}
	if err := f.Close(); err != nil {
		return err
	}
	return os.Rename(f.Name(), p)
}
