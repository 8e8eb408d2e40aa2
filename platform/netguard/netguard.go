// Package netguard is the outbound policy of checks: with it on, upmon
// refuses to connect to loopback, private, link-local (cloud metadata at
// 169.254.169.254), multicast and unspecified addresses. The check is
// made in the dialer on the address actually connected to, so it holds
// after redirects and against DNS rebinding.
package netguard

import (
	"context"
	"errors"
	"net"
	"net/netip"
	"strings"
	"syscall"
	"time"
)

// Classify returns why ip is refused ("loopback", "private", …), or ""
// when it may be contacted. IPv6 addresses that carry an IPv4 address
// (NAT64, 6to4) are refused when the IPv4 address is.
func Classify(ip netip.Addr) string {
	ip = ip.Unmap()
	switch {
	case !ip.IsValid():
		return "invalid"
	case ip.IsLoopback():
		return "loopback"
	case ip.IsPrivate():
		return "private"
	case ip.IsMulticast():
		return "multicast"
	case ip.IsLinkLocalUnicast():
		return "link-local"
	case ip.IsUnspecified():
		return "unspecified"
	}
	if ip.Is4() {
		return classify4(ip.As4())
	}
	return classify6(ip.As16())
}

// classify4 refuses the IPv4 blocks the standard library does not name.
func classify4(b [4]byte) string {
	switch {
	case b == [4]byte{255, 255, 255, 255}:
		return "broadcast"
	case b[0] == 100 && b[1]&0xc0 == 64, b[0] == 0:
		// Carrier-grade NAT (100.64.0.0/10) and "this network" (0.0.0.0/8).
		return "private"
	case b[0] == 198 && b[1]&0xfe == 18:
		return "benchmarking" // 198.18.0.0/15
	case b[0]&0xf0 == 240:
		return "reserved" // 240.0.0.0/4
	}
	return ""
}

// The IPv6 prefixes that embed an IPv4 address.
var (
	nat64      = netip.MustParsePrefix("64:ff9b::/96")   // RFC 6052 well-known prefix
	nat64Local = netip.MustParsePrefix("64:ff9b:1::/48") // RFC 8215 local use
	sixToFour  = netip.MustParsePrefix("2002::/16")      // RFC 3056
	v4Compat   = netip.MustParsePrefix("::/96")          // deprecated IPv4-compatible
)

// classify6 refuses IPv6 addresses that reach a refused IPv4 address
// through a translator or a tunnel, and the deprecated IPv4-compatible
// form (::a.b.c.d) outright.
func classify6(b [16]byte) string {
	ip := netip.AddrFrom16(b)
	var v4 [4]byte
	switch {
	case v4Compat.Contains(ip):
		return "IPv4-compatible"
	case nat64.Contains(ip), nat64Local.Contains(ip):
		// A local-use NAT64 prefix is a /96 inside the /48 in practice:
		// the IPv4 address is the last 32 bits either way.
		copy(v4[:], b[12:])
	case sixToFour.Contains(ip):
		copy(v4[:], b[2:6])
	default:
		return ""
	}
	if r := Classify(netip.AddrFrom4(v4)); r != "" {
		return r + " (embedded " + netip.AddrFrom4(v4).String() + ")"
	}
	return ""
}

// Error is returned when the policy refuses an address.
type Error struct {
	// Addr is the refused address.
	Addr string
	// Reason names its class.
	Reason string
}

// Error implements error.
func (e *Error) Error() string {
	article := "a "
	if strings.ContainsRune("aeiouAEIOU", rune(e.Reason[0])) {
		article = "an "
	}
	return "refused: " + e.Addr + " is " + article + e.Reason + " address (--deny-private-targets)"
}

// CheckHost returns an *Error when host is an IP literal the policy
// refuses (names are checked when they are resolved and dialed).
func CheckHost(host string) error {
	ip, err := netip.ParseAddr(host)
	if err != nil {
		return nil
	}
	if r := Classify(ip); r != "" {
		return &Error{Addr: ip.String(), Reason: r}
	}
	return nil
}

// Dialer returns a DialContext that refuses denied addresses at connect
// time (after DNS resolution).
func Dialer(timeout time.Duration) func(ctx context.Context, network, addr string) (net.Conn, error) {
	return DialerFrom(timeout, nil)
}

// DialerFrom is Dialer whose connections leave from the local address
// source (nil: the system's choice).
func DialerFrom(timeout time.Duration, source net.IP) func(ctx context.Context, network, addr string) (net.Conn, error) {
	d := &net.Dialer{
		Timeout:   timeout,
		KeepAlive: 30 * time.Second,
		Control: func(network, address string, _ syscall.RawConn) error {
			ap, err := netip.ParseAddrPort(address)
			if err != nil {
				return &Error{Addr: address, Reason: "unparsable"}
			}
			if r := Classify(ap.Addr()); r != "" {
				return &Error{Addr: ap.Addr().String(), Reason: r}
			}
			return nil
		},
	}
	return BindSource(d, source)
}

// BindSource returns d's DialContext with every connection leaving from
// the local address source, whatever the network (a TCP or UDP local
// address as the network needs); a nil source leaves d as it is.
func BindSource(d *net.Dialer, source net.IP) func(ctx context.Context, network, addr string) (net.Conn, error) {
	if source == nil {
		return d.DialContext
	}
	return func(ctx context.Context, network, addr string) (net.Conn, error) {
		one := *d
		switch {
		case strings.HasPrefix(network, "tcp"):
			one.LocalAddr = &net.TCPAddr{IP: source}
		case strings.HasPrefix(network, "udp"):
			one.LocalAddr = &net.UDPAddr{IP: source}
		}
		return one.DialContext(ctx, network, addr)
	}
}

// IsRefused reports whether err came from the policy.
func IsRefused(err error) bool {
	var e *Error
	return errors.As(err, &e)
}
