package app

import (
	"context"
	"crypto/tls"
	"errors"
	"fmt"
	"log/slog"
	"net"
	"net/http"
	"net/netip"
	"net/url"
	"path/filepath"
	"strings"
	"time"

	"github.com/visagehq/visage/internal/config"
	"github.com/visagehq/visage/internal/tlsserve"
)

// CheckTLS checks the TLS and proxy settings together, before anything is
// opened: each message names the variables at fault. Listen checks them
// again; calling this first only makes a mistake cost nothing.
func CheckTLS(c *config.Server) error {
	_, _, err := tlsSettings(c)
	return err
}

func tlsSettings(c *config.Server) (tlsserve.Options, tlsserve.Proxies, error) {
	bad := func(format string, a ...any) (tlsserve.Options, tlsserve.Proxies, error) {
		return tlsserve.Options{}, tlsserve.Proxies{}, fmt.Errorf("%w: "+format, append([]any{config.ErrInvalid}, a...)...)
	}
	files := c.TLSCertFile != "" || c.TLSKeyFile != ""
	domains := splitList(c.ACMEDomains)
	switch {
	case c.TLSCertFile != "" && c.TLSKeyFile == "":
		return bad("VISAGE_TLS_CERT_PATH (--tls-cert-file) is set without VISAGE_TLS_KEY_PATH (--tls-key-file): set both or neither")
	case c.TLSCertFile == "" && c.TLSKeyFile != "":
		return bad("VISAGE_TLS_KEY_PATH (--tls-key-file) is set without VISAGE_TLS_CERT_PATH (--tls-cert-file): set both or neither")
	case files && len(domains) > 0:
		return bad("certificate files (VISAGE_TLS_CERT_PATH) and VISAGE_ACME_DOMAINS (--acme-domains) are both set: keep one")
	}
	if len(domains) == 0 {
		for _, s := range []struct{ value, env string }{
			{c.ACMEEmail, "VISAGE_ACME_EMAIL"}, {c.ACMEDirectoryURL, "VISAGE_ACME_DIRECTORY_URL"},
			{c.ACMECacheDir, "VISAGE_ACME_CACHE_DIR"}, {c.ACMEHTTPListen, "VISAGE_ACME_HTTP_LISTEN"},
		} {
			if s.value != "" {
				return bad("%s is set but VISAGE_ACME_DOMAINS (--acme-domains) is not", s.env)
			}
		}
	} else if _, err := tlsserve.NormalizeDomains(domains); err != nil {
		return bad("VISAGE_ACME_DOMAINS=%q: %v", c.ACMEDomains, err)
	}
	if c.ACMEHTTPListen != "" {
		if _, _, err := net.SplitHostPort(c.ACMEHTTPListen); err != nil {
			return bad("VISAGE_ACME_HTTP_LISTEN=%q: not a listen address (like :80)", c.ACMEHTTPListen)
		}
	}
	proxies, err := tlsserve.ParseProxies(c.TrustedProxies)
	if err != nil {
		return bad("VISAGE_TRUSTED_PROXIES=%q: %v", c.TrustedProxies, err)
	}
	o := tlsserve.Options{CertFile: c.TLSCertFile, KeyFile: c.TLSKeyFile,
		ACME: tlsserve.ACMEOptions{Domains: domains, Email: c.ACMEEmail, DirectoryURL: c.ACMEDirectoryURL, CacheDir: c.ACMECacheDir}}
	if len(domains) > 0 && o.ACME.CacheDir == "" {
		o.ACME.CacheDir = filepath.Join(c.DataDir, "acme")
	}
	return o, proxies, nil
}

func splitList(s string) []string {
	var out []string
	for _, v := range strings.Split(s, ",") {
		if v = strings.TrimSpace(v); v != "" {
			out = append(out, v)
		}
	}
	return out
}

// secureListener is the bound socket, TLS-wrapped, and what goes with it:
// Serve finds it there (the Server has no field of its own for it).
type secureListener struct {
	net.Listener
	certs *tlsserve.Certs
	// challenge is the ACME HTTP-01 listener, nil when not configured.
	challenge net.Listener
}

// secure puts TLS on ln when it is configured, binds the ACME challenge
// listener, and wraps the handler with what TLS and proxies need. It takes
// ownership of ln: on error ln is closed.
func (s *Server) secure(ln net.Listener) (net.Listener, error) {
	o, proxies, err := tlsSettings(s.cfg)
	if err != nil {
		ln.Close()
		return nil, err
	}
	o.Log = s.log
	// Outermost, so HSTS sees the scheme a trusted proxy reported; then
	// HSTS on every https response, whatever the handler.
	s.http.Handler = forwarded(tlsserve.HSTS(s.http.Handler, tlsserve.HSTSMaxAge), proxies)
	s.warnPublicURL(proxies)
	certs, err := tlsserve.New(o)
	if err != nil {
		ln.Close()
		return nil, err
	}
	if certs == nil {
		return ln, nil
	}
	sl := &secureListener{Listener: tls.NewListener(ln, certs.Config()), certs: certs}
	if s.cfg.ACMEHTTPListen != "" {
		if sl.challenge, err = net.Listen("tcp", s.cfg.ACMEHTTPListen); err != nil {
			ln.Close()
			return nil, fmt.Errorf("ACME HTTP-01 listener (VISAGE_ACME_HTTP_LISTEN) %s: %w", s.cfg.ACMEHTTPListen, err)
		}
	}
	return sl, nil
}

// scheme is what clients of the listener speak.
func (s *Server) scheme() string {
	if _, ok := s.ln.(*secureListener); ok {
		return "https"
	}
	return "http"
}

// defaultPublicURL is where links point when no public URL is configured:
// the listen address, or with ACME the first domain (a certificate for an
// address would never be issued).
func (s *Server) defaultPublicURL() string {
	host := s.ln.Addr().String()
	if sl, ok := s.ln.(*secureListener); ok && sl.certs.ACME() {
		domains, _ := tlsserve.NormalizeDomains(splitList(s.cfg.ACMEDomains))
		host = domains[0]
		if _, port, err := net.SplitHostPort(s.ln.Addr().String()); err == nil && port != "443" {
			host = net.JoinHostPort(host, port)
		}
	}
	return s.scheme() + "://" + host
}

// warnPublicURL says when capture links are likely not to work on a phone:
// a browser gives the camera only to https pages (and to localhost).
func (s *Server) warnPublicURL(proxies tlsserve.Proxies) {
	if s.cfg.PublicURL == "" {
		if !proxies.Empty() {
			s.log.Warn("VISAGE_TRUSTED_PROXIES is set but VISAGE_PUBLIC_URL is not: capture and verification links will point at the listen address, not at the proxy; set VISAGE_PUBLIC_URL=https://your.host")
		}
		return
	}
	u, err := url.Parse(s.cfg.PublicURL)
	if err != nil || u.Scheme != "http" {
		return
	}
	if a, err := netip.ParseAddr(strings.Trim(u.Hostname(), "[]")); (err == nil && a.IsLoopback()) || u.Hostname() == "localhost" {
		return
	}
	s.log.Warn("VISAGE_PUBLIC_URL is http://: phones will open capture links without access to the camera, which browsers give only to https pages", "public_url", s.cfg.PublicURL)
}

// serveChallenges answers ACME HTTP-01 on its own listener, if there is
// one, until the returned stop is called.
func (s *Server) serveChallenges() (stop func()) {
	sl, ok := s.ln.(*secureListener)
	if !ok || sl.challenge == nil {
		return func() {}
	}
	srv := &http.Server{Handler: sl.certs.ChallengeHandler(), ReadHeaderTimeout: 10 * time.Second,
		ReadTimeout: 10 * time.Second, WriteTimeout: 10 * time.Second, IdleTimeout: time.Minute,
		ErrorLog: slog.NewLogLogger(s.log.Handler(), slog.LevelWarn)}
	done := make(chan struct{})
	go func() {
		defer close(done)
		if err := srv.Serve(sl.challenge); err != nil && !errors.Is(err, http.ErrServerClosed) {
			s.log.Error("ACME HTTP-01 listener stopped", "addr", sl.challenge.Addr().String(), "err", err)
		}
	}()
	s.log.Info("ACME HTTP-01 challenges answered", "addr", "http://"+sl.challenge.Addr().String())
	return func() {
		ctx, cancel := context.WithTimeout(context.Background(), 5*time.Second)
		defer cancel()
		if err := srv.Shutdown(ctx); err != nil {
			srv.Close()
		}
		<-done
	}
}

// forwarded makes a request relayed by a trusted proxy look like the
// client's own to what follows: RemoteAddr becomes the forwarded client
// address (port 0: the client's port is not known), which is what the
// edge rate-limits and audits by; and the client's scheme is recorded for
// HSTS. Requests from anyone else pass untouched, their X-Forwarded-*
// headers ignored.
func forwarded(next http.Handler, proxies tlsserve.Proxies) http.Handler {
	if proxies.Empty() {
		return next
	}
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		if c := proxies.Client(r); c.Forwarded {
			r = r.WithContext(tlsserve.WithHTTPS(r.Context(), c.HTTPS))
			r.RemoteAddr = netip.AddrPortFrom(c.Addr, 0).String()
		}
		next.ServeHTTP(w, r)
	})
}
