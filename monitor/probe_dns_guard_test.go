package monitor_test

import (
	"context"
	"net"
	"strings"
	"testing"
	"time"

	"github.com/miekg/dns"

	"upmon/internal/loopback"
	"upmon/monitor"
	"upmon/platform/netguard"
	"upmon/site"
)

// startGuardDNS answers A queries: public.upmon.test with a public
// address, private.upmon.test with 10.1.2.3, lo.upmon.test with
// 127.0.0.1 and AAAA lo6.upmon.test with ::1.
func startGuardDNS(t *testing.T) string {
	t.Helper()
	answers := map[string]string{
		"public.upmon.test.": "93.184.216.34", "private.upmon.test.": "10.1.2.3", "lo.upmon.test.": "127.0.0.1",
		"lo6.upmon.test.": "::1",
	}
	mux := dns.NewServeMux()
	for name, ip := range answers {
		mux.HandleFunc(name, func(w dns.ResponseWriter, q *dns.Msg) {
			m := new(dns.Msg)
			m.SetReply(q)
			hdr := dns.RR_Header{Name: name, Class: dns.ClassINET, Ttl: 60}
			switch addr := net.ParseIP(ip); {
			case q.Question[0].Qtype == dns.TypeA && addr.To4() != nil:
				hdr.Rrtype = dns.TypeA
				m.Answer = append(m.Answer, &dns.A{Hdr: hdr, A: addr})
			case q.Question[0].Qtype == dns.TypeAAAA && addr.To4() == nil:
				hdr.Rrtype = dns.TypeAAAA
				m.Answer = append(m.Answer, &dns.AAAA{Hdr: hdr, AAAA: addr})
			}
			_ = w.WriteMsg(m)
		})
	}
	return loopback.DNS(t, mux)
}

// With the outbound policy on, the operator's resolver (a loopback
// server here, as 127.0.0.53 often is) is still reachable, its answers
// are guarded, and a server named in the check is not trusted.
func TestProbeDNSOperatorResolverWithDenyPrivate(t *testing.T) {
	t.Parallel()
	server := startGuardDNS(t)
	p := monitor.NewProber(monitor.ProberOptions{
		Timeout: 2 * time.Second, UserAgent: "upmon/test",
		Dialer: netguard.Dialer(2 * time.Second), Resolver: server, DenyPrivate: true,
	})
	tests := []struct {
		query  string
		up     bool
		reason string
	}{
		{"dns:public.upmon.test", true, ""},
		{"dns:public.upmon.test?expect=93.184.216.34", true, ""},
		{"dns:private.upmon.test", false, "refused: 10.1.2.3 is a private address"},
		{"dns:lo.upmon.test", false, "refused: 127.0.0.1 is a loopback address"},
		{"dns:lo6.upmon.test?type=AAAA", false, "refused: ::1 is a loopback address"},
		// The same server named in the check is dialled through the
		// policy: the lookup fails (the resolver hides the dial's error).
		{"dns:public.upmon.test?server=" + server, false, "DNS: lookup failed"},
	}
	for _, tc := range tests {
		st := &site.Site{ID: 1, URL: tc.query, Kind: site.KindDNS}
		st.Settings = st.Settings.Filled(site.Defaults{Interval: time.Minute, Timeout: 2 * time.Second})
		r := p.Check(context.Background(), monitor.SpecOf(st))
		if r.Up != tc.up || !strings.Contains(r.Err, tc.reason) || (tc.up && r.Err != "") {
			t.Errorf("%s: %+v, want up=%v reason~%q", tc.query, r, tc.up, tc.reason)
		}
	}
}
