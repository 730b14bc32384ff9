// Package digest resolves image references (name:tag) to the digests they
// stand for, so that `kubeharden fix --resolve-digests` can pin them:
// "nginx:1.25" becomes "nginx:1.25@sha256:...".
//
// Three sources are consulted in order: a mapping file, OCI image layouts,
// and last the registry, which Offline turns off. The local sources come
// first so that a pin can be reproduced without the network and without
// trusting whatever a registry serves today.
//
// References are matched after normalisation: "nginx:1.25",
// "docker.io/library/nginx:1.25" and "index.docker.io/library/nginx:1.25"
// name the same image. A reference without a tag is looked up as ":latest".
package digest

import (
	"context"
	"errors"
	"fmt"
	"os"
	"strings"
	"sync"
	"time"

	"github.com/google/go-containerregistry/pkg/authn"
	"github.com/google/go-containerregistry/pkg/name"
	"github.com/google/go-containerregistry/pkg/v1/remote"

	"github.com/kubeharden/kubeharden/internal/limits"
)

// ErrNotLiteral is wrapped by the error for a reference holding variables
// ("$TAG", "${TAG}", "{{ .Values.tag }}"), which only a build or a
// template engine can complete. Callers usually skip such references.
var ErrNotLiteral = errors.New("not a literal reference")

// errNoTag is wrapped by parseTagged's error for a reference without a tag.
var errNoTag = errors.New("names no tag")

// ErrNoDigest is wrapped by the error for a reference that neither the
// mapping file nor the OCI layouts know, when Offline forbids asking the
// registry.
var ErrNoDigest = errors.New("no digest")

// Options configure a Resolver.
type Options struct {
	// MappingFile is a file of "REF@sha256:DIGEST" or "REF sha256:DIGEST"
	// lines (--digests). Every REF must carry its tag.
	MappingFile string
	// Layouts are OCI image layout directories (--oci-layout); their
	// index.json descriptors are matched by their name annotations.
	Layouts []string
	// Offline never contacts a registry.
	Offline bool
	// Insecure talks plain HTTP to registries (name.Insecure).
	Insecure bool
	// Timeout bounds each registry lookup; zero means the run's
	// --network-timeout (limits.From of the lookup's context).
	Timeout time.Duration
	// Limits bound what New reads (an OCI layout's index.json); zero
	// fields are the defaults.
	Limits limits.Limits
}

// Resolver maps image references to digests. It is safe for concurrent
// use.
type Resolver struct {
	offline  bool
	timeout  time.Duration
	nameOpts []name.Option

	mapped  map[string]string   // digests from the mapping file, by key
	layouts map[string]source   // from the OCI layouts, by key
	bare    map[string][]string // tag -> layouts holding it with no repository

	mu    sync.Mutex
	cache map[string]*call // registry answers, by key
}

// source is a digest of an OCI layout and where it was read, for error
// messages.
type source struct {
	digest string
	where  string
	ref    string // as spelled there
}

// call is one registry lookup, shared by every caller asking for the same
// key while it runs and remembered afterwards, errors included, so that
// a dead registry is asked once per reference.
type call struct {
	done   chan struct{}
	digest string
	err    error
	// abandoned says the caller's context ended mid-lookup: that tells
	// nothing about the registry, so the answer is not kept.
	abandoned bool
}

// New loads the mapping file and the OCI layouts, so that their errors
// come before any lookup.
func New(opts Options) (*Resolver, error) {
	if opts.Offline && opts.MappingFile == "" && len(opts.Layouts) == 0 {
		return nil, errors.New("resolving digests offline needs a --digests file or an --oci-layout")
	}
	r := &Resolver{
		offline:  opts.Offline,
		timeout:  opts.Timeout,
		nameOpts: []name.Option{name.WeakValidation},
		mapped:   map[string]string{},
		layouts:  map[string]source{},
		bare:     map[string][]string{},
		cache:    map[string]*call{},
	}
	if opts.Insecure {
		r.nameOpts = append(r.nameOpts, name.Insecure)
	}
	if opts.MappingFile != "" {
		data, err := os.ReadFile(opts.MappingFile)
		if err != nil {
			return nil, fmt.Errorf("reading digests file: %w", err)
		}
		entries, err := parseMapping(opts.MappingFile, data)
		if err != nil {
			return nil, err
		}
		for _, e := range entries {
			r.mapped[e.key] = e.digest
		}
	}
	lim := opts.Limits.WithDefaults()
	for _, dir := range opts.Layouts {
		if err := r.loadLayout(dir, lim); err != nil {
			return nil, err
		}
	}
	return r, nil
}

// Digest returns the digest ("sha256:...") that ref stands for. A
// reference that already carries a digest is answered with it, unchecked.
func (r *Resolver) Digest(ctx context.Context, ref string) (string, error) {
	if !literal(ref) {
		return "", fmt.Errorf("%q is %w", ref, ErrNotLiteral)
	}
	// Not name.ParseReference: its error says only "could not parse".
	if strings.Contains(ref, "@") {
		d, err := name.NewDigest(ref, r.nameOpts...)
		if err != nil {
			return "", fmt.Errorf("resolving %s: %w", ref, err)
		}
		return d.DigestStr(), nil
	}
	t, err := name.NewTag(ref, r.nameOpts...)
	if err != nil {
		return "", fmt.Errorf("resolving %s: %w", ref, err)
	}
	k := key(t)
	if d, ok := r.mapped[k]; ok {
		return d, nil
	}
	if s, ok := r.layouts[k]; ok {
		return s.digest, nil
	}
	if r.offline {
		return "", fmt.Errorf("%w for %s in the --digests file or OCI layouts (offline)%s", ErrNoDigest, ref, r.bareHint(t.TagStr()))
	}
	d, err := r.remote(ctx, k, t)
	if err != nil {
		return "", fmt.Errorf("resolving %s: %w", ref, err)
	}
	return d, nil
}

// bareHint explains a miss that a bare-tag layout annotation may be
// meant to answer, since ignoring it silently would puzzle whoever wrote
// the layout.
func (r *Resolver) bareHint(tag string) string {
	dirs := r.bare[tag]
	if len(dirs) == 0 {
		return ""
	}
	return fmt.Sprintf("; OCI layout %s names an image only by the tag %q, which does not say its repository (add an io.containerd.image.name annotation or a full %s)",
		strings.Join(dirs, ", "), tag, annotationRefName)
}

// remote asks the registry once per key.
func (r *Resolver) remote(ctx context.Context, k string, t name.Tag) (string, error) {
	for {
		r.mu.Lock()
		c, ok := r.cache[k]
		if !ok {
			c = &call{done: make(chan struct{})}
			r.cache[k] = c
			r.mu.Unlock()
			c.digest, c.err = r.fetch(ctx, t)
			if c.err != nil && ctx.Err() != nil {
				c.abandoned = true
				r.mu.Lock()
				delete(r.cache, k)
				r.mu.Unlock()
			}
			close(c.done)
			return c.digest, c.err
		}
		r.mu.Unlock()
		select {
		case <-c.done:
		case <-ctx.Done():
			return "", ctx.Err()
		}
		if !c.abandoned {
			return c.digest, c.err
		}
		// The caller who asked first gave up; ask again for ourselves.
	}
}

// fetch HEADs the manifest, which costs no pull from rate-limited
// registries, and falls back to GET, whose error body says what HEAD
// cannot and which also answers registries that leave out
// Docker-Content-Digest.
func (r *Resolver) fetch(ctx context.Context, t name.Tag) (string, error) {
	lim := limits.From(ctx)
	if r.timeout > 0 {
		lim.NetworkTimeout = r.timeout
	}
	parent := ctx
	ctx, cancel := context.WithTimeout(ctx, lim.NetworkTimeout)
	defer cancel()
	d, err := r.fetchDigest(ctx, t)
	if err != nil && parent.Err() == nil && errors.Is(ctx.Err(), context.DeadlineExceeded) {
		// The registry accepted the connection and never answered, or
		// answered too slowly: the limit says which flag to raise.
		return "", fmt.Errorf("no answer from the registry (%w): %w", context.DeadlineExceeded, lim.NetworkTimeoutExceeded())
	}
	return d, err
}

func (r *Resolver) fetchDigest(ctx context.Context, t name.Tag) (string, error) {
	opts := []remote.Option{
		remote.WithContext(ctx),
		remote.WithAuthFromKeychain(authn.DefaultKeychain),
		remote.WithUserAgent("kubeharden"),
	}
	if desc, err := remote.Head(t, opts...); err == nil && isDigest(desc.Digest.String()) {
		return desc.Digest.String(), nil
	}
	desc, err := remote.Get(t, opts...)
	if err != nil {
		return "", err
	}
	d := desc.Digest.String()
	if !isDigest(d) {
		return "", fmt.Errorf("registry answered with digest %q, not sha256", d)
	}
	return d, nil
}

// Pin returns ref with digest appended, keeping ref's own spelling: no
// registry or library/ is added and the tag stays, so that the pinned
// reference still tells a reader which version it is. A digest already
// in ref is replaced. An empty digest leaves ref alone.
func Pin(ref, digest string) string {
	if digest == "" {
		return ref
	}
	if i := strings.IndexByte(ref, '@'); i >= 0 {
		ref = ref[:i]
	}
	return ref + "@" + digest
}

// key normalises a tagged reference: "nginx:1.25" and
// "docker.io/library/nginx:1.25" both give
// "index.docker.io/library/nginx:1.25".
func key(t name.Tag) string {
	return t.Context().Name() + ":" + t.TagStr()
}

// literal tells whether ref is free of shell, Dockerfile and template
// variables. "$" and "{{" can never be part of a reference, so their
// presence means something is still to be substituted.
func literal(ref string) bool {
	return !strings.Contains(ref, "$") && !strings.Contains(ref, "{{")
}

// parseTagged parses a reference that must name its tag explicitly, as the
// entries of the local sources must: a missing tag there is more likely a
// lost tag (crane digest --full-ref prints none) than a meant ":latest".
func parseTagged(ref string) (name.Tag, error) {
	if !literal(ref) {
		return name.Tag{}, fmt.Errorf("%q is %w", ref, ErrNotLiteral)
	}
	t, err := name.NewTag(ref, name.WeakValidation)
	if err != nil {
		return name.Tag{}, fmt.Errorf("%q: %w", ref, err)
	}
	// NewTag takes the text after the last ":" as the tag unless a "/"
	// follows it (then it was a registry port) and otherwise defaults to
	// "latest"; only the former is an explicit tag.
	if i := strings.LastIndexByte(ref, ':'); i < 0 || strings.Contains(ref[i:], "/") {
		return name.Tag{}, fmt.Errorf("%q %w", ref, errNoTag)
	}
	return t, nil
}

// isDigest tells whether s is "sha256:" and 64 lowercase hex digits, the
// only digest form references accept.
func isDigest(s string) bool {
	hex, ok := strings.CutPrefix(s, "sha256:")
	if !ok || len(hex) != 64 {
		return false
	}
	for i := 0; i < len(hex); i++ {
		c := hex[i]
		if (c < '0' || c > '9') && (c < 'a' || c > 'f') {
			return false
		}
	}
	return true
}
