package tlsserve

import (
	"context"
	"fmt"
	"net/http"
	"net/netip"
	"strings"
	"time"
)

// Proxies are the peers whose X-Forwarded-For and X-Forwarded-Proto are
// believed. Anyone can send those headers; only a proxy we run sets them
// truthfully, so they count only when the connection comes from one. The
// zero value trusts nobody.
type Proxies struct {
	prefixes []netip.Prefix
}

// ParseProxies reads a comma-separated list of CIDR prefixes
// ("10.0.0.0/8, fd00::/8"); a bare address is a prefix of one.
func ParseProxies(list string) (Proxies, error) {
	var p Proxies
	for _, s := range strings.Split(list, ",") {
		s = strings.TrimSpace(s)
		if s == "" {
			continue
		}
		var pfx netip.Prefix
		if strings.Contains(s, "/") {
			var err error
			if pfx, err = netip.ParsePrefix(s); err != nil {
				return Proxies{}, fmt.Errorf("trusted proxies: %q is not a CIDR prefix (like 10.0.0.0/8 or fd00::/8)", s)
			}
		} else {
			a, err := netip.ParseAddr(s)
			if err != nil || a.Zone() != "" {
				return Proxies{}, fmt.Errorf("trusted proxies: %q is not an address or CIDR prefix", s)
			}
			pfx = netip.PrefixFrom(a, a.BitLen())
		}
		p.prefixes = append(p.prefixes, pfx.Masked())
	}
	return p, nil
}

// Empty tells whether nobody is trusted.
func (p Proxies) Empty() bool { return len(p.prefixes) == 0 }

// String is the list in canonical form.
func (p Proxies) String() string {
	s := make([]string, len(p.prefixes))
	for i, pfx := range p.prefixes {
		s[i] = pfx.String()
	}
	return strings.Join(s, ",")
}

// Trusts tells whether a is one of the proxies.
func (p Proxies) Trusts(a netip.Addr) bool {
	a = a.Unmap()
	for _, pfx := range p.prefixes {
		if pfx.Contains(a) {
			return true
		}
	}
	return false
}

// Client is who sent a request, as far as can be known.
type Client struct {
	// Addr is the client's address: the peer's, or with a trusted peer
	// the rightmost X-Forwarded-For hop that is not a trusted proxy.
	// Invalid when RemoteAddr is not an address (a test's fake request).
	Addr netip.Addr
	// HTTPS tells whether the client's connection was TLS: this one's, or
	// a trusted peer's X-Forwarded-Proto.
	HTTPS bool
	// Forwarded is true when a trusted proxy relayed the request, so Addr
	// and HTTPS come from its headers.
	Forwarded bool
}

// Client tells who sent r. Headers from an untrusted peer are ignored, so
// a client cannot claim another address to dodge a rate limit, or claim
// https. X-Forwarded-For is read from the right: each proxy appends the
// address it got the request from, so the first hop from the right that
// is not one of ours is the nearest address no one we trust could forge;
// everything to its left is whatever the client chose to send.
func (p Proxies) Client(r *http.Request) Client {
	c := Client{Addr: remoteAddr(r.RemoteAddr), HTTPS: r.TLS != nil}
	if !c.Addr.IsValid() || !p.Trusts(c.Addr) {
		return c
	}
	c.Forwarded = true
	if proto, ok := lastValue(r.Header.Values("X-Forwarded-Proto")); ok {
		switch strings.ToLower(proto) {
		case "https":
			c.HTTPS = true
		case "http":
			c.HTTPS = false
		}
	}
	hops := splitValues(r.Header.Values("X-Forwarded-For"))
	for i := len(hops) - 1; i >= 0; i-- {
		a := hopAddr(hops[i])
		if !a.IsValid() {
			// A hop our proxy wrote is an address; garbage came from further
			// left, so the last address we could vouch for is the answer.
			break
		}
		c.Addr = a
		if !p.Trusts(a) {
			break
		}
	}
	return c
}

// remoteAddr parses "ip:port" (what net/http sets) or a bare address.
func remoteAddr(s string) netip.Addr {
	if ap, err := netip.ParseAddrPort(s); err == nil {
		return ap.Addr().Unmap()
	}
	if a, err := netip.ParseAddr(s); err == nil {
		return a.Unmap()
	}
	return netip.Addr{}
}

// hopAddr parses an X-Forwarded-For entry: an address, possibly with a
// port or in brackets (some proxies write "[2001:db8::1]:4711").
func hopAddr(s string) netip.Addr {
	s = strings.TrimSpace(s)
	if a := remoteAddr(s); a.IsValid() {
		return a
	}
	return remoteAddr(strings.TrimSuffix(strings.TrimPrefix(s, "["), "]"))
}

func splitValues(values []string) []string {
	var out []string
	for _, v := range values {
		for _, part := range strings.Split(v, ",") {
			if part = strings.TrimSpace(part); part != "" {
				out = append(out, part)
			}
		}
	}
	return out
}

// lastValue is the rightmost entry of a list header: the one written by
// the proxy nearest to us.
func lastValue(values []string) (string, bool) {
	v := splitValues(values)
	if len(v) == 0 {
		return "", false
	}
	return v[len(v)-1], true
}

type schemeKey struct{}

// WithHTTPS records in ctx whether the client's connection was TLS, for a
// request whose own connection (a trusted proxy's) says nothing about it.
func WithHTTPS(ctx context.Context, https bool) context.Context {
	return context.WithValue(ctx, schemeKey{}, https)
}

// IsHTTPS tells whether the client reached us over TLS: what WithHTTPS
// recorded from a trusted proxy (whose own hop may or may not be TLS), or
// else this connection.
func IsHTTPS(r *http.Request) bool {
	if https, ok := r.Context().Value(schemeKey{}).(bool); ok {
		return https
	}
	return r.TLS != nil
}

// HSTS tells browsers to use only https for this host and its subdomains
// for maxAge, so that a later plain-http link (or an attacker downgrading
// one) cannot strip the TLS that capture pages need. The header is sent
// only on TLS requests: over plain HTTP it would be ignored (RFC 6797
// §8.1) and would misstate what the server offers.
func HSTS(next http.Handler, maxAge time.Duration) http.Handler {
	value := fmt.Sprintf("max-age=%d; includeSubDomains", int64(maxAge/time.Second))
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		if IsHTTPS(r) {
			w.Header().Set("Strict-Transport-Security", value)
		}
		next.ServeHTTP(w, r)
	})
}

// HSTSMaxAge is two years, what browsers' preload lists ask for.
const HSTSMaxAge = 2 * 365 * 24 * time.Hour
