package netguard

import (
	"context"
	"net"
	"net/netip"
	"testing"
	"time"
)

func TestClassify(t *testing.T) {
	cases := map[string]string{
		"127.0.0.1": "loopback", "::1": "loopback", "10.1.2.3": "private", "192.168.0.1": "private",
		"172.16.5.5": "private", "169.254.169.254": "link-local", "fe80::1": "link-local",
		"224.0.0.1": "multicast", "0.0.0.0": "unspecified", "::": "unspecified", "100.64.0.1": "private",
		"::ffff:127.0.0.1": "loopback", "fd00::1": "private",
		"93.184.216.34": "", "2606:4700::1111": "", "8.8.8.8": "",
	}
	for in, want := range cases {
		if got := Classify(netip.MustParseAddr(in)); got != want {
			t.Errorf("Classify(%s) = %q, want %q", in, got, want)
		}
	}
}

func TestCheckHost(t *testing.T) {
	if err := CheckHost("169.254.169.254"); !IsRefused(err) {
		t.Fatalf("metadata address allowed: %v", err)
	}
	if err := CheckHost("example.com"); err != nil {
		t.Fatalf("a name is checked at dial time, not here: %v", err)
	}
}

// The dialer refuses loopback even for a name that resolves to it, at
// connect time; nothing leaves the machine in this test.
func TestDialerRefusesLoopback(t *testing.T) {
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	defer ln.Close()
	dial := Dialer(time.Second)
	for _, addr := range []string{ln.Addr().String(), "localhost:" + portOf(ln)} {
		conn, err := dial(context.Background(), "tcp", addr)
		if err == nil {
			conn.Close()
			t.Fatalf("dial %s succeeded", addr)
		}
		if !IsRefused(err) {
			t.Fatalf("dial %s: %v, want a policy refusal", addr, err)
		}
	}
}

func portOf(ln net.Listener) string {
	_, p, _ := net.SplitHostPort(ln.Addr().String())
	return p
}
