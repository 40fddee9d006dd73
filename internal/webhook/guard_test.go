package webhook

import (
	"context"
	"errors"
	"io"
	"net"
	"net/netip"
	"net/url"
	"os"
	"strings"
	"syscall"
	"testing"
	"time"
)

// loopbackGrants grants loopback, as an operator would one internal range.
var loopbackGrants = []netip.Prefix{netip.MustParsePrefix("127.0.0.0/8"), netip.MustParsePrefix("::1/128")}

func TestCheckAddr(t *testing.T) {
	strict, _ := NewGuard(false, "")
	ceiling, err := NewGuard(false, "127.0.0.0/8, ::1")
	if err != nil {
		t.Fatal(err)
	}
	// The ceiling alone opens nothing: an integration needs a grant.
	loopback := ceiling.For(loopbackGrants)
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
			t.Errorf("loopback-granted integration, %s: allowed=%v, want %v", c.addr, got, c.loopback)
		}
		if got := ceiling.CheckAddr(ip) == nil; got != c.strict {
			t.Errorf("loopback ceiling without a grant, %s: allowed=%v, want %v", c.addr, got, c.strict)
		}
		// A grant beyond the ceiling opens nothing either.
		if got := strict.For(loopbackGrants).CheckAddr(ip) == nil; got != c.strict {
			t.Errorf("grant outside the ceiling, %s: allowed=%v, want %v", c.addr, got, c.strict)
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
	ceiling, _ := NewGuard(false, "127.0.0.1/32")
	loopback := ceiling.For([]netip.Prefix{netip.MustParsePrefix("127.0.0.1/32")})
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

// TestNumericHosts: every numeric form a resolver reads as an IPv4
// address is judged as that address when the URL is configured, not only
// when it is sent.
func TestNumericHosts(t *testing.T) {
	strict, _ := NewGuard(false, "")
	for _, c := range []struct {
		url  string
		want error
	}{
		{"http://127.1/", ErrBlocked},
		{"http://127.0.1/", ErrBlocked},
		{"http://2130706433/", ErrBlocked},      // 127.0.0.1 as one decimal number
		{"http://0x7f000001/", ErrBlocked},      // ... as one hex number
		{"http://0x7f.0.0.1/", ErrBlocked},      // hex first byte
		{"http://0X7F.1/", ErrBlocked},          // upper case
		{"http://017700000001/", ErrBlocked},    // octal
		{"http://0177.0.0.01/", ErrBlocked},     // octal bytes
		{"http://127.000.000.001/", ErrBlocked}, // leading zeros (octal to inet_aton)
		{"http://0/", ErrBlocked},               // 0.0.0.0
		{"http://0x/", ErrBlocked},              // "0x" alone is 0
		{"http://0.0/", ErrBlocked},
		{"http://10.1/", ErrBlocked},       // 10.0.0.1
		{"http://167772161/", ErrBlocked},  // 10.0.0.1
		{"http://2852039166/", ErrBlocked}, // 169.254.169.254
		{"http://0xa9fea9fe/", ErrBlocked}, // 169.254.169.254
		{"http://0251.0376.0251.0376/", ErrBlocked},
		{"http://4294967295/", ErrBlocked},  // 255.255.255.255
		{"http://127.1.:8080/", ErrBlocked}, // trailing dot
		{"http://[::ffff:127.0.0.1]/", ErrBlocked},
		{"http://[::ffff:7f00:1]/", ErrBlocked},
		{"http://[::127.0.0.1]/", ErrBlocked}, // IPv4-compatible
		{"http://[0:0:0:0:0:ffff:a9fe:a9fe]/", ErrBlocked},
		{"http://%31%32%37.0.0.1/", ErrInvalid}, // percent-encoded host: net/url refuses it
		// Public addresses in a numeric form other than the dotted quad:
		// resolvers disagree on them, so they are refused as malformed.
		{"http://1572395042/", ErrInvalid}, // 93.184.216.34
		{"http://93.0xb8.216.34/", ErrInvalid},
		{"http://093.184.216.34/", ErrInvalid}, // 093: not octal
		// Numeric-looking but not an address at all.
		{"http://4294967296/", ErrInvalid}, // 2^32
		{"http://256.1.1.1/", ErrInvalid},
		{"http://1.2.3.4.5/", ErrInvalid},
		{"http://1.2.3.0x100/", ErrInvalid},
		{"http://1.2.65536/", ErrInvalid},
		{"http://08/", ErrInvalid},
		{"http://0xg/", nil}, // last label not a number: a (bad) name, left to DNS
		{"http://7f.0.0.1/", ErrInvalid},
		{"http://1..1/", ErrInvalid},
		{"http://.1/", ErrInvalid},
		// Names stay names, even hex-looking ones.
		{"http://cafe.babe/", nil},
		{"http://dead.beef.example/", nil},
		{"http://127.0.0.1.example.com/", nil}, // the dialer checks what it resolves to
		{"http://1e100.net/", nil},
		{"http://0x7f.example/", nil},
		{"http://93.184.216.34/", nil},
	} {
		err := strict.ValidateURL(c.url)
		if !errors.Is(err, c.want) || (c.want == nil) != (err == nil) {
			t.Errorf("%q: %v, want %v", c.url, err, c.want)
		}
	}
}

func TestParseIPv4Loose(t *testing.T) {
	for _, c := range []struct{ in, want string }{
		{"127.1", "127.0.0.1"},
		{"127.0.1", "127.0.0.1"},
		{"2130706433", "127.0.0.1"},
		{"0x7f.0.0.1", "127.0.0.1"},
		{"017700000001", "127.0.0.1"},
		{"0", "0.0.0.0"},
		{"0x", "0.0.0.0"},
		{"1.2.3.4", "1.2.3.4"},
		{"1.0x10203", "1.1.2.3"},
		{"1.2.0x0303", "1.2.3.3"},
		{"255.255.255.255", "255.255.255.255"},
		{"0xffffffff", "255.255.255.255"},
		{"037777777777", "255.255.255.255"},
		{"1.16777215", "1.255.255.255"},
		{"00", "0.0.0.0"},
		{"0x00000000000000000000ff", "0.0.0.255"}, // leading zeros do not overflow
	} {
		got, err := parseIPv4Loose(c.in)
		if err != nil || got.String() != c.want {
			t.Errorf("parseIPv4Loose(%q) = %v, %v; want %s", c.in, got, err, c.want)
		}
	}
	for _, bad := range []string{"", ".", "1.", ".1", "1..2", "1.2.3.4.5", "256.0.0.1", "1.256.0.1", "1.2.65536",
		"1.16777216", "4294967296", "0x100000000", "08", "09.1", "0xg", "1.2.3.-4", "+1", "1_000", "0b1", " 1", "1.2.3.4 "} {
		if got, err := parseIPv4Loose(bad); err == nil {
			t.Errorf("parseIPv4Loose(%q) = %v, want an error", bad, got)
		}
	}
}

// TestRefusalMessagesGeneric: what a tenant is told about a refused URL
// names no address; the detail (for the server log) does.
func TestRefusalMessagesGeneric(t *testing.T) {
	strict, _ := NewGuard(false, "")
	for _, u := range []string{"http://127.0.0.1/", "http://localhost:8080/", "http://api.localhost/", "http://10.0.0.5/",
		"http://2130706433/", "http://[::ffff:169.254.169.254]/", "http://[fe80::1%25eth0]/"} {
		err := strict.ValidateURL(u)
		if !errors.Is(err, ErrBlocked) || err.Error() != msgBlockedSave {
			t.Errorf("%s: %q, want the generic %q", u, err, msgBlockedSave)
		}
		if BlockedDetail(err) == "" {
			t.Errorf("%s: no detail for the log", u)
		}
	}
	// At send time, through the dialer: a name resolving to loopback (here
	// "localhost", from /etc/hosts) is refused without its address in the
	// message.
	ctx, cancel := context.WithTimeout(context.Background(), 3*time.Second)
	defer cancel()
	conn, err := strict.Dialer().DialContext(ctx, "tcp", "localhost:9")
	if conn != nil {
		conn.Close()
	}
	if !errors.Is(err, ErrBlocked) {
		t.Fatalf("dial localhost: %v, want ErrBlocked", err)
	}
	msg := publicError(err, time.Second)
	if msg != msgBlockedSend || strings.Contains(msg, "127.0.0.1") || strings.Contains(msg, "::1") {
		t.Fatalf("tenant message %q, want the generic %q", msg, msgBlockedSend)
	}
	if d := BlockedDetail(err); !strings.Contains(d, "127.0.0.1") && !strings.Contains(d, "::1") {
		t.Fatalf("log detail %q does not name the address", d)
	}
}

// TestPublicError: network failures are described without the addresses
// they involve.
func TestPublicError(t *testing.T) {
	for _, c := range []struct {
		err  error
		want string
	}{
		{&url.Error{Op: "Post", URL: "http://hooks.internal/", Err: &net.DNSError{Err: "no such host", Name: "hooks.internal",
			Server: "10.0.0.2:53", IsNotFound: true}}, "DNS lookup of hooks.internal failed: no such host"},
		{&url.Error{Op: "Post", URL: "http://x/", Err: &net.DNSError{Err: "server misbehaving", Name: "x", Server: "10.0.0.2:53"}},
			"DNS lookup of x failed"},
		{&url.Error{Op: "Post", URL: "http://x/", Err: &net.OpError{Op: "dial", Net: "tcp",
			Addr: &net.TCPAddr{IP: net.IPv4(10, 0, 0, 5), Port: 80}, Err: os.NewSyscallError("connect", syscall.ECONNREFUSED)}},
			"dial: connection refused"},
		{&url.Error{Op: "Post", URL: "http://x/", Err: &net.OpError{Op: "read", Net: "tcp",
			Source: &net.TCPAddr{IP: net.IPv4(10, 9, 9, 9), Port: 5555}, Addr: &net.TCPAddr{IP: net.IPv4(10, 0, 0, 5), Port: 80},
			Err: os.NewSyscallError("read", syscall.ECONNRESET)}}, "read: connection reset by peer"},
		{&url.Error{Op: "Post", URL: "http://x/", Err: io.EOF}, "EOF"},
	} {
		if got := publicError(c.err, time.Second); got != c.want {
			t.Errorf("publicError(%v) = %q, want %q", c.err, got, c.want)
		}
		if got := publicError(c.err, time.Second); strings.Contains(got, "10.") {
			t.Errorf("publicError(%v) = %q names an address", c.err, got)
		}
	}
}

func TestGrants(t *testing.T) {
	ceiling, _ := NewGuard(false, "10.20.0.0/16, fd00:1::/64")
	for _, c := range []struct {
		prefix string
		ok     bool
	}{
		{"10.20.0.0/16", true},
		{"10.20.5.0/24", true},
		{"10.20.5.7", true},
		{"::ffff:10.20.5.0/120", true}, // mapped: the same as 10.20.5.0/24
		{"fd00:1::/80", true},
		{"10.0.0.0/8", false}, // wider than the ceiling
		{"10.21.0.0/16", false},
		{"127.0.0.0/8", false},
		{"0.0.0.0/0", false},
		{"fd00::/16", false},
	} {
		p, err := ParsePrefix(c.prefix)
		if err != nil {
			t.Fatalf("ParsePrefix(%q): %v", c.prefix, err)
		}
		if err := ceiling.CheckGrant(p); (err == nil) != c.ok || (err != nil && !errors.Is(err, ErrGrantOutsideCeiling)) {
			t.Errorf("grant %s: %v, want ok=%v", c.prefix, err, c.ok)
		}
	}
	if p, _ := ParsePrefix("::ffff:10.20.5.9/120"); p.String() != "10.20.5.0/24" {
		t.Errorf("mapped prefix parsed as %s", p)
	}
	for _, bad := range []string{"", "10.0.0.0/33", "nonsense", "fe80::1%eth0", "::ffff:0:0/90"} {
		if _, err := ParsePrefix(bad); !errors.Is(err, ErrInvalid) {
			t.Errorf("ParsePrefix(%q): %v, want ErrInvalid", bad, err)
		}
	}
	open, _ := NewGuard(true, "")
	if err := open.CheckGrant(netip.MustParsePrefix("0.0.0.0/0")); err != nil {
		t.Errorf("with private addresses allowed every grant fits: %v", err)
	}

	// What each integration may reach, and whose answers are recorded.
	a := ceiling.For([]netip.Prefix{netip.MustParsePrefix("10.20.5.0/24"), netip.MustParsePrefix("10.99.0.0/16")})
	for _, c := range []struct {
		addr string
		want verdict
	}{
		{"93.184.216.34", public},
		{"10.20.5.7", granted},
		{"::ffff:10.20.5.7", granted},
		{"10.20.6.1", refused}, // in the ceiling, not granted
		{"10.99.0.1", refused}, // granted, but outside the ceiling
		{"127.0.0.1", refused},
	} {
		if v, _ := a.judge(netip.MustParseAddr(c.addr)); v != c.want {
			t.Errorf("judge %s = %d, want %d", c.addr, v, c.want)
		}
	}
	if v, _ := open.For(nil).judge(netip.MustParseAddr("10.1.1.1")); v != opened || v.shown() {
		t.Errorf("allow-private without a grant: verdict %d; want reachable, answers not shown", v)
	}
	if v, _ := open.For([]netip.Prefix{netip.MustParsePrefix("10.1.0.0/16")}).judge(netip.MustParseAddr("10.1.1.1")); v != granted {
		t.Errorf("allow-private with a grant: verdict %d, want granted", v)
	}
}
