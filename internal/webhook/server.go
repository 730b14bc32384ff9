package webhook

import (
	"context"
	"crypto/tls"
	"errors"
	"fmt"
	"log/slog"
	"net"
	"net/http"
	"sync"
	"sync/atomic"
	"time"

	"github.com/prometheus/client_golang/prometheus"
	"github.com/prometheus/client_golang/prometheus/collectors"
	"github.com/prometheus/client_golang/prometheus/promhttp"
	"k8s.io/client-go/rest"

	"github.com/kubeharden/kubeharden/internal/checks"
	"github.com/kubeharden/kubeharden/internal/policy"
	"github.com/kubeharden/kubeharden/internal/scan"
)

// DefaultRequestTimeout bounds the answer to one AdmissionReview; past it
// the API server gets an error and applies the failurePolicy. The shipped
// registration waits 3 s (timeoutSeconds).
const DefaultRequestTimeout = 3 * time.Second

// ShutdownTimeout is how long requests in flight may finish after SIGTERM.
const ShutdownTimeout = 10 * time.Second

// ServerOptions configure a Server.
type ServerOptions struct {
	// Options configure the admission handler; Facts and Metrics are set
	// by the server.
	Options
	// CertFile and KeyFile are the serving certificate and key, reloaded
	// when they change on disk.
	CertFile, KeyFile string
	// Cluster is the cluster whose facts are watched; nil judges objects
	// alone (and readiness needs only the certificate).
	Cluster *rest.Config
	// RequestTimeout bounds each request; 0 means DefaultRequestTimeout.
	RequestTimeout time.Duration
}

// Server is the webhook's HTTPS server: /validate, /mutate, /healthz,
// /readyz and /metrics on one port.
type Server struct {
	handler  *Handler
	facts    *ClusterFacts
	certs    *certReloader
	log      *slog.Logger
	mux      *http.ServeMux
	stopping atomic.Bool
}

// NewServer prepares the server of opts; Serve runs it.
func NewServer(opts ServerOptions) (*Server, error) {
	if opts.Registry == nil {
		opts.Registry = checks.Registry()
	}
	if opts.Policy == nil {
		opts.Policy = policy.New(nil, opts.Registry, time.Time{})
	}
	if opts.Logger == nil {
		opts.Logger = slog.New(slog.DiscardHandler)
	}
	if opts.RequestTimeout <= 0 {
		opts.RequestTimeout = DefaultRequestTimeout
	}
	s := &Server{certs: newCertReloader(opts.CertFile, opts.KeyFile), log: opts.Logger, mux: http.NewServeMux()}
	reg := prometheus.NewRegistry()
	reg.MustRegister(collectors.NewGoCollector(), collectors.NewProcessCollector(collectors.ProcessCollectorOpts{}))
	opts.Metrics = NewMetrics(reg)
	if opts.Cluster != nil {
		engine := scan.New(scan.Options{Registry: opts.Registry, Policy: opts.Policy})
		f, err := NewClusterFacts(opts.Cluster, engine, opts.Logger)
		if err != nil {
			return nil, fmt.Errorf("watching the cluster: %w", err)
		}
		s.facts, opts.Facts = f, f
	}
	h, err := NewHandler(opts.Options)
	if err != nil {
		return nil, err
	}
	s.handler = h
	admit := http.TimeoutHandler(h, opts.RequestTimeout, "the AdmissionReview took too long")
	s.mux.Handle("/validate", admit)
	s.mux.Handle("/mutate", admit)
	s.mux.HandleFunc("/healthz", func(w http.ResponseWriter, _ *http.Request) { _, _ = w.Write([]byte("ok\n")) })
	s.mux.HandleFunc("/readyz", func(w http.ResponseWriter, _ *http.Request) {
		if err := s.Ready(); err != nil {
			http.Error(w, err.Error(), http.StatusServiceUnavailable)
			return
		}
		_, _ = w.Write([]byte("ok\n"))
	})
	s.mux.Handle("/metrics", promhttp.HandlerFor(reg, promhttp.HandlerOpts{}))
	return s, nil
}

// Ready returns why the server is not ready: no certificate loaded, the
// cluster's facts not synced, or shutting down; nil when it is.
func (s *Server) Ready() error {
	if err := s.certs.loaded(); err != nil {
		return err
	}
	if s.facts != nil && !s.facts.Synced() {
		return errors.New("the cluster's facts are not synced yet")
	}
	if s.stopping.Load() {
		return errors.New("shutting down")
	}
	return nil
}

// Handler returns the server's routes, without TLS (for tests and
// benchmarks).
func (s *Server) Handler() http.Handler { return s.mux }

// Run listens on addr and serves until ctx is done; see Serve.
func (s *Server) Run(ctx context.Context, addr string) error {
	ln, err := net.Listen("tcp", addr)
	if err != nil {
		return err
	}
	return s.Serve(ctx, ln)
}

// Serve serves HTTPS on ln and watches the cluster's facts until ctx is
// done, then stops taking requests, lets those in flight finish (up to
// ShutdownTimeout) and returns nil.
func (s *Server) Serve(ctx context.Context, ln net.Listener) error {
	ctx, cancel := context.WithCancel(ctx)
	var facts sync.WaitGroup
	// The informers stop before Serve returns: nothing logs after it.
	defer facts.Wait()
	defer cancel()
	if s.facts != nil {
		facts.Go(func() { s.facts.Run(ctx) })
	}
	srv := &http.Server{
		Handler:           s.mux,
		TLSConfig:         &tls.Config{MinVersion: tls.VersionTLS12, GetCertificate: s.certs.GetCertificate},
		ReadHeaderTimeout: 5 * time.Second,
		ReadTimeout:       10 * time.Second,
		WriteTimeout:      15 * time.Second,
		IdleTimeout:       90 * time.Second,
		MaxHeaderBytes:    64 << 10,
		ErrorLog:          slog.NewLogLogger(s.log.Handler(), slog.LevelDebug),
	}
	done := make(chan error, 1)
	go func() { done <- srv.ServeTLS(ln, "", "") }()
	s.log.Info("serving admission reviews", "addr", ln.Addr().String())
	select {
	case err := <-done:
		return err
	case <-ctx.Done():
	}
	s.stopping.Store(true)
	sctx, scancel := context.WithTimeout(context.Background(), ShutdownTimeout)
	defer scancel()
	if err := srv.Shutdown(sctx); err != nil {
		return fmt.Errorf("shutting down: %w", err)
	}
	return nil
}
