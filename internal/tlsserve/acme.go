package tlsserve

import (
	"context"
	"errors"
	"fmt"
	"net"
	"net/http"
	"os"
	"strings"

	"golang.org/x/crypto/acme"
	"golang.org/x/crypto/acme/autocert"
	"golang.org/x/net/idna"
)

// ACMEOptions configure certificates from an ACME CA.
type ACMEOptions struct {
	// Domains are the only names a certificate is requested for.
	Domains []string
	// Email is the account's contact address; optional, but the CA's only
	// way to warn of a certificate about to expire unrenewed.
	Email string
	// DirectoryURL is the CA's directory; empty: Let's Encrypt production.
	DirectoryURL string
	// CacheDir keeps the account key and the certificates across restarts
	// (without it every start is a new order and the CA's rate limits
	// follow soon); created 0700, since it holds private keys.
	CacheDir string
	// HTTPClient talks to the CA (a private CA's roots, tests); nil:
	// http.DefaultClient.
	HTTPClient *http.Client
}

func (o ACMEOptions) configured() bool {
	return o.Email != "" || o.DirectoryURL != "" || o.HTTPClient != nil
}

// NewACME builds the autocert manager for o. Its terms of service are
// accepted: configuring a CA is the operator's agreement to them.
func NewACME(o ACMEOptions) (*autocert.Manager, error) {
	domains, err := NormalizeDomains(o.Domains)
	if err != nil {
		return nil, err
	}
	if err := ensurePrivateDir(o.CacheDir); err != nil {
		return nil, err
	}
	return &autocert.Manager{
		Prompt:     autocert.AcceptTOS,
		Cache:      autocert.DirCache(o.CacheDir),
		HostPolicy: HostPolicy(domains),
		Email:      o.Email,
		Client:     &acme.Client{DirectoryURL: o.DirectoryURL, HTTPClient: o.HTTPClient, UserAgent: "visage"},
	}, nil
}

// NormalizeDomains checks and canonicalises ACME names (lower case,
// punycode). A name must be something a CA can validate with HTTP-01 or
// TLS-ALPN-01: a DNS name with a dot, no wildcard, no IP address, no port.
func NormalizeDomains(domains []string) ([]string, error) {
	if len(domains) == 0 {
		return nil, errors.New("tls: no ACME domain")
	}
	out := make([]string, 0, len(domains))
	seen := map[string]bool{}
	for _, d := range domains {
		name, err := normalizeDomain(d)
		if err != nil {
			return nil, err
		}
		if !seen[name] {
			seen[name] = true
			out = append(out, name)
		}
	}
	return out, nil
}

func normalizeDomain(d string) (string, error) {
	d = strings.TrimSuffix(strings.TrimSpace(d), ".")
	switch {
	case d == "":
		return "", errors.New("tls: empty ACME domain")
	case strings.Contains(d, "*"):
		return "", fmt.Errorf("tls: ACME domain %q: wildcards need the DNS-01 challenge, which Visage does not answer", d)
	case strings.Contains(d, ":") || net.ParseIP(d) != nil:
		return "", fmt.Errorf("tls: ACME domain %q: a host name without port, not an address", d)
	case !strings.Contains(d, "."):
		// autocert refuses single-label names at handshake time; say so now.
		return "", fmt.Errorf("tls: ACME domain %q: not a fully qualified name", d)
	}
	name, err := idna.Lookup.ToASCII(d)
	if err != nil {
		return "", fmt.Errorf("tls: ACME domain %q: %w", d, err)
	}
	return name, nil
}

// HostPolicy allows exactly the given names (already normalised). Unlike
// autocert.HostWhitelist it ignores a port: an HTTP-01 request's Host
// carries one when the CA validates on a port other than 80.
func HostPolicy(domains []string) autocert.HostPolicy {
	allowed := make(map[string]bool, len(domains))
	for _, d := range domains {
		allowed[d] = true
	}
	return func(_ context.Context, host string) error {
		if h, _, err := net.SplitHostPort(host); err == nil {
			host = h
		}
		name, err := idna.Lookup.ToASCII(strings.TrimSuffix(host, "."))
		if err != nil || !allowed[name] {
			// Refusing matters: a client may send any SNI, and each new name
			// would be an order counted against the CA's rate limits.
			return fmt.Errorf("tls: %q is not one of the ACME domains", host)
		}
		return nil
	}
}

// ensurePrivateDir creates dir 0700, or tightens an existing one that
// others could read: it holds the ACME account key and certificate keys.
func ensurePrivateDir(dir string) error {
	if dir == "" {
		return errors.New("tls: ACME needs a cache directory")
	}
	if err := os.MkdirAll(dir, 0o700); err != nil {
		return fmt.Errorf("tls: ACME cache dir: %w", err)
	}
	fi, err := os.Stat(dir)
	if err != nil {
		return fmt.Errorf("tls: ACME cache dir: %w", err)
	}
	if !fi.IsDir() {
		return fmt.Errorf("tls: ACME cache dir %s is not a directory", dir)
	}
	if fi.Mode().Perm()&0o077 != 0 {
		if err := os.Chmod(dir, 0o700); err != nil {
			return fmt.Errorf("tls: ACME cache dir %s is readable by others and cannot be made private: %w", dir, err)
		}
	}
	return nil
}
