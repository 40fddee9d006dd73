package app

import (
	"bytes"
	"context"
	"crypto/ecdsa"
	"crypto/elliptic"
	"crypto/rand"
	"crypto/tls"
	"crypto/x509"
	"crypto/x509/pkix"
	"encoding/json"
	"encoding/pem"
	"errors"
	"flag"
	"io"
	"log/slog"
	"math/big"
	"net"
	"net/http"
	"os"
	"path/filepath"
	"sort"
	"strconv"
	"strings"
	"testing"
	"time"

	"github.com/visagehq/visage/internal/config"
)

// testPKI is a CA made for one test and the pairs it issues.
type testPKI struct {
	cert *x509.Certificate
	key  *ecdsa.PrivateKey
	pool *x509.CertPool
	next int64
}

func newTestPKI(t *testing.T) *testPKI {
	t.Helper()
	key, err := ecdsa.GenerateKey(elliptic.P256(), rand.Reader)
	if err != nil {
		t.Fatal(err)
	}
	tmpl := &x509.Certificate{SerialNumber: big.NewInt(1), Subject: pkix.Name{CommonName: "visage test CA"},
		NotBefore: time.Now().Add(-time.Hour), NotAfter: time.Now().Add(24 * time.Hour),
		IsCA: true, BasicConstraintsValid: true, KeyUsage: x509.KeyUsageCertSign}
	der, err := x509.CreateCertificate(rand.Reader, tmpl, tmpl, &key.PublicKey, key)
	if err != nil {
		t.Fatal(err)
	}
	cert, _ := x509.ParseCertificate(der)
	pool := x509.NewCertPool()
	pool.AddCert(cert)
	return &testPKI{cert: cert, key: key, pool: pool, next: 100}
}

// writePair issues a certificate for 127.0.0.1 and localhost and renames
// it and its key into place, as renewal tools do; it returns the serial.
func (p *testPKI) writePair(t *testing.T, certFile, keyFile string) *big.Int {
	t.Helper()
	key, err := ecdsa.GenerateKey(elliptic.P256(), rand.Reader)
	if err != nil {
		t.Fatal(err)
	}
	p.next++
	tmpl := &x509.Certificate{SerialNumber: big.NewInt(p.next), Subject: pkix.Name{CommonName: "localhost"},
		NotBefore: time.Now().Add(-time.Hour), NotAfter: time.Now().Add(24 * time.Hour),
		DNSNames: []string{"localhost"}, IPAddresses: []net.IP{net.IPv4(127, 0, 0, 1)},
		KeyUsage: x509.KeyUsageDigitalSignature, ExtKeyUsage: []x509.ExtKeyUsage{x509.ExtKeyUsageServerAuth}}
	der, err := x509.CreateCertificate(rand.Reader, tmpl, p.cert, &key.PublicKey, p.key)
	if err != nil {
		t.Fatal(err)
	}
	kder, _ := x509.MarshalECPrivateKey(key)
	for name, data := range map[string][]byte{
		certFile: pem.EncodeToMemory(&pem.Block{Type: "CERTIFICATE", Bytes: der}),
		keyFile:  pem.EncodeToMemory(&pem.Block{Type: "EC PRIVATE KEY", Bytes: kder}),
	} {
		if err := os.WriteFile(name+".tmp", data, 0o600); err != nil {
			t.Fatal(err)
		}
		if err := os.Rename(name+".tmp", name); err != nil {
			t.Fatal(err)
		}
	}
	return tmpl.SerialNumber
}

// httpsClient trusts pool only, opens a connection per request (each
// request a handshake) and connects from the local address from.
func httpsClient(pool *x509.CertPool, from string) *http.Client {
	d := &net.Dialer{Timeout: 5 * time.Second, LocalAddr: &net.TCPAddr{IP: net.ParseIP(from)}}
	return &http.Client{Timeout: 30 * time.Second, Transport: &http.Transport{
		TLSClientConfig: &tls.Config{RootCAs: pool}, DisableKeepAlives: true, ForceAttemptHTTP2: true, DialContext: d.DialContext,
	}}
}

// The real server with certificate files: health over https with HSTS,
// capture links that start with https://, a renewed certificate served
// without a restart, and X-Forwarded-For believed from the trusted proxy
// (127.0.0.1) only, as the rate limit shows.
func TestServeTLS(t *testing.T) {
	pki := newTestPKI(t)
	dir := t.TempDir()
	certFile, keyFile := filepath.Join(dir, "tls.crt"), filepath.Join(dir, "tls.key")
	first := pki.writePair(t, certFile, keyFile)
	s := startServer(t, "", "", func(c *config.Server) {
		c.TLSCertFile, c.TLSKeyFile, c.TrustedProxies = certFile, keyFile, "127.0.0.1/32"
		// Two failed attempts per client address, then 429: how the test
		// sees which address the edge took the request to come from.
		c.RateLimit, c.RateBurst = 0.001, 2
	})
	base := "https://" + s.srv.Addr()
	c := httpsClient(pki.pool, "127.0.0.1")

	res, err := c.Get(base + "/healthz")
	if err != nil {
		t.Fatal(err)
	}
	res.Body.Close()
	if res.StatusCode != 200 || res.TLS == nil || res.ProtoMajor != 2 {
		t.Fatalf("GET /healthz over https: %d %s, TLS %v", res.StatusCode, res.Proto, res.TLS != nil)
	}
	if got := res.Header.Get("Strict-Transport-Security"); got != "max-age=63072000; includeSubDomains" {
		t.Errorf("Strict-Transport-Security %q", got)
	}
	if got := res.TLS.PeerCertificates[0].SerialNumber; got.Cmp(first) != 0 {
		t.Errorf("served serial %v, want %v", got, first)
	}

	// Plain HTTP on the TLS port is refused, and gets no HSTS.
	res, err = http.Get("http://" + s.srv.Addr() + "/healthz")
	if err != nil {
		t.Fatal(err)
	}
	res.Body.Close()
	if res.StatusCode != 400 || res.Header.Get("Strict-Transport-Security") != "" {
		t.Errorf("plain HTTP to the TLS port: %d, HSTS %q", res.StatusCode, res.Header.Get("Strict-Transport-Security"))
	}

	key := s.newTenant("tls")
	req, _ := http.NewRequest("POST", base+"/v1/capture-sessions", strings.NewReader(`{"face_id":"amy"}`))
	req.Header.Set("x-api-key", key)
	req.Header.Set("Content-Type", "application/json")
	res, err = c.Do(req)
	if err != nil {
		t.Fatal(err)
	}
	data, _ := io.ReadAll(res.Body)
	res.Body.Close()
	checkResponse(t, req, res, data)
	var body struct{ URL string }
	if err := json.Unmarshal(data, &body); err != nil || res.StatusCode != 201 {
		t.Fatalf("capture session: %d %s", res.StatusCode, data)
	}
	if !strings.HasPrefix(body.URL, base+"/capture/cap_") {
		t.Fatalf("capture link %q does not start with %s/capture/", body.URL, base)
	}
	res, err = c.Get(body.URL)
	if err != nil {
		t.Fatal(err)
	}
	res.Body.Close()
	if res.StatusCode != 200 || res.Header.Get("Strict-Transport-Security") == "" {
		t.Errorf("capture page over https: %d, HSTS %q", res.StatusCode, res.Header.Get("Strict-Transport-Security"))
	}

	t.Run("renewed certificate", func(t *testing.T) {
		renewed := pki.writePair(t, certFile, keyFile)
		deadline := time.Now().Add(10 * time.Second)
		for {
			res, err := c.Get(base + "/healthz")
			if err != nil {
				t.Fatal(err)
			}
			res.Body.Close()
			if res.TLS.PeerCertificates[0].SerialNumber.Cmp(renewed) == 0 {
				return
			}
			if time.Now().After(deadline) {
				t.Fatalf("still serving serial %v 10 s after the renewal", res.TLS.PeerCertificates[0].SerialNumber)
			}
			time.Sleep(200 * time.Millisecond)
		}
	})

	// A request with a wrong key costs a token of the client's address.
	attempt := func(c *http.Client, xff string) int {
		t.Helper()
		req, _ := http.NewRequest("GET", base+"/v1/faces", nil)
		req.Header.Set("x-api-key", "key_nope.wrong")
		req.Header.Set("X-Forwarded-For", xff)
		res, err := c.Do(req)
		if err != nil {
			t.Fatal(err)
		}
		res.Body.Close()
		return res.StatusCode
	}
	t.Run("forwarded from the trusted proxy", func(t *testing.T) {
		for i, want := range []int{401, 401, 429} {
			if got := attempt(c, "203.0.113.1"); got != want {
				t.Fatalf("attempt %d as 203.0.113.1: %d, want %d", i+1, got, want)
			}
		}
		// Another client behind the same proxy has its own budget.
		if got := attempt(c, "203.0.113.2"); got != 401 {
			t.Errorf("first attempt as 203.0.113.2: %d, want 401", got)
		}
	})
	t.Run("forwarded from an untrusted peer", func(t *testing.T) {
		// 127.0.0.2 is loopback too, but not the trusted 127.0.0.1/32: a
		// new X-Forwarded-For each time does not buy it a new budget.
		other := httpsClient(pki.pool, "127.0.0.2")
		res, err := other.Get(base + "/healthz")
		if err != nil {
			t.Skipf("cannot connect from 127.0.0.2: %v", err)
		}
		res.Body.Close()
		for i, want := range []int{401, 401, 429} {
			if got := attempt(other, "198.51.100."+strconv.Itoa(i+1)); got != want {
				t.Fatalf("attempt %d from 127.0.0.2: %d, want %d", i+1, got, want)
			}
		}
	})
}

// TestCheckTLS: the TLS settings as read from the environment, checked
// together; every mistake stops the server naming the variables.
func TestCheckTLS(t *testing.T) {
	for _, tc := range []struct {
		env  map[string]string
		want string // "" = valid
	}{
		{map[string]string{}, ""},
		{map[string]string{"VISAGE_TLS_CERT_PATH": "/etc/visage/tls.crt", "VISAGE_TLS_KEY_PATH": "/etc/visage/tls.key"}, ""},
		{map[string]string{"VISAGE_ACME_DOMAINS": "visage.example.com, id.example.com", "VISAGE_ACME_HTTP_LISTEN": ":80",
			"VISAGE_ACME_EMAIL": "ops@example.com", "VISAGE_ACME_DIRECTORY_URL": "https://acme-staging-v02.api.letsencrypt.org/directory"}, ""},
		{map[string]string{"VISAGE_TRUSTED_PROXIES": "10.0.0.0/8, fd00::/8, 192.0.2.7"}, ""},
		{map[string]string{"VISAGE_TLS_CERT_PATH": "/etc/visage/tls.crt"}, "VISAGE_TLS_KEY_PATH"},
		{map[string]string{"VISAGE_TLS_KEY_PATH": "/etc/visage/tls.key"}, "VISAGE_TLS_CERT_PATH"},
		{map[string]string{"VISAGE_TLS_CERT_PATH": "a", "VISAGE_TLS_KEY_PATH": "b", "VISAGE_ACME_DOMAINS": "visage.example.com"}, "keep one"},
		{map[string]string{"VISAGE_ACME_EMAIL": "ops@example.com"}, "VISAGE_ACME_EMAIL is set but VISAGE_ACME_DOMAINS"},
		{map[string]string{"VISAGE_ACME_HTTP_LISTEN": ":80"}, "VISAGE_ACME_HTTP_LISTEN is set but VISAGE_ACME_DOMAINS"},
		{map[string]string{"VISAGE_ACME_DOMAINS": "*.example.com"}, "VISAGE_ACME_DOMAINS"},
		{map[string]string{"VISAGE_ACME_DOMAINS": "visage.example.com", "VISAGE_ACME_HTTP_LISTEN": "80"}, "VISAGE_ACME_HTTP_LISTEN"},
		{map[string]string{"VISAGE_TRUSTED_PROXIES": "10.0.0.0/33"}, "VISAGE_TRUSTED_PROXIES"},
		{map[string]string{"VISAGE_TRUSTED_PROXIES": "proxy.internal"}, "VISAGE_TRUSTED_PROXIES"},
	} {
		names := []string{"defaults"}
		for k, v := range tc.env {
			names = append(names, k+"="+v)
		}
		sort.Strings(names[1:])
		if len(names) > 1 {
			names = names[1:]
		}
		t.Run(strings.Join(names, " "), func(t *testing.T) {
			fs := flag.NewFlagSet("serve", flag.ContinueOnError)
			var c config.Server
			config.RegisterServer(fs, &c)
			for _, v := range []string{"VISAGE_TLS_CERT_PATH", "VISAGE_TLS_KEY_PATH", "VISAGE_ACME_DOMAINS", "VISAGE_ACME_EMAIL",
				"VISAGE_ACME_DIRECTORY_URL", "VISAGE_ACME_CACHE_DIR", "VISAGE_ACME_HTTP_LISTEN", "VISAGE_TRUSTED_PROXIES"} {
				t.Setenv(v, tc.env[v])
			}
			if err := config.ApplyEnv(fs); err != nil {
				t.Fatal(err)
			}
			if err := fs.Parse(nil); err != nil {
				t.Fatal(err)
			}
			err := CheckTLS(&c)
			switch {
			case tc.want == "" && err != nil:
				t.Fatalf("valid settings refused: %v", err)
			case tc.want == "":
			case err == nil:
				t.Fatalf("accepted; want an error naming %s", tc.want)
			case !errors.Is(err, config.ErrInvalid) || !strings.Contains(err.Error(), tc.want):
				t.Fatalf("error %q does not name %s", err, tc.want)
			}
		})
	}
}

// bareServer is a Server with only what secure needs: no models.
func bareServer(c *config.Server) (*Server, *bytes.Buffer) {
	var logs bytes.Buffer
	return &Server{cfg: c, log: slog.New(slog.NewJSONHandler(&logs, nil)),
		http: &http.Server{Handler: http.NotFoundHandler()}}, &logs
}

// A bad initial pair stops the server at Listen, saying which file.
func TestSecureRefusesBadPair(t *testing.T) {
	dir := t.TempDir()
	certFile, keyFile := filepath.Join(dir, "tls.crt"), filepath.Join(dir, "tls.key")
	pki := newTestPKI(t)
	pki.writePair(t, certFile, keyFile)
	if err := os.WriteFile(certFile, []byte("not a certificate"), 0o600); err != nil {
		t.Fatal(err)
	}
	s, _ := bareServer(&config.Server{TLSCertFile: certFile, TLSKeyFile: keyFile})
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	if _, err := s.secure(ln); err == nil || !strings.Contains(err.Error(), certFile) {
		t.Fatalf("bad certificate file: %v", err)
	}
	if _, err := ln.Accept(); err == nil {
		t.Error("listener left open after the failure")
	}
}

// With ACME, links default to the first domain (an address gets no
// certificate), and the HTTP-01 listener redirects to https until stopped.
func TestSecureACMEDefaults(t *testing.T) {
	dataDir := t.TempDir()
	s, _ := bareServer(&config.Server{Store: config.Store{DataDir: dataDir},
		ACMEDomains: "Visage.Example.com,id.example.com", ACMEHTTPListen: "127.0.0.1:0", TrustedProxies: "10.0.0.0/8"})
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	if s.ln, err = s.secure(ln); err != nil {
		t.Fatal(err)
	}
	defer s.ln.Close()
	_, port, _ := net.SplitHostPort(ln.Addr().String())
	if got := s.defaultPublicURL(); got != "https://visage.example.com:"+port {
		t.Errorf("default public URL %q", got)
	}
	if fi, err := os.Stat(filepath.Join(dataDir, "acme")); err != nil || fi.Mode().Perm() != 0o700 {
		t.Errorf("ACME cache dir: %v", err)
	}
	sl := s.ln.(*secureListener)
	stop := s.serveChallenges()
	plain := &http.Client{Timeout: 5 * time.Second, CheckRedirect: func(*http.Request, []*http.Request) error { return http.ErrUseLastResponse }}
	req, _ := http.NewRequestWithContext(context.Background(), "GET", "http://"+sl.challenge.Addr().String()+"/capture/cap_x", nil)
	req.Host = "visage.example.com"
	res, err := plain.Do(req)
	if err != nil {
		t.Fatal(err)
	}
	res.Body.Close()
	if loc := res.Header.Get("Location"); res.StatusCode != http.StatusFound || loc != "https://visage.example.com/capture/cap_x" {
		t.Errorf("plain request on the challenge listener: %d to %q", res.StatusCode, loc)
	}
	stop()
	if _, err := plain.Do(req); err == nil {
		t.Error("challenge listener still answering after stop")
	}
}

// The warnings an operator gets when links will not open the camera.
func TestPublicURLWarnings(t *testing.T) {
	for _, tc := range []struct {
		c    config.Server
		warn bool
	}{
		{config.Server{}, false},
		{config.Server{TrustedProxies: "10.0.0.0/8"}, true},
		{config.Server{TrustedProxies: "10.0.0.0/8", PublicURL: "https://visage.example.com"}, false},
		{config.Server{PublicURL: "http://visage.example.com"}, true},
		{config.Server{PublicURL: "http://127.0.0.1:8080"}, false},
		{config.Server{PublicURL: "http://localhost:8080"}, false},
	} {
		s, logs := bareServer(&tc.c)
		ln, err := net.Listen("tcp", "127.0.0.1:0")
		if err != nil {
			t.Fatal(err)
		}
		out, err := s.secure(ln)
		if err != nil {
			t.Fatal(err)
		}
		out.Close()
		if got := strings.Contains(logs.String(), `"level":"WARN"`); got != tc.warn {
			t.Errorf("%+v: warned %v: %s", tc.c, got, logs)
		}
	}
}
