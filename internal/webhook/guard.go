package webhook

import (
	"errors"
	"fmt"
	"net"
	"net/netip"
	"net/url"
	"strconv"
	"strings"
	"syscall"
)

// ErrBlocked: the destination resolves to an address webhooks may not
// reach (loopback, private, link-local, ...). It is permanent: retrying
// the same address cannot succeed, so such a delivery fails at once.
var ErrBlocked = errors.New("webhook destination refused by the SSRF guard")

// ErrInvalid: a webhook URL or event name is malformed.
var ErrInvalid = errors.New("invalid webhook configuration")

// Guard decides which addresses webhooks may connect to. Integrations
// choose their URLs, so without it any tenant could make the server POST
// to its own admin ports, the cloud metadata service (169.254.169.254) or
// the private network behind it. The zero value (and nil) refuses every
// non-public address.
type Guard struct {
	allowPrivate bool
	allow        []netip.Prefix
}

// NewGuard builds a guard. allowPrivate lifts every restriction (a
// development or fully internal deployment); allowCIDRs lists prefixes
// (comma or space separated, e.g. "10.1.0.0/16, fd00::/8") that are
// reachable even though they are not public.
func NewGuard(allowPrivate bool, allowCIDRs string) (*Guard, error) {
	g := &Guard{allowPrivate: allowPrivate}
	for f := range strings.FieldsFuncSeq(allowCIDRs, func(r rune) bool { return r == ',' || r == ' ' }) {
		p, err := netip.ParsePrefix(f)
		if err != nil {
			// A single address is a natural thing to write too.
			a, aerr := netip.ParseAddr(f)
			if aerr != nil {
				return nil, fmt.Errorf("webhook allow-list: %q is neither a CIDR prefix nor an address", f)
			}
			p = netip.PrefixFrom(a.Unmap(), a.Unmap().BitLen())
		}
		g.allow = append(g.allow, p.Masked())
	}
	return g, nil
}

// CheckAddr reports whether the guard lets webhooks connect to ip.
func (g *Guard) CheckAddr(ip netip.Addr) error {
	ip = ip.Unmap()
	reason := blockedReason(ip)
	if reason == "" {
		return nil
	}
	if g != nil {
		if g.allowPrivate {
			return nil
		}
		for _, p := range g.allow {
			if p.Contains(ip) {
				return nil
			}
		}
	}
	return fmt.Errorf("%w: %s is %s (allow it with VISAGE_WEBHOOK_ALLOW_CIDRS or VISAGE_WEBHOOK_ALLOW_PRIVATE=true)",
		ErrBlocked, ip, reason)
}

// control is the dialer's Control hook. It runs after name resolution and
// before connect(2), on the very address about to be dialled, so a
// hostname that resolves to a public address at validation time and to a
// private one at send time (DNS rebinding) is still refused, and no packet
// reaches a refused address.
func (g *Guard) control(network, address string, _ syscall.RawConn) error {
	if network != "tcp4" && network != "tcp6" {
		return fmt.Errorf("%w: network %s", ErrBlocked, network)
	}
	ap, err := netip.ParseAddrPort(address)
	if err != nil {
		return fmt.Errorf("%w: unparseable address %q", ErrBlocked, address)
	}
	return g.CheckAddr(ap.Addr())
}

// Dialer returns a dialer that refuses the addresses the guard blocks.
func (g *Guard) Dialer() *net.Dialer {
	return &net.Dialer{Timeout: dialTimeout, KeepAlive: keepAlive, Control: g.control}
}

// ValidateURL checks a destination when it is configured: an absolute
// http(s) URL without credentials, whose host, if an IP literal or a
// localhost name, the guard allows. Hostnames are not resolved here (DNS
// may change before any send); the dialer checks every resolved address.
func (g *Guard) ValidateURL(raw string) error {
	_, err := g.parse(raw)
	return err
}

// maxURLLen bounds a stored URL; real webhook endpoints are far shorter.
const maxURLLen = 2048

func (g *Guard) parse(raw string) (*url.URL, error) {
	if len(raw) > maxURLLen {
		return nil, fmt.Errorf("%w: URL longer than %d bytes", ErrInvalid, maxURLLen)
	}
	u, err := url.Parse(raw)
	if err != nil {
		return nil, fmt.Errorf("%w: %q is not a URL: %v", ErrInvalid, raw, err)
	}
	switch {
	case u.Scheme != "http" && u.Scheme != "https":
		return nil, fmt.Errorf("%w: %q: only http and https URLs are allowed", ErrInvalid, raw)
	case u.Opaque != "" || u.Host == "":
		return nil, fmt.Errorf("%w: %q has no host", ErrInvalid, raw)
	case u.User != nil:
		// Credentials in the URL would be stored, listed and logged in
		// clear; the signature is how receivers authenticate us.
		return nil, fmt.Errorf("%w: %q contains credentials; verify the X-Visage-Signature header instead", ErrInvalid, redact(u))
	case u.Fragment != "":
		return nil, fmt.Errorf("%w: %q has a fragment, which is never sent", ErrInvalid, raw)
	}
	if p := u.Port(); p != "" {
		if n, err := strconv.Atoi(p); err != nil || n < 1 || n > 65535 {
			return nil, fmt.Errorf("%w: %q: bad port %q", ErrInvalid, raw, p)
		}
	}
	host := strings.TrimSuffix(strings.ToLower(u.Hostname()), ".")
	if ip, err := netip.ParseAddr(host); err == nil {
		if ip.Zone() != "" {
			return nil, fmt.Errorf("%w: %q: zoned IPv6 addresses are link-local", ErrBlocked, raw)
		}
		if err := g.CheckAddr(ip); err != nil {
			return nil, err
		}
	} else if host == "localhost" || strings.HasSuffix(host, ".localhost") {
		// RFC 6761: always loopback, whatever DNS says. Allowed when either
		// loopback address is; the dialer then refuses the other.
		if g.CheckAddr(netip.AddrFrom4([4]byte{127, 0, 0, 1})) != nil && g.CheckAddr(netip.IPv6Loopback()) != nil {
			return nil, fmt.Errorf("%w: %s is loopback", ErrBlocked, host)
		}
	}
	return u, nil
}

// redact drops credentials and the query (tokens often live there) from a
// URL for messages and logs.
func redact(u *url.URL) string {
	c := *u
	c.User = nil
	c.RawQuery = ""
	c.Fragment = ""
	return c.String()
}

// Address ranges refused beyond what netip's predicates cover.
var blockedPrefixes = []struct {
	p      netip.Prefix
	reason string
}{
	{netip.MustParsePrefix("0.0.0.0/8"), "in \"this network\" (0/8)"},
	{netip.MustParsePrefix("100.64.0.0/10"), "carrier-grade NAT (RFC 6598)"},
	{netip.MustParsePrefix("192.0.0.0/24"), "reserved for IETF protocols"},
	{netip.MustParsePrefix("198.18.0.0/15"), "reserved for benchmarking"},
	{netip.MustParsePrefix("240.0.0.0/4"), "reserved (incl. broadcast)"},
	{netip.MustParsePrefix("::/96"), "IPv4-compatible IPv6 (deprecated)"},
	{netip.MustParsePrefix("fec0::/10"), "site-local IPv6 (deprecated)"},
	{netip.MustParsePrefix("64:ff9b:1::/48"), "local-use NAT64"},
	{netip.MustParsePrefix("100::/64"), "discard-only IPv6"},
}

// Prefixes whose addresses embed an IPv4 address a gateway will reach: the
// embedded address is checked too, or 64:ff9b::10.0.0.1 would be a way
// into the private network.
var (
	nat64     = netip.MustParsePrefix("64:ff9b::/96")
	sixToFour = netip.MustParsePrefix("2002::/16")
)

// blockedReason says why ip is not a public destination, or "" if it is.
func blockedReason(ip netip.Addr) string {
	switch {
	case !ip.IsValid():
		return "invalid"
	case ip.IsUnspecified():
		return "unspecified"
	case ip.IsLoopback():
		return "loopback"
	case ip.IsPrivate():
		return "private (RFC 1918 / fc00::/7)"
	case ip.IsLinkLocalUnicast():
		return "link-local"
	case ip.IsMulticast(), ip.IsLinkLocalMulticast(), ip.IsInterfaceLocalMulticast():
		return "multicast"
	}
	for _, b := range blockedPrefixes {
		if b.p.Contains(ip) {
			return b.reason
		}
	}
	if ip.Is6() {
		b := ip.As16()
		var v4 [4]byte
		switch {
		case nat64.Contains(ip):
			copy(v4[:], b[12:16])
		case sixToFour.Contains(ip):
			copy(v4[:], b[2:6])
		default:
			return ""
		}
		if r := blockedReason(netip.AddrFrom4(v4)); r != "" {
			return "an IPv6 translation of an address that is " + r
		}
	}
	return ""
}
