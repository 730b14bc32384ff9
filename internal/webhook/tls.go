package webhook

import (
	"crypto/tls"
	"errors"
	"fmt"
	"os"
	"sync"
)

// certReloader serves the certificate and key of two files, and reloads
// them when either changes on disk (a Secret volume update, cert-manager
// renewing it), so that a rotation needs no restart: expired self-signed
// certificates are among the commonest webhook outages. A half-written
// pair (the certificate new, the key not yet) keeps the old one served
// until both match.
type certReloader struct {
	certFile, keyFile string

	mu       sync.Mutex
	cert     *tls.Certificate
	certInfo os.FileInfo
	keyInfo  os.FileInfo
	err      error
}

func newCertReloader(certFile, keyFile string) *certReloader {
	r := &certReloader{certFile: certFile, keyFile: keyFile}
	_, _ = r.current()
	return r
}

// current returns the certificate, reloading it when a file changed.
func (r *certReloader) current() (*tls.Certificate, error) {
	r.mu.Lock()
	defer r.mu.Unlock()
	ci, err1 := os.Stat(r.certFile)
	ki, err2 := os.Stat(r.keyFile)
	if err := errors.Join(err1, err2); err != nil {
		if r.cert != nil {
			// Mid-rotation: a file is being replaced.
			return r.cert, nil
		}
		r.err = fmt.Errorf("loading the TLS certificate: %w", err)
		return nil, r.err
	}
	if r.cert != nil && same(ci, r.certInfo) && same(ki, r.keyInfo) {
		return r.cert, nil
	}
	cert, err := tls.LoadX509KeyPair(r.certFile, r.keyFile)
	if err != nil {
		if r.cert != nil {
			return r.cert, nil
		}
		r.err = fmt.Errorf("loading the TLS certificate: %w", err)
		return nil, r.err
	}
	r.cert, r.certInfo, r.keyInfo, r.err = &cert, ci, ki, nil
	return r.cert, nil
}

// same reports whether a file is unchanged: the same file (a Secret
// volume swaps a symlink to a new one), size and modification time.
func same(a, b os.FileInfo) bool {
	return os.SameFile(a, b) && a.Size() == b.Size() && a.ModTime().Equal(b.ModTime())
}

// GetCertificate implements tls.Config.GetCertificate.
func (r *certReloader) GetCertificate(*tls.ClientHelloInfo) (*tls.Certificate, error) {
	return r.current()
}

// loaded reports whether a certificate is loaded, and if not why.
func (r *certReloader) loaded() error {
	_, err := r.current()
	return err
}
