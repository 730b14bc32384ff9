package image

import (
	"archive/tar"
	"bytes"
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"os"
	"path"
	"regexp"
	"strings"

	v1 "github.com/google/go-containerregistry/pkg/v1"

	"github.com/kubeharden/kubeharden/internal/limits"
)

// dockerArchive reads a docker-archive tarball (`docker save` output, or
// go-containerregistry's tarball.Write): manifest.json names the config
// and the layers, which are entries of the same tar. Entries are located
// by a scan of the headers (data is skipped by seeking) and read in place;
// the config is bounded by the blob-size limit and checked against the
// digest its name carries, and every layer against its diff_id.
type dockerArchive struct {
	path string
	f    *os.File
	size int64
	lim  limits.Limits
}

// archiveEntry is where an entry's data lies in the archive, or the
// entry a link points to.
type archiveEntry struct {
	off, size int64
	link      string // a symlink's or hardlink's target, as an archive path
}

// archiveManifest is one image of manifest.json.
type archiveManifest struct {
	Config string
	Layers []string
}

// maxArchiveLinks bounds the links followed to find one entry.
const maxArchiveLinks = 40

// configName matches the names that carry the config's digest:
// sha256:<hex> (go-containerregistry), <hex>.json (docker save before
// 25), blobs/sha256/<hex> (docker save 25 and later).
var configName = regexp.MustCompile(`^(?:sha256:|blobs/sha256/)?([0-9a-f]{64})(?:\.json)?$`)

func openArchive(p string, lim limits.Limits) (*dockerArchive, error) {
	f, size, err := OpenRegular(p)
	if err != nil {
		return nil, err
	}
	return &dockerArchive{path: p, f: f, size: size, lim: lim}, nil
}

// archiveName is the clean form of a name in the archive or in its
// manifest.json.
func archiveName(n string) string {
	return strings.TrimPrefix(path.Clean("/"+n), "/")
}

// scan returns the entries whose names want accepts. The last entry of a
// name wins, as when the archive is extracted.
func (a *dockerArchive) scan(ctx context.Context, want func(string) bool) (map[string]archiveEntry, error) {
	if _, err := a.f.Seek(0, io.SeekStart); err != nil {
		return nil, err
	}
	out := map[string]archiveEntry{}
	tr := tar.NewReader(a.f)
	for {
		if err := ctx.Err(); err != nil {
			return nil, err
		}
		hdr, err := tr.Next()
		if errors.Is(err, io.EOF) {
			return out, nil
		}
		if err != nil {
			return nil, fmt.Errorf("reading tar: %w", err)
		}
		n := archiveName(hdr.Name)
		if !want(n) {
			continue
		}
		switch hdr.Typeflag {
		case tar.TypeReg:
			for k := range hdr.PAXRecords {
				if strings.HasPrefix(k, "GNU.sparse.") {
					return nil, fmt.Errorf("%s: sparse entries are not supported", n)
				}
			}
			// archive/tar reads nothing past a header: the file offset
			// is where the entry's data starts.
			off, err := a.f.Seek(0, io.SeekCurrent)
			if err != nil {
				return nil, err
			}
			if off+hdr.Size > a.size {
				return nil, fmt.Errorf("%s: truncated archive", n)
			}
			out[n] = archiveEntry{off: off, size: hdr.Size}
		case tar.TypeSymlink:
			out[n] = archiveEntry{link: archiveName(path.Join(path.Dir(n), hdr.Linkname))}
			if path.IsAbs(hdr.Linkname) {
				out[n] = archiveEntry{link: archiveName(hdr.Linkname)}
			}
		case tar.TypeLink:
			out[n] = archiveEntry{link: archiveName(hdr.Linkname)}
		default:
			out[n] = archiveEntry{off: -1}
		}
	}
}

// find locates the data of the named entries, following links within
// the archive, with one scan per level of links.
func (a *dockerArchive) find(ctx context.Context, names []string) (map[string]archiveEntry, error) {
	want := map[string]bool{}
	for _, n := range names {
		want[n] = true
	}
	found := map[string]archiveEntry{}
	for hop := 0; len(want) > 0; hop++ {
		if hop > maxArchiveLinks {
			return nil, errors.New("too many levels of links in the archive")
		}
		got, err := a.scan(ctx, func(n string) bool { return want[n] })
		if err != nil {
			return nil, err
		}
		for n, e := range got {
			found[n] = e
		}
		next := map[string]bool{}
		for n := range want {
			if e, ok := got[n]; ok && e.link != "" {
				if _, done := found[e.link]; !done {
					next[e.link] = true
				}
			}
		}
		want = next
	}
	return found, nil
}

// entry returns the section of the archive that holds name's data.
func (a *dockerArchive) entry(found map[string]archiveEntry, name string) (*io.SectionReader, error) {
	n := name
	for range maxArchiveLinks {
		e, ok := found[n]
		switch {
		case !ok:
			if n != name {
				return nil, fmt.Errorf("%s: link to %s, which is not in the archive", name, n)
			}
			return nil, fmt.Errorf("%s: not in the archive", name)
		case e.link != "":
			n = e.link
		case e.off < 0:
			return nil, fmt.Errorf("%s: %w", name, ErrNotRegular)
		default:
			return io.NewSectionReader(a.f, e.off, e.size), nil
		}
	}
	return nil, fmt.Errorf("%s: too many levels of links", name)
}

func (a *dockerArchive) open(ctx context.Context) (*opened, error) {
	top, err := a.find(ctx, []string{"manifest.json"})
	if err != nil {
		return nil, err
	}
	sec, err := a.entry(top, "manifest.json")
	if err != nil {
		return nil, fmt.Errorf("not a docker-archive tarball: %w", err)
	}
	data, err := readSmall(sec, sec.Size(), "manifest.json", a.lim)
	if err != nil {
		return nil, err
	}
	var ms []archiveManifest
	if err := json.Unmarshal(data, &ms); err != nil {
		return nil, fmt.Errorf("parsing manifest.json: %w", err)
	}
	if len(ms) != 1 {
		return nil, fmt.Errorf("manifest.json lists %d images; kubeharden reads archives of exactly one", len(ms))
	}
	m := ms[0]
	cfgName := archiveName(m.Config)
	layerNames := make([]string, len(m.Layers))
	for i, l := range m.Layers {
		layerNames[i] = archiveName(l)
	}
	found, err := a.find(ctx, append([]string{cfgName}, layerNames...))
	if err != nil {
		return nil, err
	}
	sec, err = a.entry(found, cfgName)
	if err != nil {
		return nil, fmt.Errorf("config: %w", err)
	}
	digest := ""
	var cfgData []byte
	if sm := configName.FindStringSubmatch(cfgName); sm != nil {
		h := v1.Hash{Algorithm: "sha256", Hex: sm[1]}
		digest = h.String()
		cfgData, err = readBlob(sec, v1.Descriptor{Digest: h, Size: sec.Size()}, a.lim)
	} else {
		cfgData, err = readSmall(sec, sec.Size(), "config", a.lim)
	}
	if err != nil {
		return nil, fmt.Errorf("config %s: %w", cfgName, err)
	}
	cf, err := parseConfig(cfgData)
	if err != nil {
		return nil, err
	}
	if digest == "" {
		h, _, err := v1.SHA256(bytes.NewReader(cfgData))
		if err != nil {
			return nil, err
		}
		digest = h.String()
	}
	sections := make([]*io.SectionReader, len(layerNames))
	for i, n := range layerNames {
		if sections[i], err = a.entry(found, n); err != nil {
			return nil, fmt.Errorf("layer %d: %w", i, err)
		}
	}
	return &opened{
		digest: digest,
		config: cf,
		layers: len(sections),
		layer: func(_ context.Context, i int) (*layerStream, error) {
			// The diff_id is the digest of the uncompressed tar: the
			// verifier sits above decompression.
			tr, closeZ, err := decompress(sections[i])
			if err != nil {
				return nil, err
			}
			v, err := newVerifier(tr, cf.RootFS.DiffIDs[i], -1)
			if err != nil {
				_ = closeZ()
				return nil, err
			}
			return &layerStream{tar: v, drain: v, close: closeZ}, nil
		},
		close: a.f.Close,
	}, nil
}
