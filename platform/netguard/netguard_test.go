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

// TestClassifyEmbeddedAndReserved has one table per range the guard
// refuses beyond the standard library's classes, each with addresses
// just inside and just outside it.
func TestClassifyEmbeddedAndReserved(t *testing.T) {
	ranges := []struct {
		name    string
		refused []string
		allowed []string
	}{
		{"NAT64 64:ff9b::/96", []string{"64:ff9b::7f00:1", "64:ff9b::a00:1", "64:ff9b::a9fe:a9fe", "64:ff9b::c0a8:101"},
			[]string{"64:ff9b::808:808", "64:ff9b::5db8:d822"}},
		{"NAT64 local use 64:ff9b:1::/48", []string{"64:ff9b:1::7f00:1", "64:ff9b:1:abcd::a00:1"},
			[]string{"64:ff9b:1::808:808"}},
		{"6to4 2002::/16", []string{"2002:7f00:1::", "2002:a00:1::1", "2002:a9fe:a9fe::", "2002:c612:1::"},
			[]string{"2002:808:808::1", "2002:5db8:d822::"}},
		{"IPv4-compatible ::/96", []string{"::7f00:1", "::808:808", "::a00:1"}, []string{"::1:0:0:1"}},
		{"benchmarking 198.18.0.0/15", []string{"198.18.0.0", "198.19.255.255"}, []string{"198.17.255.255", "198.20.0.0"}},
		{"reserved 240.0.0.0/4", []string{"240.0.0.1", "254.255.255.255"}, []string{"223.255.255.255"}},
		{"broadcast", []string{"255.255.255.255"}, nil},
	}
	for _, rg := range ranges {
		t.Run(rg.name, func(t *testing.T) {
			for _, in := range rg.refused {
				if Classify(netip.MustParseAddr(in)) == "" {
					t.Errorf("Classify(%s) allows it", in)
				}
				if !IsRefused(CheckHost(in)) {
					t.Errorf("CheckHost(%s) allows it", in)
				}
			}
			for _, in := range rg.allowed {
				if got := Classify(netip.MustParseAddr(in)); got != "" {
					t.Errorf("Classify(%s) = %q, want allowed", in, got)
				}
			}
		})
	}
}

func TestErrorText(t *testing.T) {
	for in, want := range map[string]string{
		"127.0.0.1":       "refused: 127.0.0.1 is a loopback address (--deny-private-targets)",
		"::7f00:1":        "refused: ::7f00:1 is an IPv4-compatible address (--deny-private-targets)",
		"64:ff9b::a00:1":  "refused: 64:ff9b::a00:1 is a private (embedded 10.0.0.1) address (--deny-private-targets)",
		"255.255.255.255": "refused: 255.255.255.255 is a broadcast address (--deny-private-targets)",
	} {
		if err := CheckHost(in); err == nil || err.Error() != want {
			t.Errorf("CheckHost(%s) = %v, want %q", in, err, want)
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
