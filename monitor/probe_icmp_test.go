package monitor

import (
	"context"
	"errors"
	"net"
	"os"
	"strings"
	"sync"
	"syscall"
	"testing"
	"time"

	"github.com/miekg/dns"
	"golang.org/x/net/icmp"

	"upmon/internal/loopback"
	"upmon/site"
)

// icmpSpec is the spec of a site with an icmp: URL.
func icmpSpec(t *testing.T, u string, timeout time.Duration) Spec {
	t.Helper()
	kind, err := site.KindOf(u)
	if err != nil || kind != site.KindICMP {
		t.Fatalf("KindOf(%s) = %q, %v", u, kind, err)
	}
	st := &site.Site{ID: 1, URL: u, Kind: kind}
	st.Settings = st.Settings.Filled(site.Defaults{Interval: time.Minute, Timeout: timeout})
	return SpecOf(st)
}

// skipWithoutICMP skips when this process may open neither a datagram
// nor a raw ICMP socket (CI runs as root, so it runs there).
func skipWithoutICMP(t *testing.T) {
	t.Helper()
	for _, nw := range []string{"udp4", "ip4:icmp"} {
		if c, err := icmp.ListenPacket(nw, "127.0.0.1"); err == nil {
			c.Close()
			return
		}
	}
	b, _ := os.ReadFile("/proc/sys/net/ipv4/ping_group_range")
	t.Skipf("neither ping sockets (net.ipv4.ping_group_range = %q) nor raw sockets are permitted", strings.TrimSpace(string(b)))
}

// refuse returns an icmpListen that refuses the networks named and opens
// the others.
func refuse(networks ...string) func(string, string) (*icmp.PacketConn, error) {
	return func(network, address string) (*icmp.PacketConn, error) {
		for _, n := range networks {
			if n == network {
				return nil, &os.SyscallError{Syscall: "socket", Err: syscall.EACCES}
			}
		}
		return icmp.ListenPacket(network, address)
	}
}

func TestProbeICMPLoopback(t *testing.T) {
	t.Parallel()
	skipWithoutICMP(t)
	for _, u := range []string{"icmp:127.0.0.1", "icmp:::1", "icmp:localhost"} {
		r := NewProber(ProberOptions{Timeout: 2 * time.Second}).Check(context.Background(), icmpSpec(t, u, 2*time.Second))
		if !r.Up || r.Err != "" || r.Latency <= 0 || r.StatusCode != 0 {
			t.Errorf("%s: %+v, want up", u, r)
		}
	}
}

func TestProbeICMPSockets(t *testing.T) {
	t.Parallel()
	skipWithoutICMP(t)
	sp := icmpSpec(t, "icmp:127.0.0.1", 2*time.Second)
	sp6 := icmpSpec(t, "icmp:[::1]", 2*time.Second)

	// Datagram sockets refused (ping_group_range): raw sockets are used.
	p := NewProber(ProberOptions{})
	p.icmpListen = refuse("udp4", "udp6")
	for _, s := range []Spec{sp, sp6} {
		if r := p.Check(context.Background(), s); !r.Up {
			t.Errorf("%s over a raw socket: %+v", s.URL, r)
		}
	}
	// Raw sockets refused: datagram ping sockets, where the kernel
	// allows this process's group.
	p.icmpListen = refuse("ip4:icmp", "ip6:ipv6-icmp")
	if c, err := icmp.ListenPacket("udp4", "127.0.0.1"); err == nil {
		c.Close()
		if r := p.Check(context.Background(), sp); !r.Up {
			t.Errorf("over a datagram socket: %+v", r)
		}
	} else {
		t.Logf("datagram ping sockets not permitted here (%v): that path is not run", err)
	}
	// Neither: a clear error naming the sysctl, without sending.
	p.icmpListen = refuse("udp4", "udp6", "ip4:icmp", "ip6:ipv6-icmp")
	for _, s := range []Spec{sp, sp6} {
		r := p.Check(context.Background(), s)
		if r.Up || !strings.Contains(r.Err, "ICMP not permitted") || !strings.Contains(r.Err, "net.ipv4.ping_group_range") || !strings.Contains(r.Err, "CAP_NET_RAW") {
			t.Errorf("%s with no ICMP socket: %+v", s.URL, r)
		}
	}
	// Another socket error is reported as it is.
	p.icmpListen = func(string, string) (*icmp.PacketConn, error) { return nil, errors.New("no buffer space") }
	if r := p.Check(context.Background(), sp); r.Up || r.Err != "ICMP socket: no buffer space" {
		t.Errorf("socket error: %+v", r)
	}
}

func TestProbeICMPDownReasons(t *testing.T) {
	t.Parallel()
	skipWithoutICMP(t)
	// The outbound policy refuses the address before anything is sent.
	sent := false
	guarded := NewProber(ProberOptions{DenyPrivate: true})
	guarded.icmpListen = func(network, address string) (*icmp.PacketConn, error) {
		sent = true
		return icmp.ListenPacket(network, address)
	}
	for _, u := range []string{"icmp:127.0.0.1", "icmp:::1", "icmp:localhost"} {
		r := guarded.Check(context.Background(), icmpSpec(t, u, time.Second))
		if r.Up || !strings.HasPrefix(r.Err, "refused: ") || !strings.Contains(r.Err, "loopback") {
			t.Errorf("%s under --deny-private-targets: %+v", u, r)
		}
	}
	if sent {
		t.Error("a socket was opened for a refused address")
	}
	// No reply within the timeout (a deadline already past when the
	// request goes out): down with "timeout".
	p := NewProber(ProberOptions{})
	ctx, cancel := context.WithDeadline(context.Background(), time.Now().Add(-time.Second))
	defer cancel()
	if r := p.Check(ctx, icmpSpec(t, "icmp:127.0.0.1", time.Second)); r.Up || r.Err != "timeout" {
		t.Errorf("past deadline: %+v", r)
	}
	// A name that does not resolve (asked of a loopback DNS server that
	// knows no names).
	p = NewProber(ProberOptions{Resolver: loopback.DNS(t, dns.NewServeMux())})
	if r := p.Check(context.Background(), icmpSpec(t, "icmp:nothing.invalid", time.Second)); r.Up || !strings.HasPrefix(r.Err, "DNS: ") {
		t.Errorf("unresolvable name: %+v", r)
	}
}

// TestProbeICMPSourceAddr: with a source address (--source-addr), the
// ping socket is bound to it, so the echo leaves from it like every other
// check; an address of the other family is a clear error.
func TestProbeICMPSourceAddr(t *testing.T) {
	t.Parallel()
	skipWithoutICMP(t)
	p := NewProber(ProberOptions{SourceAddr: net.ParseIP("127.0.0.2")})
	var bound []string
	var mu sync.Mutex
	p.icmpListen = func(network, address string) (*icmp.PacketConn, error) {
		mu.Lock()
		bound = append(bound, address)
		mu.Unlock()
		return icmp.ListenPacket(network, address)
	}
	if r := p.Check(context.Background(), icmpSpec(t, "icmp:127.0.0.1", 2*time.Second)); !r.Up {
		t.Errorf("ping from 127.0.0.2: %+v", r)
	}
	mu.Lock()
	if len(bound) == 0 || bound[len(bound)-1] != "127.0.0.2" {
		t.Errorf("sockets bound to %q, want 127.0.0.2", bound)
	}
	mu.Unlock()
	r := p.Check(context.Background(), icmpSpec(t, "icmp:[::1]", 2*time.Second))
	if r.Up || !strings.Contains(r.Err, "source address 127.0.0.2 cannot ping an IPv6 address") {
		t.Errorf("IPv6 target from an IPv4 source: %+v", r)
	}
}
