package webhook

import (
	"errors"
	"net"
	"net/netip"
	"net/url"
	"strings"
	"testing"
)

// FuzzValidateURL: whatever the URL, ValidateURL classifies its refusal
// (ErrInvalid or the generic ErrBlocked message), and a URL it accepts has
// a public address or a name that no resolver would read as an address
// (numeric forms, localhost). The seed corpus is testdata/fuzz/FuzzValidateURL.
func FuzzValidateURL(f *testing.F) {
	for _, s := range []string{"https://hooks.example.com/visage", "http://127.1/", "http://0x7f.0.0.1:8080/x",
		"http://[::ffff:10.0.0.1]/", "http://2130706433/", "http://cafe.babe/"} {
		f.Add(s)
	}
	strict, _ := NewGuard(false, "")
	f.Fuzz(func(t *testing.T, raw string) {
		err := strict.ValidateURL(raw)
		if err != nil {
			switch {
			case errors.Is(err, ErrBlocked):
				if err.Error() != msgBlockedSave {
					t.Fatalf("%q: refusal %q is not the generic message", raw, err)
				}
			case !errors.Is(err, ErrInvalid):
				t.Fatalf("%q: unclassified error %v", raw, err)
			}
			return
		}
		u, perr := url.Parse(raw)
		if perr != nil {
			t.Fatalf("%q accepted but does not parse: %v", raw, perr)
		}
		host := strings.TrimSuffix(strings.ToLower(u.Hostname()), ".")
		if ip, err := netip.ParseAddr(host); err == nil {
			if r := blockedReason(ip.Unmap()); r != "" {
				t.Fatalf("%q accepted with an address that is %s", raw, r)
			}
			return
		}
		if ip, err := parseIPv4Loose(host); err == nil {
			t.Fatalf("%q accepted although its host reads as %s", raw, ip)
		}
		if ip := net.ParseIP(host); ip != nil {
			if a, _ := netip.AddrFromSlice(ip); blockedReason(a.Unmap()) != "" {
				t.Fatalf("%q accepted although net.ParseIP reads its host as %s", raw, ip)
			}
		}
		if host == "localhost" || strings.HasSuffix(host, ".localhost") {
			t.Fatalf("%q accepted with a localhost name", raw)
		}
	})
}

// FuzzParseIPv4Loose: an address the loose parser reads prints as a dotted
// quad that both it and netip read back as the same address, and a dotted
// quad netip reads is read alike by the loose parser.
func FuzzParseIPv4Loose(f *testing.F) {
	for _, s := range []string{"127.1", "2130706433", "0x7f.0.0.1", "017700000001", "1.2.3.4", "0", "0x", "255.255.255.255"} {
		f.Add(s)
	}
	f.Fuzz(func(t *testing.T, s string) {
		a, err := parseIPv4Loose(s)
		if err == nil {
			b, err := parseIPv4Loose(a.String())
			c, cerr := netip.ParseAddr(a.String())
			if err != nil || b != a || cerr != nil || c != a {
				t.Fatalf("%q → %s, which reads back as %v (%v) / %v (%v)", s, a, b, err, c, cerr)
			}
		}
		if n, err := netip.ParseAddr(s); err == nil && n.Is4() {
			if a, err := parseIPv4Loose(s); err != nil || a != n {
				t.Fatalf("%q: netip reads %s, the loose parser %v (%v)", s, n, a, err)
			}
		}
	})
}
