package webhook

import (
	"context"
	"errors"
	"net/netip"
	"testing"
	"time"
)

func TestCheckAddr(t *testing.T) {
	strict, _ := NewGuard(false, "")
	loopback, err := NewGuard(false, "127.0.0.0/8, ::1")
	if err != nil {
		t.Fatal(err)
	}
	open, _ := NewGuard(true, "")
	for _, c := range []struct {
		addr     string
		strict   bool // allowed by the strict guard
		loopback bool // allowed with loopback allowed
	}{
		{"93.184.216.34", true, true},
		{"2606:2800:220:1:248:1893:25c8:1946", true, true},
		{"127.0.0.1", false, true},
		{"127.9.9.9", false, true},
		{"::1", false, true},
		{"::ffff:127.0.0.1", false, true}, // IPv4-mapped: judged as the IPv4 address
		{"10.1.2.3", false, false},
		{"172.16.0.1", false, false},
		{"192.168.1.1", false, false},
		{"169.254.169.254", false, false}, // cloud metadata
		{"fe80::1", false, false},
		{"fc00::1", false, false},
		{"fd12:3456::1", false, false},
		{"0.0.0.0", false, false},
		{"::", false, false},
		{"0.1.2.3", false, false},
		{"100.64.0.1", false, false}, // CGNAT
		{"224.0.0.1", false, false},
		{"ff02::1", false, false},
		{"255.255.255.255", false, false},
		{"64:ff9b::a01:203", false, false},       // NAT64 of 10.1.2.3
		{"64:ff9b::5db8:d822", true, true},       // NAT64 of a public address
		{"2002:a01:203::1", false, false},        // 6to4 of 10.1.2.3
		{"::ffff:169.254.169.254", false, false}, // mapped metadata address
	} {
		ip := netip.MustParseAddr(c.addr)
		if got := strict.CheckAddr(ip) == nil; got != c.strict {
			t.Errorf("strict guard, %s: allowed=%v, want %v", c.addr, got, c.strict)
		}
		if got := loopback.CheckAddr(ip) == nil; got != c.loopback {
			t.Errorf("loopback-allowed guard, %s: allowed=%v, want %v", c.addr, got, c.loopback)
		}
		if err := open.CheckAddr(ip); err != nil {
			t.Errorf("allow-private guard refused %s: %v", c.addr, err)
		}
		var nilGuard *Guard
		if got := nilGuard.CheckAddr(ip) == nil; got != c.strict {
			t.Errorf("nil guard, %s: allowed=%v, want %v", c.addr, got, c.strict)
		}
	}
	if err := strict.CheckAddr(netip.MustParseAddr("10.0.0.1")); !errors.Is(err, ErrBlocked) {
		t.Fatalf("refusal is %v, want ErrBlocked", err)
	}
	if _, err := NewGuard(false, "10.0.0.0/8,nonsense"); err == nil {
		t.Fatal("NewGuard accepted a malformed prefix")
	}
}

func TestValidateURL(t *testing.T) {
	strict, _ := NewGuard(false, "")
	loopback, _ := NewGuard(false, "127.0.0.1/32")
	for _, c := range []struct {
		url    string
		strict error // nil: valid
		lo     error // with 127.0.0.1 allowed
	}{
		{"https://hooks.example.com/visage", nil, nil},
		{"http://hooks.example.com:8080/x?token=abc", nil, nil},
		{"https://[2606:2800:220:1::1]/h", nil, nil},
		{"ftp://hooks.example.com/x", ErrInvalid, ErrInvalid},
		{"file:///etc/passwd", ErrInvalid, ErrInvalid},
		{"gopher://x", ErrInvalid, ErrInvalid},
		{"hooks.example.com/x", ErrInvalid, ErrInvalid},
		{"https://user:pass@hooks.example.com/", ErrInvalid, ErrInvalid},
		{"https://token@hooks.example.com/", ErrInvalid, ErrInvalid},
		{"https:///nohost", ErrInvalid, ErrInvalid},
		{"https://hooks.example.com/#frag", ErrInvalid, ErrInvalid},
		{"https://hooks.example.com:0/", ErrInvalid, ErrInvalid},
		{"https://hooks.example.com:99999/", ErrInvalid, ErrInvalid},
		{"", ErrInvalid, ErrInvalid},
		{"http://127.0.0.1:9000/h", ErrBlocked, nil},
		{"http://localhost:9000/h", ErrBlocked, nil},
		{"http://api.localhost/h", ErrBlocked, nil},
		{"http://10.0.0.5/h", ErrBlocked, ErrBlocked},
		{"http://169.254.169.254/latest/meta-data", ErrBlocked, ErrBlocked},
		{"http://[fe80::1%25eth0]/h", ErrBlocked, ErrBlocked},
		{"http://[::ffff:10.0.0.1]/h", ErrBlocked, ErrBlocked},
		{"http://0.0.0.0:8080/", ErrBlocked, ErrBlocked},
	} {
		if err := strict.ValidateURL(c.url); !errors.Is(err, c.strict) || (c.strict == nil) != (err == nil) {
			t.Errorf("strict %q: %v, want %v", c.url, err, c.strict)
		}
		if err := loopback.ValidateURL(c.url); !errors.Is(err, c.lo) || (c.lo == nil) != (err == nil) {
			t.Errorf("loopback-allowed %q: %v, want %v", c.url, err, c.lo)
		}
	}
}

// TestDialerRefusesBeforeConnecting: with loopback allowed, private and
// link-local addresses are still refused by the dialer itself, at once,
// without a connection attempt (which to these unroutable-here addresses
// would hang until the dial timeout or fail with another error).
func TestDialerRefusesBeforeConnecting(t *testing.T) {
	g, _ := NewGuard(false, "127.0.0.0/8")
	d := g.Dialer()
	for _, addr := range []string{"10.255.255.1:80", "169.254.169.254:80", "192.168.255.254:443", "[fd00::1]:80"} {
		ctx, cancel := context.WithTimeout(context.Background(), 3*time.Second)
		start := time.Now()
		conn, err := d.DialContext(ctx, "tcp", addr)
		cancel()
		if conn != nil {
			conn.Close()
		}
		if !errors.Is(err, ErrBlocked) {
			t.Errorf("dial %s: %v, want ErrBlocked", addr, err)
		}
		if el := time.Since(start); el > 500*time.Millisecond {
			t.Errorf("dial %s took %s: it tried to connect", addr, el)
		}
	}
}
