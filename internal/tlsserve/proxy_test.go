package tlsserve

import (
	"context"
	"crypto/tls"
	"encoding/json"
	"net"
	"net/http"
	"net/http/httptest"
	"net/netip"
	"strings"
	"testing"
	"time"
)

func TestParseProxies(t *testing.T) {
	p, err := ParseProxies(" 10.0.0.0/8, 192.168.1.7 ,fd00::/8,10.1.2.3/16,")
	if err != nil {
		t.Fatal(err)
	}
	if got := p.String(); got != "10.0.0.0/8,192.168.1.7/32,fd00::/8,10.1.0.0/16" {
		t.Errorf("parsed %s", got)
	}
	for a, want := range map[string]bool{"10.9.9.9": true, "192.168.1.7": true, "192.168.1.8": false,
		"fd00::1": true, "fe80::1": false, "::ffff:10.0.0.1": true, "127.0.0.1": false} {
		if got := p.Trusts(netip.MustParseAddr(a)); got != want {
			t.Errorf("Trusts(%s) = %v", a, got)
		}
	}
	if p, err := ParseProxies(""); err != nil || !p.Empty() {
		t.Errorf("empty list: %v %v", p, err)
	}
	for _, bad := range []string{"10.0.0.0/33", "10.0.0", "example.com", "10.0.0.0/8,nope", "fe80::1%eth0"} {
		if _, err := ParseProxies(bad); err == nil || !strings.Contains(err.Error(), "trusted proxies") {
			t.Errorf("ParseProxies(%q): %v", bad, err)
		}
	}
}

func TestClient(t *testing.T) {
	p, err := ParseProxies("10.0.0.0/8,2001:db8::/32")
	if err != nil {
		t.Fatal(err)
	}
	for _, tc := range []struct {
		name, remote   string
		tls            bool
		xff, proto     []string
		addr           string
		https, forward bool
	}{
		{name: "no proxy", remote: "203.0.113.9:4242", addr: "203.0.113.9"},
		{name: "untrusted peer's headers ignored", remote: "203.0.113.9:4242", xff: []string{"198.51.100.1"}, proto: []string{"https"}, addr: "203.0.113.9"},
		{name: "untrusted peer over TLS", remote: "203.0.113.9:4242", tls: true, proto: []string{"http"}, addr: "203.0.113.9", https: true},
		{name: "trusted proxy", remote: "10.0.0.2:80", xff: []string{"198.51.100.1"}, proto: []string{"https"}, addr: "198.51.100.1", https: true, forward: true},
		{name: "trusted proxy says http", remote: "10.0.0.2:80", tls: true, xff: []string{"198.51.100.1"}, proto: []string{"http"}, addr: "198.51.100.1", forward: true},
		{name: "client-sent hops left of ours ignored", remote: "10.0.0.2:80", xff: []string{"1.1.1.1, 8.8.8.8", "198.51.100.1"}, addr: "198.51.100.1", forward: true},
		{name: "chain of trusted proxies", remote: "10.0.0.2:80", xff: []string{"6.6.6.6, 198.51.100.1, 10.0.0.9, 10.0.0.3"}, addr: "198.51.100.1", forward: true},
		{name: "only proxies", remote: "10.0.0.2:80", xff: []string{"10.0.0.9, 10.0.0.3"}, addr: "10.0.0.9", forward: true},
		{name: "no X-Forwarded-For", remote: "10.0.0.2:80", addr: "10.0.0.2", forward: true},
		{name: "garbage hop", remote: "10.0.0.2:80", xff: []string{"1.1.1.1, unknown, 10.0.0.3"}, addr: "10.0.0.3", forward: true},
		{name: "hop with port", remote: "10.0.0.2:80", xff: []string{"198.51.100.1:5555"}, addr: "198.51.100.1", forward: true},
		{name: "IPv6 hops", remote: "[2001:db8::2]:443", xff: []string{"[2001:db9::7]:80, 2001:db8::5"}, addr: "2001:db9::7", forward: true},
		{name: "mapped peer", remote: "[::ffff:10.0.0.2]:80", xff: []string{"198.51.100.1"}, addr: "198.51.100.1", forward: true},
		{name: "last proto wins", remote: "10.0.0.2:80", proto: []string{"https, http"}, addr: "10.0.0.2", forward: true},
		{name: "unknown proto keeps the connection's", remote: "10.0.0.2:80", tls: true, proto: []string{"wss"}, addr: "10.0.0.2", https: true, forward: true},
		{name: "not an address", remote: "pipe", xff: []string{"198.51.100.1"}},
	} {
		t.Run(tc.name, func(t *testing.T) {
			r := httptest.NewRequest("GET", "/", nil)
			r.RemoteAddr = tc.remote
			if tc.tls {
				r.TLS = &tls.ConnectionState{}
			} else {
				r.TLS = nil
			}
			for _, v := range tc.xff {
				r.Header.Add("X-Forwarded-For", v)
			}
			for _, v := range tc.proto {
				r.Header.Add("X-Forwarded-Proto", v)
			}
			c := p.Client(r)
			var want netip.Addr
			if tc.addr != "" {
				want = netip.MustParseAddr(tc.addr)
			}
			if c.Addr != want || c.HTTPS != tc.https || c.Forwarded != tc.forward {
				t.Errorf("Client = %+v; want addr %s, https %v, forwarded %v", c, want, tc.https, tc.forward)
			}
		})
	}
	var nobody Proxies
	r := httptest.NewRequest("GET", "/", nil)
	r.RemoteAddr, r.TLS = "10.0.0.2:80", nil
	r.Header.Set("X-Forwarded-For", "198.51.100.1")
	if c := nobody.Client(r); c.Forwarded || c.Addr != netip.MustParseAddr("10.0.0.2") {
		t.Errorf("the zero Proxies trusted a peer: %+v", c)
	}
}

// forwardedEcho is what a server does with Proxies: it records the
// client's scheme for HSTS and answers with the client it saw.
func forwardedEcho(p Proxies) http.Handler {
	echo := http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		c := p.Client(r)
		json.NewEncoder(w).Encode(map[string]any{"addr": c.Addr.String(), "https": IsHTTPS(r), "forwarded": c.Forwarded})
	})
	h := HSTS(echo, HSTSMaxAge)
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		if c := p.Client(r); c.Forwarded {
			r = r.WithContext(WithHTTPS(r.Context(), c.HTTPS))
		}
		h.ServeHTTP(w, r)
	})
}

// Over real connections from 127.0.0.1: a server trusting loopback
// believes the headers, one trusting another network does not. From
// 127.0.0.2 (still loopback on Linux, but not the trusted /32) the same
// headers are ignored.
func TestForwardedHeadersOverRealConnections(t *testing.T) {
	trusting, err := ParseProxies("127.0.0.1/32")
	if err != nil {
		t.Fatal(err)
	}
	other, err := ParseProxies("10.0.0.0/8")
	if err != nil {
		t.Fatal(err)
	}
	get := func(t *testing.T, url, from string) (map[string]any, http.Header) {
		t.Helper()
		d := &net.Dialer{Timeout: 5 * time.Second, LocalAddr: &net.TCPAddr{IP: net.ParseIP(from)}}
		c := &http.Client{Timeout: 10 * time.Second, Transport: &http.Transport{DisableKeepAlives: true,
			DialContext: func(ctx context.Context, network, addr string) (net.Conn, error) {
				return d.DialContext(ctx, network, addr)
			}}}
		req, _ := http.NewRequest("GET", url, nil)
		req.Header.Set("X-Forwarded-For", "198.51.100.1")
		req.Header.Set("X-Forwarded-Proto", "https")
		res, err := c.Do(req)
		if err != nil {
			t.Skipf("cannot connect from %s: %v", from, err)
		}
		defer res.Body.Close()
		var body map[string]any
		if err := json.NewDecoder(res.Body).Decode(&body); err != nil {
			t.Fatal(err)
		}
		return body, res.Header
	}
	srvTrusting := httptest.NewServer(forwardedEcho(trusting))
	defer srvTrusting.Close()
	srvOther := httptest.NewServer(forwardedEcho(other))
	defer srvOther.Close()

	t.Run("trusted peer", func(t *testing.T) {
		body, h := get(t, srvTrusting.URL, "127.0.0.1")
		if body["addr"] != "198.51.100.1" || body["https"] != true || body["forwarded"] != true {
			t.Errorf("trusted proxy's headers not honoured: %v", body)
		}
		if h.Get("Strict-Transport-Security") == "" {
			t.Error("no HSTS for a request a trusted proxy received over https")
		}
	})
	t.Run("untrusted peer", func(t *testing.T) {
		body, h := get(t, srvOther.URL, "127.0.0.1")
		if body["addr"] != "127.0.0.1" || body["https"] != false || body["forwarded"] != false {
			t.Errorf("untrusted peer's headers honoured: %v", body)
		}
		if h.Get("Strict-Transport-Security") != "" {
			t.Error("HSTS sent on a plain request claiming https")
		}
	})
	t.Run("neighbouring address", func(t *testing.T) {
		body, _ := get(t, srvTrusting.URL, "127.0.0.2")
		if body["addr"] != "127.0.0.2" || body["forwarded"] != false {
			t.Errorf("127.0.0.2 treated as the trusted 127.0.0.1: %v", body)
		}
	})
}
