// Package tlsserve lets Visage terminate TLS itself: from certificate files
// that are re-read when they are renewed, or from an ACME CA (Let's Encrypt
// or a private one) through autocert. It also holds what a server needs
// to reason about TLS it did not terminate: which proxies may say what
// the client's address and scheme were, and HSTS.
//
// Browsers give a page the camera only in a secure context, so a capture
// link a phone opens from a message works only over https: this package is
// what makes that possible without a proxy in front.
package tlsserve

import (
	"crypto/tls"
	"errors"
	"log/slog"
	"net/http"

	"golang.org/x/crypto/acme"
	"golang.org/x/crypto/acme/autocert"
)

// Options are the TLS settings; the zero value is TLS off.
type Options struct {
	// CertFile and KeyFile are a PEM certificate chain and its key.
	CertFile, KeyFile string
	// ACME obtains certificates for these names instead of files.
	ACME ACMEOptions
	// Log receives reloads and rejected replacements; nil: slog.Default().
	Log *slog.Logger
}

// Enabled tells whether any TLS source is configured.
func (o Options) Enabled() bool {
	return o.CertFile != "" || o.KeyFile != "" || len(o.ACME.Domains) > 0
}

// Validate checks the settings against each other; New calls it.
func (o Options) Validate() error {
	files := o.CertFile != "" || o.KeyFile != ""
	switch {
	case (o.CertFile == "") != (o.KeyFile == ""):
		return errors.New("tls: a certificate file needs its key file and a key file its certificate: set both or neither")
	case files && len(o.ACME.Domains) > 0:
		return errors.New("tls: certificate files and ACME domains are both set: keep one")
	}
	if len(o.ACME.Domains) == 0 {
		if o.ACME.configured() {
			return errors.New("tls: ACME settings are given but no ACME domain")
		}
		return nil
	}
	if _, err := NormalizeDomains(o.ACME.Domains); err != nil {
		return err
	}
	if o.ACME.CacheDir == "" {
		return errors.New("tls: ACME needs a cache directory")
	}
	return nil
}

// Certs is a TLS configuration in service: the tls.Config for the
// listener and, with ACME, the handler answering HTTP-01 challenges.
type Certs struct {
	config *tls.Config
	acme   *autocert.Manager
	files  *FileCert
}

// New loads the configured certificates: a bad initial pair or an unusable
// ACME cache directory fails here, at start-up, rather than at the first
// handshake. It returns nil, nil when TLS is off.
func New(o Options) (*Certs, error) {
	if !o.Enabled() {
		return nil, nil
	}
	if err := o.Validate(); err != nil {
		return nil, err
	}
	if o.Log == nil {
		o.Log = slog.Default()
	}
	c := &Certs{}
	if len(o.ACME.Domains) > 0 {
		m, err := NewACME(o.ACME)
		if err != nil {
			return nil, err
		}
		domains, _ := NormalizeDomains(o.ACME.Domains) // NewACME checked them
		c.acme = m
		c.config = baseConfig()
		c.config.GetCertificate = defaultServerName(m.GetCertificate, domains[0])
		// The CA's TLS-ALPN-01 validation negotiates this protocol on the
		// listener itself: it is what lets ACME work without port 80.
		c.config.NextProtos = append(c.config.NextProtos, acme.ALPNProto)
		return c, nil
	}
	f, err := LoadFiles(o.CertFile, o.KeyFile, o.Log)
	if err != nil {
		return nil, err
	}
	c.files = f
	c.config = baseConfig()
	c.config.GetCertificate = f.GetCertificate
	return c, nil
}

// Config is the tls.Config for the listener (a copy: the caller may add to it).
func (c *Certs) Config() *tls.Config { return c.config.Clone() }

// ACME tells whether the certificates come from an ACME CA.
func (c *Certs) ACME() bool { return c.acme != nil }

// ChallengeHandler answers the CA's HTTP-01 requests and redirects every
// other plain-HTTP request to https; nil without ACME. Calling it is what
// enables HTTP-01 (TLS-ALPN-01 alone is tried otherwise), so call it only
// when something serves it on port 80.
func (c *Certs) ChallengeHandler() http.Handler {
	if c.acme == nil {
		return nil
	}
	return c.acme.HTTPHandler(nil)
}

// Config builds the listener's tls.Config from o; nil, nil when TLS is off.
func Config(o Options) (*tls.Config, error) {
	c, err := New(o)
	if err != nil || c == nil {
		return nil, err
	}
	return c.Config(), nil
}

// baseConfig is what every listener gets: TLS 1.0 and 1.1 are refused
// (every browser that has a camera API speaks 1.2), Go's default cipher
// suites, HTTP/2 first.
func baseConfig() *tls.Config {
	return &tls.Config{MinVersion: tls.VersionTLS12, NextProtos: []string{"h2", "http/1.1"}}
}

// defaultServerName serves name to clients that send no SNI (load-balancer
// health checks, curl against an IP) instead of failing their handshake.
func defaultServerName(get func(*tls.ClientHelloInfo) (*tls.Certificate, error), name string) func(*tls.ClientHelloInfo) (*tls.Certificate, error) {
	return func(hello *tls.ClientHelloInfo) (*tls.Certificate, error) {
		if hello.ServerName == "" {
			h := *hello
			h.ServerName = name
			hello = &h
		}
		return get(hello)
	}
}
