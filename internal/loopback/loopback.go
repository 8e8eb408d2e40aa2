// Package loopback starts servers on loopback ports for tests: DNS (with
// github.com/miekg/dns) for dns: checks, TCP for tcp:// checks.
package loopback

import (
	"net"
	"testing"

	"github.com/miekg/dns"
)

// DNS answers queries with mux on 127.0.0.1 (names mux does not handle
// get NXDOMAIN) until tb ends, and returns the server's host:port.
func DNS(tb testing.TB, mux *dns.ServeMux) string {
	tb.Helper()
	mux.HandleFunc(".", func(w dns.ResponseWriter, q *dns.Msg) {
		m := new(dns.Msg)
		m.SetRcode(q, dns.RcodeNameError)
		_ = w.WriteMsg(m)
	})
	pc, err := net.ListenPacket("udp", "127.0.0.1:0")
	if err != nil {
		tb.Fatal(err)
	}
	started := make(chan struct{})
	srv := &dns.Server{PacketConn: pc, Handler: mux, NotifyStartedFunc: func() { close(started) }}
	go func() { _ = srv.ActivateAndServe() }()
	<-started
	tb.Cleanup(func() { _ = srv.Shutdown() })
	return pc.LocalAddr().String()
}

// TCP returns the address of a listener that accepts and closes every
// connection until tb ends, and the address of a port nothing listens on.
func TCP(tb testing.TB) (listening, closed string) {
	tb.Helper()
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		tb.Fatal(err)
	}
	tb.Cleanup(func() { ln.Close() })
	go func() {
		for {
			c, err := ln.Accept()
			if err != nil {
				return
			}
			c.Close()
		}
	}()
	gone, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		tb.Fatal(err)
	}
	closed = gone.Addr().String()
	gone.Close()
	return ln.Addr().String(), closed
}
