package monitor

import (
	"net"
	"net/http"
	"net/http/httptest"
	"testing"
	"time"

	"upmon/site"
)

// TestProbeLeavesFromSourceAddr checks that every kind of check leaves
// from ProberOptions.SourceAddr: the targets (on 127.0.0.1) see the
// caller's address.
func TestProbeLeavesFromSourceAddr(t *testing.T) {
	seen := make(chan string, 4)
	web := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		host, _, _ := net.SplitHostPort(r.RemoteAddr)
		seen <- host
	}))
	t.Cleanup(web.Close)
	tcp, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { tcp.Close() })
	go func() {
		for {
			c, err := tcp.Accept()
			if err != nil {
				return
			}
			host, _, _ := net.SplitHostPort(c.RemoteAddr().String())
			seen <- host
			c.Close()
		}
	}()
	// A DNS server that only notes who asked (the check itself fails).
	udp, err := net.ListenPacket("udp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { udp.Close() })
	go func() {
		buf := make([]byte, 512)
		for {
			_, from, err := udp.ReadFrom(buf)
			if err != nil {
				return
			}
			host, _, _ := net.SplitHostPort(from.String())
			seen <- host
		}
	}()

	p := NewProber(ProberOptions{Timeout: 300 * time.Millisecond, UserAgent: "upmon/test", SourceAddr: net.ParseIP("127.0.0.2")})
	for _, c := range []struct{ kind, url string }{
		{site.KindHTTP, web.URL + "/"},
		{site.KindTCP, "tcp://" + tcp.Addr().String()},
		{site.KindDNS, "dns:example.org?server=" + udp.LocalAddr().String()},
	} {
		p.Check(t.Context(), Spec{Kind: c.kind, URL: c.url, Method: http.MethodGet, Expected: [][2]int{{200, 399}}, Timeout: 300 * time.Millisecond})
		select {
		case got := <-seen:
			if got != "127.0.0.2" {
				t.Errorf("%s check came from %s, want 127.0.0.2", c.kind, got)
			}
		case <-time.After(5 * time.Second):
			t.Fatalf("%s check never reached its target", c.kind)
		}
		for len(seen) > 0 { // DNS retries over UDP
			<-seen
		}
	}
}
