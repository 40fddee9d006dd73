package tlsserve

import (
	"crypto/tls"
	"crypto/x509"
	"fmt"
	"log/slog"
	"os"
	"sync"
	"sync/atomic"
	"time"
)

// reloadEvery bounds how often a handshake may stat the files: renewals
// happen every few weeks, handshakes many times a second.
const reloadEvery = time.Second

// FileCert serves a certificate and key read from PEM files, and picks up
// a renewal (certbot, cert-manager, a cron job) without a restart: at most
// once per second a handshake checks whether either file changed, and if
// so loads the pair again. A replacement that does not load (half-written,
// key and certificate not matching) is logged and the previous pair served
// on, so a botched renewal does not take the server down.
type FileCert struct {
	certFile, keyFile string
	log               *slog.Logger
	every             time.Duration
	now               func() time.Time

	cert atomic.Pointer[tls.Certificate]

	mu        sync.Mutex // guards what follows; held only by the checking handshake
	lastCheck time.Time
	loaded    [2]stamp // the files as they were when cert was read
	rejected  [2]stamp // the last versions that failed to load, not retried
	statErr   string   // the last stat failure, said once
}

// stamp identifies a version of a file: a renewal rewrites it (new mtime
// or size) or renames a new file over it (new inode).
type stamp struct {
	info os.FileInfo
}

func (s stamp) same(o stamp) bool {
	if s.info == nil || o.info == nil {
		return s.info == nil && o.info == nil
	}
	return os.SameFile(s.info, o.info) && s.info.ModTime().Equal(o.info.ModTime()) && s.info.Size() == o.info.Size()
}

// LoadFiles reads the pair and fails if it does not load: a server must
// not start without a usable certificate.
func LoadFiles(certFile, keyFile string, log *slog.Logger) (*FileCert, error) {
	if log == nil {
		log = slog.Default()
	}
	f := &FileCert{certFile: certFile, keyFile: keyFile, log: log, every: reloadEvery, now: time.Now}
	st, err := f.stat()
	if err != nil {
		return nil, err
	}
	cert, err := f.load()
	if err != nil {
		return nil, err
	}
	f.cert.Store(cert)
	f.loaded, f.lastCheck = st, f.now()
	f.logLoaded("TLS certificate loaded", cert)
	return f, nil
}

// GetCertificate is the tls.Config hook.
func (f *FileCert) GetCertificate(*tls.ClientHelloInfo) (*tls.Certificate, error) {
	f.maybeReload()
	return f.cert.Load(), nil
}

// Leaf is the certificate being served.
func (f *FileCert) Leaf() *x509.Certificate { return f.cert.Load().Leaf }

func (f *FileCert) maybeReload() {
	// A handshake arriving while another checks is served the current pair
	// rather than queued behind the file reads.
	if !f.mu.TryLock() {
		return
	}
	defer f.mu.Unlock()
	now := f.now()
	if now.Sub(f.lastCheck) < f.every {
		return
	}
	f.lastCheck = now
	st, err := f.stat()
	if err != nil {
		// Mid-rename a file may be missing for an instant; try again later,
		// but say it once, not every second.
		if err.Error() != f.statErr {
			f.statErr = err.Error()
			f.log.Warn("TLS certificate files unreadable: serving the previous certificate", "err", err)
		}
		return
	}
	f.statErr = ""
	if st[0].same(f.loaded[0]) && st[1].same(f.loaded[1]) {
		return
	}
	if st[0].same(f.rejected[0]) && st[1].same(f.rejected[1]) {
		return
	}
	cert, err := f.load()
	if err != nil {
		// Often the certificate is written before its key: the key's
		// change is a new stamp, so the pair is tried again then.
		f.rejected = st
		f.log.Warn("TLS certificate files changed but do not load: serving the previous certificate",
			"cert_file", f.certFile, "key_file", f.keyFile, "err", err)
		return
	}
	f.cert.Store(cert)
	f.loaded, f.rejected = st, [2]stamp{}
	f.logLoaded("TLS certificate reloaded", cert)
}

func (f *FileCert) stat() ([2]stamp, error) {
	var st [2]stamp
	for i, name := range []string{f.certFile, f.keyFile} {
		fi, err := os.Stat(name)
		if err != nil {
			return st, fmt.Errorf("tls: %w", err)
		}
		st[i] = stamp{fi}
	}
	return st, nil
}

func (f *FileCert) load() (*tls.Certificate, error) {
	cert, err := tls.LoadX509KeyPair(f.certFile, f.keyFile)
	if err != nil {
		return nil, fmt.Errorf("tls: certificate %s with key %s: %w", f.certFile, f.keyFile, err)
	}
	if cert.Leaf == nil {
		if cert.Leaf, err = x509.ParseCertificate(cert.Certificate[0]); err != nil {
			return nil, fmt.Errorf("tls: certificate %s: %w", f.certFile, err)
		}
	}
	return &cert, nil
}

func (f *FileCert) logLoaded(msg string, cert *tls.Certificate) {
	l := cert.Leaf
	f.log.Info(msg, "cert_file", f.certFile, "names", l.DNSNames, "not_after", l.NotAfter.UTC(), "serial", l.SerialNumber.String())
	// Served anyway: refusing to start would not make the certificate
	// valid, and the warning says what is wrong.
	switch now := f.now(); {
	case now.After(l.NotAfter):
		f.log.Warn("TLS certificate has expired: browsers will refuse it", "cert_file", f.certFile, "not_after", l.NotAfter.UTC())
	case now.Before(l.NotBefore):
		f.log.Warn("TLS certificate is not valid yet: browsers will refuse it", "cert_file", f.certFile, "not_before", l.NotBefore.UTC())
	}
}
