package image

import (
	"context"
	"errors"
	"fmt"
	"io"
	"sync"
	"time"

	"github.com/google/go-containerregistry/pkg/authn"
	"github.com/google/go-containerregistry/pkg/name"
	v1 "github.com/google/go-containerregistry/pkg/v1"
	"github.com/google/go-containerregistry/pkg/v1/remote"

	"github.com/kubeharden/kubeharden/internal/limits"
)

// watchdog cancels a registry image's context when the registry makes no
// progress for the network timeout: no answer to a request, or no byte of
// a download. A slow but live download of a large layer goes on; a
// registry that accepts the connection and never answers ends in a clear
// error instead of a hang.
type watchdog struct {
	mu      sync.Mutex
	timeout time.Duration
	timer   *time.Timer
	cancel  context.CancelCauseFunc
	lim     limits.Limits
}

func newWatchdog(ctx context.Context, lim limits.Limits) (context.Context, *watchdog) {
	ctx, cancel := context.WithCancelCause(ctx)
	w := &watchdog{timeout: lim.NetworkTimeout, cancel: cancel, lim: lim}
	return ctx, w
}

// kick (re)starts the countdown: a request is sent, or a byte arrived.
func (w *watchdog) kick() {
	w.mu.Lock()
	defer w.mu.Unlock()
	if w.timer == nil {
		w.timer = time.AfterFunc(w.timeout, func() { w.cancel(w.lim.NetworkTimeoutExceeded()) })
		return
	}
	w.timer.Reset(w.timeout)
}

// pause stops the countdown while kubeharden, not the registry, works.
func (w *watchdog) pause() {
	w.mu.Lock()
	defer w.mu.Unlock()
	if w.timer != nil {
		w.timer.Stop()
	}
}

// stop ends the watchdog and the context.
func (w *watchdog) stop() {
	w.pause()
	w.cancel(nil)
}

// explain turns the error of a request the watchdog cut into the limit's
// error.
func explain(ctx context.Context, err error) error {
	if err == nil {
		return nil
	}
	var ex *limits.Exceeded
	if cause := context.Cause(ctx); errors.As(cause, &ex) && !errors.As(err, &ex) {
		return fmt.Errorf("registry: %w", cause)
	}
	return err
}

// kickReader kicks the watchdog on every read.
type kickReader struct {
	r io.Reader
	w *watchdog
}

func (k kickReader) Read(p []byte) (int, error) {
	k.w.kick()
	return k.r.Read(p)
}

// openRemote fetches the manifest and configuration of a registry image;
// ggcr's fetcher verifies both against their digests, and the
// configuration is refused past the blob-size limit before it is fetched.
func openRemote(ctx context.Context, ref string, insecure bool, plat *v1.Platform, lim limits.Limits) (*opened, error) {
	var nameOpts []name.Option
	if insecure {
		nameOpts = append(nameOpts, name.Insecure)
	}
	r, err := name.ParseReference(ref, nameOpts...)
	if err != nil {
		return nil, err
	}
	ctx, w := newWatchdog(ctx, lim)
	ok := false
	defer func() {
		if !ok {
			w.stop()
		}
	}()
	w.kick()
	img, err := remote.Image(r,
		remote.WithContext(ctx),
		remote.WithAuthFromKeychain(authn.DefaultKeychain),
		remote.WithPlatform(*plat))
	if err != nil {
		return nil, explain(ctx, err)
	}
	raw, err := img.RawManifest()
	if err != nil {
		return nil, explain(ctx, err)
	}
	if int64(len(raw)) > lim.BlobSize {
		return nil, fmt.Errorf("manifest of %d bytes %w", len(raw), lim.BlobSizeExceeded())
	}
	m, err := img.Manifest()
	if err != nil {
		return nil, explain(ctx, err)
	}
	if m.Config.Size > lim.BlobSize {
		return nil, fmt.Errorf("config blob %s of %d bytes %w", m.Config.Digest, m.Config.Size, lim.BlobSizeExceeded())
	}
	w.kick()
	cfgData, err := img.RawConfigFile()
	if err != nil {
		return nil, explain(ctx, fmt.Errorf("config: %w", err))
	}
	w.pause()
	cf, err := parseConfig(cfgData)
	if err != nil {
		return nil, err
	}
	d, err := img.Digest()
	if err != nil {
		return nil, err
	}
	layers := m.Layers
	ok = true
	return &opened{
		digest: d.String(),
		config: cf,
		layers: len(layers),
		layer: func(_ context.Context, i int) (*layerStream, error) {
			w.kick()
			l, err := img.LayerByDigest(layers[i].Digest)
			if err != nil {
				return nil, explain(ctx, err)
			}
			rc, err := l.Compressed()
			if err != nil {
				return nil, explain(ctx, err)
			}
			s, err := compressedStream(kickReader{rc, w}, rc.Close, layers[i])
			if err != nil {
				return nil, explain(ctx, err)
			}
			s.explain = func(err error) error { return explain(ctx, err) }
			s.done = w.pause
			return s, nil
		},
		close: func() error { w.stop(); return nil },
	}, nil
}
