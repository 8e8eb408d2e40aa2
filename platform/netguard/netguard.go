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
	"syscall"
	"time"
)

// Classify returns why ip is refused ("loopback", "private", …), or ""
// when it may be contacted.
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
	// Carrier-grade NAT (100.64.0.0/10) and the IPv4 "this network" block
	// are not reachable public addresses either.
	if ip.Is4() {
		b := ip.As4()
		if b[0] == 100 && b[1]&0xc0 == 64 || b[0] == 0 {
			return "private"
		}
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
	return "refused: " + e.Addr + " is a " + e.Reason + " address (--deny-private-targets)"
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
	return d.DialContext
}

// IsRefused reports whether err came from the policy.
func IsRefused(err error) bool {
	var e *Error
	return errors.As(err, &e)
}
