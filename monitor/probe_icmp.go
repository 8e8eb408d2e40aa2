package monitor

import (
	"bytes"
	"context"
	"crypto/rand"
	"errors"
	"fmt"
	"net"
	"net/netip"
	"syscall"
	"time"

	"golang.org/x/net/icmp"
	"golang.org/x/net/ipv4"
	"golang.org/x/net/ipv6"

	"upmon/platform/netguard"
	"upmon/site"
)

// errICMPNotPermitted says how to let upmon ping: neither an unprivileged
// ping socket nor a raw socket could be opened.
var errICMPNotPermitted = errors.New("ICMP not permitted: allow ping sockets for upmon's group " +
	"(sysctl net.ipv4.ping_group_range) or give it CAP_NET_RAW")

// icmpSocket is an open ICMP socket and how to address and read it.
type icmpSocket struct {
	conn *icmp.PacketConn
	// raw sockets see every ICMP packet of the host (match the id); a
	// datagram socket sees only its own replies (the kernel sets the id).
	raw   bool
	proto int // 1 (ICMP) or 58 (ICMPv6), for icmp.ParseMessage
}

// checkICMP sends one echo request to the host of an icmp: URL and is up
// when the matching echo reply arrives within the timeout.
func (p *Prober) checkICMP(ctx context.Context, sp Spec) Result {
	host, err := site.ParseICMP(sp.URL)
	if err != nil {
		return Result{Err: "invalid icmp URL"}
	}
	start := time.Now()
	ip, err := p.icmpAddr(ctx, host)
	r := Result{DNS: time.Since(start)}
	if err != nil {
		r.Latency = time.Since(start)
		r.Err = describeError(err, ctx)
		return r
	}
	sock, err := p.openICMP(ip.Is4())
	if err != nil {
		r.Latency = time.Since(start)
		r.Err = err.Error()
		return r
	}
	defer sock.conn.Close()
	stop := context.AfterFunc(ctx, func() { sock.conn.SetDeadline(time.Now()) })
	defer stop()
	sent := time.Now()
	err = sock.echo(ctx, ip)
	r.Latency = time.Since(start)
	r.FirstByte = time.Since(sent)
	if err != nil {
		r.Err = describeError(err, ctx)
		return r
	}
	r.Up = true
	return r
}

// icmpAddr resolves host (a literal or a name, through the operator's
// resolver) and applies the outbound policy to the address to ping.
func (p *Prober) icmpAddr(ctx context.Context, host string) (netip.Addr, error) {
	ip, err := netip.ParseAddr(host)
	if err != nil {
		ips, lerr := p.resolver("").LookupNetIP(ctx, "ip", host)
		if lerr != nil {
			return netip.Addr{}, lerr
		}
		if len(ips) == 0 {
			return netip.Addr{}, &net.DNSError{Err: "no addresses", Name: host, IsNotFound: true}
		}
		ip = ips[0]
	}
	ip = ip.Unmap()
	if p.opts.DenyPrivate {
		if err := netguard.CheckHost(ip.String()); err != nil {
			return netip.Addr{}, err
		}
	}
	return ip, nil
}

// openICMP opens an unprivileged datagram ping socket, else a raw one,
// bound to the prober's source address when it has one (so that pings
// leave from it, as every other check does).
func (p *Prober) openICMP(v4 bool) (*icmpSocket, error) {
	listen := p.icmpListen
	if listen == nil {
		listen = icmp.ListenPacket
	}
	dgram, rawNet, local, proto := "udp6", "ip6:ipv6-icmp", "::", 58
	if v4 {
		dgram, rawNet, local, proto = "udp4", "ip4:icmp", "0.0.0.0", 1
	}
	if src := p.opts.SourceAddr; src != nil {
		if (src.To4() != nil) != v4 {
			return nil, fmt.Errorf("ICMP: the source address %s cannot ping an IPv%s address", src, map[bool]string{true: "4", false: "6"}[v4])
		}
		local = src.String()
	}
	conn, err := listen(dgram, local)
	if err == nil {
		return &icmpSocket{conn: conn, proto: proto}, nil
	}
	if !notPermitted(err) {
		return nil, fmt.Errorf("ICMP socket: %w", err)
	}
	conn, err = listen(rawNet, local)
	if err == nil {
		return &icmpSocket{conn: conn, raw: true, proto: proto}, nil
	}
	if notPermitted(err) {
		return nil, errICMPNotPermitted
	}
	return nil, fmt.Errorf("ICMP socket: %w", err)
}

// notPermitted reports whether a socket was refused for lack of
// permission (or the kernel has no ping sockets).
func notPermitted(err error) bool {
	return errors.Is(err, syscall.EACCES) || errors.Is(err, syscall.EPERM) ||
		errors.Is(err, syscall.EPROTONOSUPPORT) || errors.Is(err, syscall.EAFNOSUPPORT)
}

// echo sends one echo request to ip and waits for its reply. The reply is
// matched by a random payload (and, on raw sockets, the id and sequence).
func (s *icmpSocket) echo(ctx context.Context, ip netip.Addr) error {
	var token [16]byte
	_, _ = rand.Read(token[:])
	id, seq := int(token[0])<<8|int(token[1]), int(token[2])<<8|int(token[3])
	var typ, reply icmp.Type = ipv4.ICMPTypeEcho, ipv4.ICMPTypeEchoReply
	if !ip.Is4() {
		typ, reply = ipv6.ICMPTypeEchoRequest, ipv6.ICMPTypeEchoReply
	}
	msg := icmp.Message{Type: typ, Body: &icmp.Echo{ID: id, Seq: seq, Data: token[:]}}
	b, err := msg.Marshal(nil) // the kernel fills in the ICMPv6 checksum
	if err != nil {
		return err
	}
	var dst net.Addr = &net.UDPAddr{IP: ip.AsSlice()}
	if s.raw {
		dst = &net.IPAddr{IP: ip.AsSlice()}
	}
	if dl, ok := ctx.Deadline(); ok {
		_ = s.conn.SetDeadline(dl)
	}
	if _, err := s.conn.WriteTo(b, dst); err != nil {
		return err
	}
	buf := make([]byte, 1500)
	for {
		n, from, err := s.conn.ReadFrom(buf)
		if err != nil {
			return err
		}
		if addrOf(from) != ip {
			continue
		}
		m, err := icmp.ParseMessage(s.proto, buf[:n])
		if err != nil {
			continue
		}
		switch body := m.Body.(type) {
		case *icmp.Echo:
			if m.Type == reply && bytes.Equal(body.Data, token[:]) && (!s.raw || body.ID == id && body.Seq == seq) {
				return nil
			}
		case *icmp.DstUnreach:
			if bytes.Contains(body.Data, token[:]) {
				return errors.New("ICMP: destination unreachable")
			}
		case *icmp.TimeExceeded:
			if bytes.Contains(body.Data, token[:]) {
				return errors.New("ICMP: time exceeded")
			}
		}
	}
}

// addrOf is the IP address of a socket's peer.
func addrOf(a net.Addr) netip.Addr {
	var ip net.IP
	switch a := a.(type) {
	case *net.UDPAddr:
		ip = a.IP
	case *net.IPAddr:
		ip = a.IP
	}
	addr, _ := netip.AddrFromSlice(ip)
	return addr.Unmap()
}
