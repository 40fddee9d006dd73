package tlsserve

import (
	"crypto/tls"
	"io"
	"log/slog"
	"math/big"
	"net"
	"net/http"
	"net/http/httptest"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/visagehq/visage/internal/testenv"
)

func testLogger() (*slog.Logger, *testenv.SyncBuffer) {
	buf := &testenv.SyncBuffer{}
	return slog.New(slog.NewJSONHandler(buf, nil)), buf
}

// serveTLS runs a real HTTPS server on loopback with cfg and returns its URL.
func serveTLS(t *testing.T, cfg *tls.Config, h http.Handler) string {
	t.Helper()
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	srv := &http.Server{Handler: h, TLSConfig: cfg, ReadHeaderTimeout: 5 * time.Second, ErrorLog: discardLog}
	done := make(chan struct{})
	go func() { defer close(done); _ = srv.ServeTLS(ln, "", "") }()
	t.Cleanup(func() { srv.Close(); <-done })
	return "https://" + ln.Addr().String()
}

var ok = http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) { io.WriteString(w, "ok") })

// servedSerial makes a fresh TLS connection and returns the certificate's serial.
func servedSerial(t *testing.T, c *http.Client, url string) *big.Int {
	t.Helper()
	res, err := c.Get(url)
	if err != nil {
		t.Fatal(err)
	}
	defer res.Body.Close()
	io.Copy(io.Discard, res.Body)
	if res.StatusCode != 200 || res.TLS == nil {
		t.Fatalf("GET %s: %d, TLS %v", url, res.StatusCode, res.TLS != nil)
	}
	return res.TLS.PeerCertificates[0].SerialNumber
}

// fileServer starts HTTPS from freshly written files with reloads checked
// on every handshake, and returns the files, the certificates and the URL.
func fileServer(t *testing.T) (ca *testCA, certFile, keyFile string, certs *Certs, url string, logs *testenv.SyncBuffer) {
	t.Helper()
	ca = newCA(t)
	dir := t.TempDir()
	certFile, keyFile = filepath.Join(dir, "tls.crt"), filepath.Join(dir, "tls.key")
	ca.issue(t).install(t, certFile, keyFile)
	log, logs := testLogger()
	certs, err := New(Options{CertFile: certFile, KeyFile: keyFile, Log: log})
	if err != nil {
		t.Fatal(err)
	}
	certs.files.every = 0
	return ca, certFile, keyFile, certs, serveTLS(t, certs.Config(), ok), logs
}

func TestFilesServedAndReloadedWithoutRestart(t *testing.T) {
	ca, certFile, keyFile, certs, url, logs := fileServer(t)
	c := client(ca.pool)
	first := certs.files.Leaf().SerialNumber
	if got := servedSerial(t, c, url); got.Cmp(first) != 0 {
		t.Fatalf("served serial %v, loaded %v", got, first)
	}

	renewed := ca.issue(t)
	renewed.install(t, certFile, keyFile)
	if got := servedSerial(t, c, url); got.Cmp(renewed.serial) != 0 {
		t.Fatalf("after renewal: served %v, want %v", got, renewed.serial)
	}
	if !strings.Contains(logs.String(), "TLS certificate reloaded") {
		t.Errorf("no reload logged: %s", logs)
	}

	// Rewritten in place (no rename): the size or mtime tells.
	again := ca.issue(t, "other.example")
	if err := os.WriteFile(keyFile, again.keyPEM, 0o600); err != nil {
		t.Fatal(err)
	}
	if err := os.WriteFile(certFile, again.certPEM, 0o600); err != nil {
		t.Fatal(err)
	}
	if got := servedSerial(t, c, url); got.Cmp(again.serial) != 0 {
		t.Fatalf("after in-place rewrite: served %v, want %v", got, again.serial)
	}
}

func TestInvalidReplacementKeepsServingThePreviousCertificate(t *testing.T) {
	ca, certFile, keyFile, certs, url, logs := fileServer(t)
	c := client(ca.pool)
	good := certs.files.Leaf().SerialNumber

	// Garbage in place of the certificate.
	writeAtomic(t, certFile, []byte("-----BEGIN CERTIFICATE-----\nnot base64\n-----END CERTIFICATE-----\n"))
	if got := servedSerial(t, c, url); got.Cmp(good) != 0 {
		t.Fatalf("garbage certificate: served %v, want the previous %v", got, good)
	}
	if !strings.Contains(logs.String(), "do not load") || !strings.Contains(logs.String(), `"level":"WARN"`) {
		t.Errorf("rejected replacement not logged as a warning: %s", logs)
	}

	// A renewal written certificate first: for a moment the new
	// certificate sits next to the old key. The old pair is served on.
	next := ca.issue(t)
	writeAtomic(t, certFile, next.certPEM)
	if got := servedSerial(t, c, url); got.Cmp(good) != 0 {
		t.Fatalf("mismatched pair: served %v, want the previous %v", got, good)
	}
	// Its key arrives: the pair loads.
	writeAtomic(t, keyFile, next.keyPEM)
	if got := servedSerial(t, c, url); got.Cmp(next.serial) != 0 {
		t.Fatalf("completed renewal: served %v, want %v", got, next.serial)
	}

	// Files gone (a botched deploy): still served from memory.
	if err := os.Remove(certFile); err != nil {
		t.Fatal(err)
	}
	if got := servedSerial(t, c, url); got.Cmp(next.serial) != 0 {
		t.Fatalf("files removed: served %v, want %v", got, next.serial)
	}
	if n := strings.Count(logs.String(), "unreadable"); n != 1 {
		t.Errorf("missing files logged %d times, want once", n)
	}
	servedSerial(t, c, url)
	if n := strings.Count(logs.String(), "unreadable"); n != 1 {
		t.Errorf("missing files logged %d times after another handshake, want once", n)
	}
}

// The files are looked at no more than once per interval, however many
// handshakes there are.
func TestReloadIsCheckedAtMostOncePerInterval(t *testing.T) {
	ca := newCA(t)
	dir := t.TempDir()
	certFile, keyFile := filepath.Join(dir, "c.pem"), filepath.Join(dir, "k.pem")
	first := ca.issue(t)
	first.install(t, certFile, keyFile)
	log, _ := testLogger()
	f, err := LoadFiles(certFile, keyFile, log)
	if err != nil {
		t.Fatal(err)
	}
	now := time.Now()
	f.now = func() time.Time { return now }
	f.lastCheck = now

	next := ca.issue(t)
	next.install(t, certFile, keyFile)
	serial := func() *big.Int {
		cert, err := f.GetCertificate(&tls.ClientHelloInfo{})
		if err != nil {
			t.Fatal(err)
		}
		return cert.Leaf.SerialNumber
	}
	now = now.Add(reloadEvery / 2)
	if got := serial(); got.Cmp(first.serial) != 0 {
		t.Fatalf("checked again after %v: serial %v", reloadEvery/2, got)
	}
	now = now.Add(reloadEvery)
	if got := serial(); got.Cmp(next.serial) != 0 {
		t.Fatalf("not reloaded after %v: serial %v", reloadEvery*3/2, got)
	}
}

func TestBadInitialPairFailsAtStartup(t *testing.T) {
	ca := newCA(t)
	dir := t.TempDir()
	a, b := ca.issue(t), ca.issue(t)
	write := func(name string, data []byte) string {
		p := filepath.Join(dir, name)
		if err := os.WriteFile(p, data, 0o600); err != nil {
			t.Fatal(err)
		}
		return p
	}
	certA, keyA, keyB := write("a.crt", a.certPEM), write("a.key", a.keyPEM), write("b.key", b.keyPEM)
	garbage := write("garbage.pem", []byte("hello"))
	for _, tc := range []struct {
		name       string
		o          Options
		wantSubstr string
	}{
		{"missing cert", Options{CertFile: filepath.Join(dir, "nope.crt"), KeyFile: keyA}, "nope.crt"},
		{"missing key", Options{CertFile: certA, KeyFile: filepath.Join(dir, "nope.key")}, "nope.key"},
		{"key of another cert", Options{CertFile: certA, KeyFile: keyB}, "private key does not match"},
		{"not PEM", Options{CertFile: garbage, KeyFile: keyA}, "garbage.pem"},
		{"cert without key", Options{CertFile: certA}, "set both or neither"},
		{"key without cert", Options{KeyFile: keyA}, "set both or neither"},
		{"files and ACME", Options{CertFile: certA, KeyFile: keyA, ACME: ACMEOptions{Domains: []string{"a.example"}, CacheDir: dir}}, "keep one"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			c, err := New(tc.o)
			if err == nil || c != nil {
				t.Fatalf("New = %v, %v; want an error", c, err)
			}
			if !strings.Contains(err.Error(), tc.wantSubstr) || !strings.HasPrefix(err.Error(), "tls: ") {
				t.Errorf("error %q does not say %q", err, tc.wantSubstr)
			}
		})
	}
	if c, err := New(Options{}); c != nil || err != nil {
		t.Errorf("no settings: %v, %v; want TLS off", c, err)
	}
}

func TestConfigRefusesOldTLS(t *testing.T) {
	ca, _, _, certs, url, _ := fileServer(t)
	cfg := certs.Config()
	if cfg.MinVersion != tls.VersionTLS12 {
		t.Errorf("MinVersion %x", cfg.MinVersion)
	}
	old := &http.Client{Transport: &http.Transport{TLSClientConfig: &tls.Config{RootCAs: ca.pool, MaxVersion: tls.VersionTLS11}}}
	if res, err := old.Get(url); err == nil {
		res.Body.Close()
		t.Fatal("a TLS 1.1 client was served")
	}
	res, err := client(ca.pool).Get(url)
	if err != nil {
		t.Fatal(err)
	}
	res.Body.Close()
	if res.ProtoMajor != 2 {
		t.Errorf("served %s; HTTP/2 expected over TLS", res.Proto)
	}
}

func TestHSTSOnlyOverTLS(t *testing.T) {
	ca, certFile, keyFile, _, _, _ := fileServer(t)
	log, _ := testLogger()
	cfg, err := Config(Options{CertFile: certFile, KeyFile: keyFile, Log: log})
	if err != nil {
		t.Fatal(err)
	}
	h := HSTS(ok, HSTSMaxAge)
	secure := serveTLS(t, cfg, h)
	plain := httptest.NewServer(h)
	defer plain.Close()

	res, err := client(ca.pool).Get(secure + "/healthz")
	if err != nil {
		t.Fatal(err)
	}
	res.Body.Close()
	if got := res.Header.Get("Strict-Transport-Security"); got != "max-age=63072000; includeSubDomains" {
		t.Errorf("over TLS: Strict-Transport-Security %q", got)
	}
	res, err = http.Get(plain.URL + "/healthz")
	if err != nil {
		t.Fatal(err)
	}
	res.Body.Close()
	if got := res.Header.Get("Strict-Transport-Security"); got != "" {
		t.Errorf("over plain HTTP: Strict-Transport-Security %q", got)
	}
}
