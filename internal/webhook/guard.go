package webhook

import (
	"errors"
	"fmt"
	"net"
	"net/netip"
	"net/url"
	"slices"
	"strconv"
	"strings"
	"syscall"
)

// ErrBlocked: the destination is, or resolves to, an address webhooks may
// not reach (loopback, private, link-local, ...). It is permanent: retrying
// the same address cannot succeed, so such a delivery fails at once. The
// guard returns it as a *BlockedError.
var ErrBlocked = errors.New("webhook destination refused by the SSRF guard")

// ErrInvalid: a webhook URL or event name is malformed.
var ErrInvalid = errors.New("invalid webhook configuration")

// ErrGrantOutsideCeiling: a prefix an operator tried to grant an
// integration lies outside what the server's settings let webhooks reach
// at all (VISAGE_WEBHOOK_ALLOW_CIDRS, VISAGE_WEBHOOK_ALLOW_PRIVATE).
var ErrGrantOutsideCeiling = errors.New("webhook grant outside the server's allowed ranges")

// The messages a tenant sees for a refused destination. They name no
// address on purpose: what a host name resolves to inside the server's
// network, or why a range is closed, is not the tenant's to learn (the
// detail goes to the server log).
const (
	msgBlockedSave = "webhook URL is not allowed: it points to a private or reserved address"
	msgBlockedSend = "webhook destination refused by the SSRF guard: it points to a private or reserved address"
)

// BlockedError is a refusal by the guard. Error is the generic, tenant-safe
// message; Detail says which address was refused and why, for the server
// log only.
type BlockedError struct {
	Detail string
	// atSend: refused when sending (by the dialer), not when configured.
	atSend bool
}

func (e *BlockedError) Error() string {
	if e.atSend {
		return msgBlockedSend
	}
	return msgBlockedSave
}

// Unwrap makes errors.Is(err, ErrBlocked) hold.
func (e *BlockedError) Unwrap() error { return ErrBlocked }

// BlockedDetail returns the log-only detail of a guard refusal in err's
// chain, "" when there is none.
func BlockedDetail(err error) string {
	if be, ok := errors.AsType[*BlockedError](err); ok {
		return be.Detail
	}
	return ""
}

// Guard decides which addresses webhooks may connect to. Integrations
// choose their URLs, so without it any tenant could make the server POST
// to its own admin ports, the cloud metadata service (169.254.169.254) or
// the private network behind it. The zero value (and nil) refuses every
// non-public address.
//
// The guard is the operator's ceiling: a non-public address is reachable
// by an integration only when the operator granted that integration a
// prefix containing it (see For) and the ceiling allows it too. The one
// exception is allowPrivate, the development switch that lifts the rules
// for everyone; even then an integration's non-public targets are not
// "allowed for it", so their response bodies are never recorded.
type Guard struct {
	allowPrivate bool
	allow        []netip.Prefix
}

// NewGuard builds a guard. allowPrivate lifts every restriction (a
// development or fully internal deployment); allowCIDRs lists prefixes
// (comma or space separated, e.g. "10.1.0.0/16, fd00::/8") the operator
// may grant integrations although they are not public.
func NewGuard(allowPrivate bool, allowCIDRs string) (*Guard, error) {
	g := &Guard{allowPrivate: allowPrivate}
	for f := range strings.FieldsFuncSeq(allowCIDRs, func(r rune) bool { return r == ',' || r == ' ' }) {
		p, err := ParsePrefix(f)
		if err != nil {
			return nil, fmt.Errorf("webhook allow-list: %w", err)
		}
		g.allow = append(g.allow, p)
	}
	return g, nil
}

// ParsePrefix reads a CIDR prefix or a single address (a natural thing to
// write too) in canonical form: masked, IPv4-mapped IPv6 as IPv4.
func ParsePrefix(s string) (netip.Prefix, error) {
	s = strings.TrimSpace(s)
	p, err := netip.ParsePrefix(s)
	if err != nil {
		a, aerr := netip.ParseAddr(s)
		if aerr != nil || a.Zone() != "" {
			return netip.Prefix{}, fmt.Errorf("%w: %q is neither a CIDR prefix nor an address", ErrInvalid, s)
		}
		p = netip.PrefixFrom(a, a.BitLen())
	}
	if a := p.Addr(); a.Is4In6() {
		// ::ffff:10.0.0.0/104 is 10.0.0.0/8: addresses are judged unmapped.
		if p.Bits() < 96 {
			return netip.Prefix{}, fmt.Errorf("%w: %q spans more than the IPv4-mapped range", ErrInvalid, s)
		}
		p = netip.PrefixFrom(a.Unmap(), p.Bits()-96)
	}
	return p.Masked(), nil
}

// inCeiling reports whether the operator's settings let webhooks reach the
// non-public address ip at all.
func (g *Guard) inCeiling(ip netip.Addr) bool {
	return g != nil && (g.allowPrivate || slices.ContainsFunc(g.allow, func(p netip.Prefix) bool { return p.Contains(ip) }))
}

// CheckGrant reports whether an operator may grant an integration prefix p:
// it must lie inside the ceiling (one of the allowed prefixes, or anything
// when private addresses are allowed), so that a grant never reaches
// further than the server's own settings.
func (g *Guard) CheckGrant(p netip.Prefix) error {
	if g != nil && g.allowPrivate {
		return nil
	}
	if g != nil {
		for _, c := range g.allow {
			if c.Bits() <= p.Bits() && c.Contains(p.Addr()) {
				return nil
			}
		}
	}
	return fmt.Errorf("%w: %s is not inside VISAGE_WEBHOOK_ALLOW_CIDRS (%s)", ErrGrantOutsideCeiling, p, g.ceilingString())
}

func (g *Guard) ceilingString() string {
	if g == nil || len(g.allow) == 0 {
		return "empty"
	}
	s := make([]string, len(g.allow))
	for i, p := range g.allow {
		s[i] = p.String()
	}
	return strings.Join(s, ", ")
}

// Access is the guard as it applies to one integration: the ceiling
// narrowed to the prefixes the operator granted it.
type Access struct {
	g      *Guard
	grants []netip.Prefix
}

// For returns the guard for an integration with the given grants.
func (g *Guard) For(grants []netip.Prefix) Access { return Access{g: g, grants: grants} }

// verdict is what the guard says of one address for one integration.
type verdict uint8

const (
	refused verdict = iota
	// public: reachable by anyone, its answers are recorded.
	public
	// granted: not public, but inside a grant of this integration and the
	// ceiling: reachable, its answers are recorded.
	granted
	// opened: not public and not granted, reachable only because
	// VISAGE_WEBHOOK_ALLOW_PRIVATE lifts the guard: answers are not
	// recorded, so the delivery log cannot be used to read a service
	// nobody allowed this integration to reach.
	opened
)

// shown: may the response to a request to this address be recorded?
func (v verdict) shown() bool { return v == public || v == granted }

// judge classifies ip for this integration, with the reason when it is not
// public.
func (a Access) judge(ip netip.Addr) (verdict, string) {
	ip = ip.Unmap()
	reason := blockedReason(ip)
	switch {
	case reason == "":
		return public, ""
	case a.g.inCeiling(ip) && slices.ContainsFunc(a.grants, func(p netip.Prefix) bool { return p.Contains(ip) }):
		return granted, reason
	case a.g != nil && a.g.allowPrivate:
		return opened, reason
	}
	return refused, reason
}

// checkAddr is CheckAddr with the phase named in the error.
func (a Access) checkAddr(ip netip.Addr, atSend bool) error {
	if v, reason := a.judge(ip); v == refused {
		return &BlockedError{Detail: fmt.Sprintf("%s is %s and not granted to this integration", ip.Unmap(), reason), atSend: atSend}
	}
	return nil
}

// CheckAddr reports whether this integration's webhooks may connect to ip.
func (a Access) CheckAddr(ip netip.Addr) error { return a.checkAddr(ip, true) }

// CheckAddr reports whether the guard lets webhooks of an integration
// without grants connect to ip.
func (g *Guard) CheckAddr(ip netip.Addr) error { return g.For(nil).CheckAddr(ip) }

// control is the dialer's Control hook. It runs after name resolution and
// before connect(2), on the very address about to be dialled, so a
// hostname that resolves to a public address at validation time and to a
// private one at send time (DNS rebinding) is still refused, and no packet
// reaches a refused address.
func (a Access) control(network, address string, _ syscall.RawConn) error {
	if network != "tcp4" && network != "tcp6" {
		return &BlockedError{Detail: "network " + network, atSend: true}
	}
	ap, err := netip.ParseAddrPort(address)
	if err != nil {
		return &BlockedError{Detail: fmt.Sprintf("unparseable address %q", address), atSend: true}
	}
	return a.checkAddr(ap.Addr(), true)
}

// Dialer returns a dialer that refuses the addresses this integration may
// not reach.
func (a Access) Dialer() *net.Dialer {
	return &net.Dialer{Timeout: dialTimeout, KeepAlive: keepAlive, Control: a.control}
}

// Dialer returns a dialer for integrations without grants.
func (g *Guard) Dialer() *net.Dialer { return g.For(nil).Dialer() }

// ValidateURL checks a destination when it is configured: an absolute
// http(s) URL without credentials, whose host, if an IP literal (in any of
// the numeric forms resolvers accept) or a localhost name, this
// integration may reach. Hostnames are not resolved here (DNS may change
// before any send); the dialer checks every resolved address.
func (a Access) ValidateURL(raw string) error {
	_, err := a.parse(raw, false)
	return err
}

// ValidateURL is Access.ValidateURL for an integration without grants.
func (g *Guard) ValidateURL(raw string) error { return g.For(nil).ValidateURL(raw) }

// maxURLLen bounds a stored URL; real webhook endpoints are far shorter.
const maxURLLen = 2048

func (a Access) parse(raw string, atSend bool) (*url.URL, error) {
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
			return nil, &BlockedError{Detail: fmt.Sprintf("%q: zoned IPv6 addresses are link-local", host), atSend: atSend}
		}
		return u, a.checkAddr(ip, atSend)
	}
	if host == "" || strings.HasPrefix(host, ".") || strings.Contains(host, "..") {
		return nil, fmt.Errorf("%w: %q: the host has an empty label", ErrInvalid, raw)
	}
	if numericHost(host) {
		// A resolver (inet_aton, getaddrinfo, browsers' URL parsers) reads
		// "127.1", "2130706433" or "0x7f.0.0.1" as an address, never as a
		// name: judge it as the address it is, now rather than at send.
		ip, err := parseIPv4Loose(host)
		if err != nil {
			return nil, fmt.Errorf("%w: %q: the host looks like an IPv4 address but is not a valid one", ErrInvalid, raw)
		}
		if err := a.checkAddr(ip, atSend); err != nil {
			return nil, err
		}
		// Public, but resolvers disagree on such forms; the dotted one is
		// unambiguous.
		return nil, fmt.Errorf("%w: %q: write the IPv4 address as %s", ErrInvalid, raw, ip)
	}
	if host == "localhost" || strings.HasSuffix(host, ".localhost") {
		// RFC 6761: always loopback, whatever DNS says. Allowed when either
		// loopback address is; the dialer then refuses the other.
		if a.checkAddr(netip.AddrFrom4([4]byte{127, 0, 0, 1}), atSend) != nil && a.checkAddr(netip.IPv6Loopback(), atSend) != nil {
			return nil, &BlockedError{Detail: host + " is loopback", atSend: atSend}
		}
	}
	return u, nil
}

// numericHost reports whether host is meant as an IPv4 address in one of
// the forms resolvers accept: its last label is a number (decimal, or hex
// after "0x"). That is the WHATWG URL standard's "ends in a number" rule;
// no top-level domain is numeric, so no real name is caught by it.
func numericHost(host string) bool {
	last := host[strings.LastIndexByte(host, '.')+1:]
	if h, ok := strings.CutPrefix(last, "0x"); ok {
		return strings.Trim(h, "0123456789abcdef") == ""
	}
	return last != "" && strings.Trim(last, "0123456789") == ""
}

// parseIPv4Loose reads an IPv4 address the way inet_aton(3) does: one to
// four dot-separated numbers, each decimal, octal (leading 0) or hex
// (leading 0x); the last number fills the remaining bytes, so "127.1" is
// 127.0.0.1 and "2130706433" is 127.0.0.1 too. host is lower case.
func parseIPv4Loose(host string) (netip.Addr, error) {
	parts := strings.Split(host, ".")
	if len(parts) > 4 {
		return netip.Addr{}, errors.New("more than four parts")
	}
	var v uint64
	for i, p := range parts {
		n, err := parseInetNumber(p)
		if err != nil {
			return netip.Addr{}, err
		}
		// Every part but the last is one byte; the last fills the rest.
		limit := uint64(0xff)
		if i == len(parts)-1 {
			limit = 1<<(8*(5-len(parts))) - 1
		}
		if n > limit {
			return netip.Addr{}, fmt.Errorf("part %q out of range", p)
		}
		if i < len(parts)-1 {
			v |= n << (8 * (3 - i))
		} else {
			v |= n
		}
	}
	return netip.AddrFrom4([4]byte{byte(v >> 24), byte(v >> 16), byte(v >> 8), byte(v)}), nil
}

// parseInetNumber reads one part of parseIPv4Loose.
func parseInetNumber(s string) (uint64, error) {
	base := 10
	switch {
	case s == "":
		return 0, errors.New("empty part")
	case strings.HasPrefix(s, "0x"):
		base, s = 16, s[2:]
		if s == "" {
			return 0, nil // "0x" alone is zero, as inet_aton and WHATWG read it
		}
	case len(s) > 1 && s[0] == '0':
		base, s = 8, s[1:]
	}
	// With an explicit base ParseUint takes digits alone: no sign, prefix
	// or "_" separator sneaks through.
	n, err := strconv.ParseUint(s, base, 32)
	if err != nil {
		return 0, fmt.Errorf("part %q: %w", s, err)
	}
	return n, nil
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

// RedactURL is redact for a stored URL string, for logs.
func RedactURL(raw string) string {
	u, err := url.Parse(raw)
	if err != nil {
		return "(unparseable URL)"
	}
	return redact(u)
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
