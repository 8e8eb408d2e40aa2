// Package dnstest serves DNS on a loopback UDP port for tests (dns:
// checks), with github.com/miekg/dns.
package dnstest

import (
	"net"
	"testing"

	"github.com/miekg/dns"
)

// Serve answers queries with mux on 127.0.0.1 (names mux does not handle
// get NXDOMAIN) until tb ends, and returns the server's host:port.
func Serve(tb testing.TB, mux *dns.ServeMux) string {
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
