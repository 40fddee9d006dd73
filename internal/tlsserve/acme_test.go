package tlsserve

import (
	"context"
	"crypto/tls"
	"crypto/x509"
	"encoding/binary"
	"encoding/json"
	"encoding/pem"
	"errors"
	"fmt"
	"io"
	"log/slog"
	"net"
	"net/http"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"sync/atomic"
	"testing"
	"time"

	"golang.org/x/crypto/acme"
	"golang.org/x/net/dns/dnsmessage"

	"github.com/visagehq/visage/internal/testenv"
)

func TestACMEConfig(t *testing.T) {
	dir := filepath.Join(t.TempDir(), "data", "acme")
	log, _ := testLogger()
	certs, err := New(Options{Log: log, ACME: ACMEOptions{Domains: []string{"Visage.Example.COM", "bücher.example"},
		CacheDir: dir, Email: "ops@example.com", DirectoryURL: "https://acme.invalid/directory"}})
	if err != nil {
		t.Fatal(err)
	}
	fi, err := os.Stat(dir)
	if err != nil {
		t.Fatal(err)
	}
	if fi.Mode().Perm() != 0o700 {
		t.Errorf("cache dir mode %v, want 0700", fi.Mode().Perm())
	}
	m := certs.acme
	if m.Email != "ops@example.com" || m.Client.DirectoryURL != "https://acme.invalid/directory" {
		t.Errorf("manager: email %q, directory %q", m.Email, m.Client.DirectoryURL)
	}
	for host, allowed := range map[string]bool{
		"visage.example.com": true, "VISAGE.example.com": true, "visage.example.com:5002": true,
		"xn--bcher-kva.example": true, "bücher.example": true, "visage.example.com.": true,
		"evil.example.com": false, "example.com": false, "127.0.0.1": false, "": false,
	} {
		if err := m.HostPolicy(context.Background(), host); (err == nil) != allowed {
			t.Errorf("host policy for %q: %v", host, err)
		}
	}
	cfg := certs.Config()
	if cfg.MinVersion != tls.VersionTLS12 || !containsString(cfg.NextProtos, acme.ALPNProto) || !containsString(cfg.NextProtos, "h2") {
		t.Errorf("tls.Config: min %x, protos %v", cfg.MinVersion, cfg.NextProtos)
	}
	// A name outside the list is refused before any CA is asked.
	if _, err := cfg.GetCertificate(&tls.ClientHelloInfo{ServerName: "evil.example.com"}); err == nil || !strings.Contains(err.Error(), "not one of the ACME domains") {
		t.Errorf("unknown name: %v", err)
	}
	if certs.ChallengeHandler() == nil {
		t.Error("no HTTP-01 handler")
	}

	// An existing cache dir others can read is made private.
	loose := filepath.Join(t.TempDir(), "acme")
	if err := os.Mkdir(loose, 0o755); err != nil {
		t.Fatal(err)
	}
	if _, err := New(Options{Log: log, ACME: ACMEOptions{Domains: []string{"a.example"}, CacheDir: loose}}); err != nil {
		t.Fatal(err)
	}
	if fi, err := os.Stat(loose); err != nil || fi.Mode().Perm() != 0o700 {
		t.Errorf("loose cache dir: %v %v", fi.Mode().Perm(), err)
	}

	for _, tc := range []struct {
		domains []string
		want    string
	}{
		{[]string{"*.example.com"}, "wildcard"},
		{[]string{"localhost"}, "not a fully qualified name"},
		{[]string{"203.0.113.5"}, "not an address"},
		{[]string{"visage.example.com:443"}, "without port"},
		{[]string{"ok.example", " "}, "empty"},
	} {
		_, err := New(Options{Log: log, ACME: ACMEOptions{Domains: tc.domains, CacheDir: t.TempDir()}})
		if err == nil || !strings.Contains(err.Error(), tc.want) {
			t.Errorf("domains %q: %v, want %q", tc.domains, err, tc.want)
		}
	}
	if _, err := New(Options{ACME: ACMEOptions{Domains: []string{"a.example"}}}); err == nil {
		t.Error("ACME without a cache dir accepted")
	}
	if err := (Options{ACME: ACMEOptions{Email: "ops@example.com"}}).Validate(); err == nil {
		t.Error("ACME email without domains accepted")
	}
	// A cache dir that cannot be created fails at start-up.
	file := filepath.Join(t.TempDir(), "file")
	if err := os.WriteFile(file, nil, 0o600); err != nil {
		t.Fatal(err)
	}
	if _, err := New(Options{ACME: ACMEOptions{Domains: []string{"a.example"}, CacheDir: filepath.Join(file, "acme")}}); err == nil {
		t.Error("cache dir under a file accepted")
	}
}

func containsString(list []string, s string) bool {
	for _, v := range list {
		if v == s {
			return true
		}
	}
	return false
}

// pebble is a Pebble ACME test CA (github.com/letsencrypt/pebble) run for
// one test: it validates challenges for real, against the ports it is
// told, resolving every name to 127.0.0.1 through a DNS server of ours.
type pebble struct {
	dirURL            string
	client            *http.Client // trusts pebble's API certificate
	mgmt              string
	httpPort, tlsPort int
	cmd               *exec.Cmd
	out               *testenv.SyncBuffer
	done              chan struct{}
}

// pebbleBinary is the Pebble build under .cache/bin (git-ignored), or
// VISAGE_PEBBLE; without one the ACME end-to-end tests skip, saying how to
// build it.
func pebbleBinary(t *testing.T) string {
	t.Helper()
	if p := os.Getenv("VISAGE_PEBBLE"); p != "" {
		return p
	}
	p, err := filepath.Abs(filepath.Join("..", "..", ".cache", "bin", "pebble"))
	if err != nil {
		t.Fatal(err)
	}
	if _, err := os.Stat(p); err != nil {
		t.Skipf("ACME end-to-end test needs the Pebble test CA at %s (or VISAGE_PEBBLE); build it from the repository root with:\n"+
			"  GOBIN=$PWD/.cache/bin go install github.com/letsencrypt/pebble/v2/cmd/pebble@v2.10.3", p)
	}
	return p
}

// startPebble starts Pebble, again on other ports when one it was given
// was taken meanwhile (free ports are picked before Pebble binds them, and
// other packages' tests run alongside).
func startPebble(t *testing.T) *pebble {
	t.Helper()
	for try := 1; ; try++ {
		p, err := launchPebble(t)
		if err == nil {
			return p
		}
		if !errors.Is(err, errPortTaken) || try == 3 {
			t.Fatal(err)
		}
		t.Logf("pebble: %v; trying other ports", err)
	}
}

var errPortTaken = errors.New("a port was taken before pebble bound it")

func launchPebble(t *testing.T) (*pebble, error) {
	t.Helper()
	bin := pebbleBinary(t)
	dir := t.TempDir()
	ca := newCA(t)
	api := ca.issue(t)
	certFile, keyFile := filepath.Join(dir, "cert.pem"), filepath.Join(dir, "key.pem")
	api.install(t, certFile, keyFile)
	dns := serveDNS(t)

	p := &pebble{httpPort: testenv.FreePort(t), tlsPort: testenv.FreePort(t), out: &testenv.SyncBuffer{}, done: make(chan struct{}),
		client: &http.Client{Timeout: 30 * time.Second, Transport: &http.Transport{TLSClientConfig: &tls.Config{RootCAs: ca.pool}}}}
	listen, mgmt := testenv.FreePort(t), testenv.FreePort(t)
	p.dirURL = fmt.Sprintf("https://127.0.0.1:%d/dir", listen)
	p.mgmt = fmt.Sprintf("https://127.0.0.1:%d", mgmt)
	cfg := map[string]any{"pebble": map[string]any{
		"listenAddress": fmt.Sprintf("127.0.0.1:%d", listen), "managementListenAddress": fmt.Sprintf("127.0.0.1:%d", mgmt),
		"certificate": certFile, "privateKey": keyFile, "httpPort": p.httpPort, "tlsPort": p.tlsPort,
		"ocspResponderURL": "", "externalAccountBindingRequired": false,
		"retryAfter": map[string]int{"authz": 1, "order": 1},
		"profiles":   map[string]any{"default": map[string]any{"description": "test", "validityPeriod": 7776000}},
	}}
	b, _ := json.Marshal(cfg)
	cfgFile := filepath.Join(dir, "pebble.json")
	if err := os.WriteFile(cfgFile, b, 0o600); err != nil {
		t.Fatal(err)
	}
	p.cmd = exec.Command(bin, "-config", cfgFile, "-dnsserver", dns)
	// No random sleeps before validating, and no nonces refused at random
	// (Pebble's way of testing clients' retries; not what is tested here).
	p.cmd.Env = append(os.Environ(), "PEBBLE_VA_NOSLEEP=1", "PEBBLE_WFE_NONCEREJECT=0")
	p.cmd.Stdout, p.cmd.Stderr = p.out, p.out
	if err := p.cmd.Start(); err != nil {
		return nil, err
	}
	go func() { _ = p.cmd.Wait(); close(p.done) }()
	t.Cleanup(func() {
		p.stop()
		if t.Failed() {
			t.Logf("pebble output:\n%s", p.out)
		}
	})
	deadline := time.Now().Add(20 * time.Second)
	for {
		res, err := p.client.Get(p.dirURL)
		if err == nil {
			res.Body.Close()
			if res.StatusCode == 200 {
				return p, nil
			}
		}
		select {
		case <-p.done:
			if strings.Contains(p.out.String(), "address already in use") {
				return nil, errPortTaken
			}
			return nil, fmt.Errorf("pebble exited: %s", p.out)
		default:
		}
		if time.Now().After(deadline) {
			return nil, fmt.Errorf("pebble not up after 20 s: %v\n%s", err, p.out)
		}
		time.Sleep(50 * time.Millisecond)
	}
}

func (p *pebble) stop() {
	select {
	case <-p.done:
	default:
		_ = p.cmd.Process.Kill()
		<-p.done
	}
}

// roots is the pool of Pebble's (per-run) root: what a browser trusting
// this CA would have.
func (p *pebble) roots(t *testing.T) *x509.CertPool {
	t.Helper()
	res, err := p.client.Get(p.mgmt + "/roots/0")
	if err != nil {
		t.Fatal(err)
	}
	defer res.Body.Close()
	data, _ := io.ReadAll(res.Body)
	pool := x509.NewCertPool()
	if block, _ := pem.Decode(data); block == nil || !pool.AppendCertsFromPEM(data) {
		t.Fatalf("pebble root: %d %q", res.StatusCode, data)
	}
	return pool
}

// serveDNS answers every A query with 127.0.0.1 and nothing else, over
// TCP (how Pebble asks), and returns its address.
func serveDNS(t *testing.T) string {
	t.Helper()
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { ln.Close() })
	go func() {
		for {
			conn, err := ln.Accept()
			if err != nil {
				return
			}
			go answerDNS(conn)
		}
	}()
	return ln.Addr().String()
}

func answerDNS(conn net.Conn) {
	defer conn.Close()
	for {
		_ = conn.SetDeadline(time.Now().Add(30 * time.Second))
		var n [2]byte
		if _, err := io.ReadFull(conn, n[:]); err != nil {
			return
		}
		msg := make([]byte, binary.BigEndian.Uint16(n[:]))
		if _, err := io.ReadFull(conn, msg); err != nil {
			return
		}
		var p dnsmessage.Parser
		h, err := p.Start(msg)
		if err != nil {
			return
		}
		q, err := p.Question()
		if err != nil {
			return
		}
		b := dnsmessage.NewBuilder(make([]byte, 2, 512), dnsmessage.Header{ID: h.ID, Response: true, Authoritative: true, RecursionDesired: h.RecursionDesired})
		_ = b.StartQuestions()
		_ = b.Question(q)
		_ = b.StartAnswers()
		if q.Type == dnsmessage.TypeA {
			_ = b.AResource(dnsmessage.ResourceHeader{Name: q.Name, Class: dnsmessage.ClassINET, TTL: 60}, dnsmessage.AResource{A: [4]byte{127, 0, 0, 1}})
		}
		out, err := b.Finish()
		if err != nil {
			return
		}
		binary.BigEndian.PutUint16(out, uint16(len(out)-2))
		if _, err := conn.Write(out); err != nil {
			return
		}
	}
}

// dialTo is a client for roots that reaches every name at addr, as DNS
// would send a browser there.
func dialTo(roots *x509.CertPool, addr string) *http.Client {
	d := &net.Dialer{Timeout: 5 * time.Second}
	return &http.Client{Timeout: 2 * time.Minute, Transport: &http.Transport{
		TLSClientConfig: &tls.Config{RootCAs: roots}, DisableKeepAlives: true, ForceAttemptHTTP2: true,
		DialContext: func(ctx context.Context, network, _ string) (net.Conn, error) {
			return d.DialContext(ctx, network, addr)
		},
	}}
}

func acmeServer(t *testing.T, certs *Certs, addr string) {
	t.Helper()
	serveConfig(t, certs.Config(), addr)
}

func serveConfig(t *testing.T, cfg *tls.Config, addr string) {
	t.Helper()
	ln, err := net.Listen("tcp", addr)
	if err != nil {
		t.Fatal(err)
	}
	srv := &http.Server{Handler: ok, ReadHeaderTimeout: 5 * time.Second, ErrorLog: discardLog}
	done := make(chan struct{})
	go func() { defer close(done); _ = srv.Serve(tls.NewListener(ln, cfg)) }()
	t.Cleanup(func() { srv.Close(); <-done })
}

var discardLog = slog.NewLogLogger(slog.DiscardHandler, slog.LevelWarn)

// TestACMEIssuesWithTLSALPN01: the first handshake for a configured name
// orders a certificate, the CA validates it on the TLS listener itself
// (TLS-ALPN-01: nothing on port 80), and the certificate is served; after
// a restart it comes from the cache dir, with the CA gone.
func TestACMEIssuesWithTLSALPN01(t *testing.T) {
	pb := startPebble(t)
	log, logs := testLogger()
	cacheDir := filepath.Join(t.TempDir(), "acme")
	o := Options{Log: log, ACME: ACMEOptions{Domains: []string{"visage.test"}, CacheDir: cacheDir,
		Email: "ops@visage.test", DirectoryURL: pb.dirURL, HTTPClient: pb.client}}
	certs, err := New(o)
	if err != nil {
		t.Fatal(err)
	}
	addr := fmt.Sprintf("127.0.0.1:%d", pb.tlsPort) // where the CA connects to validate
	cfg := certs.Config()
	var validations atomic.Int32
	get := cfg.GetCertificate
	cfg.GetCertificate = func(hello *tls.ClientHelloInfo) (*tls.Certificate, error) {
		if len(hello.SupportedProtos) == 1 && hello.SupportedProtos[0] == acme.ALPNProto {
			validations.Add(1)
		}
		return get(hello)
	}
	serveConfig(t, cfg, addr)
	roots := pb.roots(t)
	c := dialTo(roots, addr)

	start := time.Now()
	res, err := c.Get("https://visage.test/")
	if err != nil {
		t.Fatalf("first request (issuance): %v\nlogs: %s", err, logs)
	}
	res.Body.Close()
	leaf := res.TLS.PeerCertificates[0]
	if len(leaf.DNSNames) != 1 || leaf.DNSNames[0] != "visage.test" || res.StatusCode != 200 {
		t.Fatalf("served %v for %v (%d)", leaf.Subject, leaf.DNSNames, res.StatusCode)
	}
	t.Logf("issued by %s in %v", leaf.Issuer.CommonName, time.Since(start).Round(time.Millisecond))
	if _, err := os.Stat(filepath.Join(cacheDir, "visage.test")); err != nil {
		t.Errorf("certificate not cached: %v", err)
	}
	if validations.Load() == 0 {
		t.Errorf("the CA made no TLS-ALPN-01 handshake")
	}

	// A name that is not configured is refused at the handshake, no order.
	if res, err := c.Get("https://other.test/"); err == nil {
		res.Body.Close()
		t.Fatal("a certificate was served for a name not configured")
	}

	// Restarted with the CA gone: served from the cache dir.
	pb.stop()
	again, err := New(o)
	if err != nil {
		t.Fatal(err)
	}
	addr2 := fmt.Sprintf("127.0.0.1:%d", testenv.FreePort(t))
	acmeServer(t, again, addr2)
	res, err = dialTo(roots, addr2).Get("https://visage.test/")
	if err != nil {
		t.Fatalf("after restart: %v", err)
	}
	res.Body.Close()
	if got := res.TLS.PeerCertificates[0].SerialNumber; got.Cmp(leaf.SerialNumber) != 0 {
		t.Errorf("after restart served serial %v, cached %v", got, leaf.SerialNumber)
	}
}

// TestACMEIssuesWithHTTP01: with the TLS listener out of the CA's reach
// (another port, as behind a firewall allowing only 80 to the challenge
// listener), TLS-ALPN-01 fails and the HTTP-01 handler gets the
// certificate; the handler sends everything else to https.
func TestACMEIssuesWithHTTP01(t *testing.T) {
	pb := startPebble(t)
	log, logs := testLogger()
	certs, err := New(Options{Log: log, ACME: ACMEOptions{Domains: []string{"visage.test"}, CacheDir: filepath.Join(t.TempDir(), "acme"),
		DirectoryURL: pb.dirURL, HTTPClient: pb.client}})
	if err != nil {
		t.Fatal(err)
	}
	httpLn, err := net.Listen("tcp", fmt.Sprintf("127.0.0.1:%d", pb.httpPort))
	if err != nil {
		t.Fatal(err)
	}
	challenge := &http.Server{Handler: certs.ChallengeHandler(), ReadHeaderTimeout: 5 * time.Second, ErrorLog: discardLog}
	go func() { _ = challenge.Serve(httpLn) }()
	t.Cleanup(func() { challenge.Close() })

	addr := fmt.Sprintf("127.0.0.1:%d", testenv.FreePort(t))
	acmeServer(t, certs, addr)
	res, err := dialTo(pb.roots(t), addr).Get("https://visage.test/")
	if err != nil {
		t.Fatalf("first request (issuance): %v\nlogs: %s", err, logs)
	}
	res.Body.Close()
	if leaf := res.TLS.PeerCertificates[0]; len(leaf.DNSNames) != 1 || leaf.DNSNames[0] != "visage.test" {
		t.Fatalf("served a certificate for %v", leaf.DNSNames)
	}
	if !strings.Contains(pb.out.String(), "Attempting to validate w/ HTTP") {
		t.Errorf("pebble did not validate with http-01:\n%s", pb.out)
	}

	plain := &http.Client{Timeout: 5 * time.Second, CheckRedirect: func(*http.Request, []*http.Request) error { return http.ErrUseLastResponse }}
	req, _ := http.NewRequest("GET", "http://"+httpLn.Addr().String()+"/capture/cap_1?x=1", nil)
	req.Host = "visage.test"
	res, err = plain.Do(req)
	if err != nil {
		t.Fatal(err)
	}
	res.Body.Close()
	if loc := res.Header.Get("Location"); res.StatusCode/100 != 3 || loc != "https://visage.test/capture/cap_1?x=1" {
		t.Errorf("plain request: %d to %q", res.StatusCode, loc)
	}
}
