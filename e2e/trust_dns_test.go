package e2e

import (
	"net"
	"strings"
	"testing"

	"github.com/miekg/dns"

	"upmon/internal/app"
	"upmon/internal/app/apptest"
	"upmon/internal/loopback"
)

// TestDenyPrivateTargetsDNSChecks: with --deny-private-targets, dns:
// checks still reach the operator's resolver (--dns-resolver, a loopback
// server here as a local stub resolver often is), and an answer the
// policy refuses makes the check down.
func TestDenyPrivateTargetsDNSChecks(t *testing.T) {
	t.Parallel()
	mux := dns.NewServeMux()
	for name, ip := range map[string]string{"public.upmon.test.": "93.184.216.34", "lo.upmon.test.": "127.0.0.1", "lan.upmon.test.": "10.0.0.7"} {
		mux.HandleFunc(name, func(w dns.ResponseWriter, q *dns.Msg) {
			m := new(dns.Msg)
			m.SetReply(q)
			if q.Question[0].Qtype == dns.TypeA {
				m.Answer = append(m.Answer, &dns.A{
					Hdr: dns.RR_Header{Name: name, Rrtype: dns.TypeA, Class: dns.ClassINET, Ttl: 30}, A: net.ParseIP(ip),
				})
			}
			_ = w.WriteMsg(m)
		})
	}
	cfg := quickConfig(t)
	cfg.DenyPrivateTargets = true
	cfg.DNSResolver = loopback.DNS(t, mux)
	m := apptest.Start(t, cfg, app.Hooks{})
	c := apptest.Client{Base: m.URL(), TB: t}

	public := addSite(t, c, `{"url":"dns:public.upmon.test?expect=93.184.216.34"}`)
	if r := checkNow(t, c, public); !r.Up || r.Error != "" {
		t.Fatalf("public answer through the operator's resolver = %+v", r)
	}
	for name, reason := range map[string]string{"lo": "refused: 127.0.0.1 is a loopback address", "lan": "refused: 10.0.0.7 is a private address"} {
		id := addSite(t, c, `{"url":"dns:`+name+`.upmon.test"}`)
		if r := checkNow(t, c, id); r.Up || !strings.Contains(r.Error, reason) {
			t.Errorf("%s: check = %+v, want down with %q", name, r, reason)
		}
	}
}
