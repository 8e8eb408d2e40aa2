package monitor_test

import (
	"context"
	"crypto/ecdsa"
	"crypto/elliptic"
	"crypto/rand"
	"crypto/tls"
	"crypto/x509"
	"crypto/x509/pkix"
	"io"
	"log"
	"math/big"
	"net"
	"net/http"
	"net/http/httptest"
	"strings"
	"testing"
	"time"

	"github.com/miekg/dns"

	"upmon/internal/loopback"
	"upmon/monitor"
	"upmon/site"
)

func TestProbeTCP(t *testing.T) {
	t.Parallel()
	lnAddr, closedAddr := loopback.TCP(t)

	p := newTestProber()
	for _, tc := range []struct {
		url    string
		up     bool
		reason string
	}{
		{"tcp://" + lnAddr, true, ""},
		{"tcp://" + closedAddr, false, "connection refused"},
	} {
		kind, err := site.KindOf(tc.url)
		if err != nil || kind != site.KindTCP {
			t.Fatalf("KindOf(%s) = %q, %v", tc.url, kind, err)
		}
		st := &site.Site{ID: 1, URL: tc.url, Kind: kind}
		st.Settings = st.Settings.Filled(site.Defaults{Interval: time.Minute, Timeout: time.Second})
		r := p.Check(context.Background(), monitor.SpecOf(st))
		if r.Up != tc.up || !strings.Contains(r.Err, tc.reason) || r.StatusCode != 0 || (tc.up && r.Connect <= 0) {
			t.Errorf("%s: %+v, want up=%v reason~%q", tc.url, r, tc.up, tc.reason)
		}
	}
}

// startDNS serves a small zone on a random loopback UDP port and returns
// its address.
func startDNS(t *testing.T) string {
	t.Helper()
	mux := dns.NewServeMux()
	mux.HandleFunc("svc.upmon.test.", func(w dns.ResponseWriter, q *dns.Msg) {
		m := new(dns.Msg)
		m.SetReply(q)
		name := q.Question[0].Name
		switch q.Question[0].Qtype {
		case dns.TypeA:
			for _, ip := range []string{"10.1.2.3", "10.1.2.4"} {
				m.Answer = append(m.Answer, &dns.A{Hdr: dns.RR_Header{Name: name, Rrtype: dns.TypeA, Class: dns.ClassINET, Ttl: 60}, A: net.ParseIP(ip)})
			}
		case dns.TypeTXT:
			m.Answer = append(m.Answer, &dns.TXT{Hdr: dns.RR_Header{Name: name, Rrtype: dns.TypeTXT, Class: dns.ClassINET, Ttl: 60}, Txt: []string{"v=upmon1"}})
		case dns.TypeMX:
			m.Answer = append(m.Answer, &dns.MX{Hdr: dns.RR_Header{Name: name, Rrtype: dns.TypeMX, Class: dns.ClassINET, Ttl: 60}, Preference: 10, Mx: "mail.upmon.test."})
		}
		_ = w.WriteMsg(m)
	})
	return loopback.DNS(t, mux)
}

func TestProbeDNS(t *testing.T) {
	t.Parallel()
	server := startDNS(t)
	p := newTestProber()
	tests := []struct {
		query  string
		up     bool
		reason string
	}{
		{"dns:svc.upmon.test?server=" + server, true, ""},
		{"dns:svc.upmon.test?expect=10.1.2.4&server=" + server, true, ""},
		{"dns:svc.upmon.test?type=A&expect=10.9.9.9&server=" + server, false, "DNS: 10.9.9.9 not among the A answers"},
		{"dns:svc.upmon.test?type=TXT&expect=v%3Dupmon1&server=" + server, true, ""},
		{"dns:svc.upmon.test?type=MX&expect=mail.upmon.test&server=" + server, true, ""},
		{"dns:svc.upmon.test?type=AAAA&server=" + server, false, "DNS:"},
		{"dns:nothing.upmon.test?server=" + server, false, "DNS: no such host"},
	}
	for _, tc := range tests {
		kind, err := site.KindOf(tc.query)
		if err != nil || kind != site.KindDNS {
			t.Fatalf("KindOf(%s) = %q, %v", tc.query, kind, err)
		}
		st := &site.Site{ID: 1, URL: tc.query, Kind: kind}
		st.Settings = st.Settings.Filled(site.Defaults{Interval: time.Minute, Timeout: 2 * time.Second})
		r := p.Check(context.Background(), monitor.SpecOf(st))
		if r.Up != tc.up || !strings.Contains(r.Err, tc.reason) || (tc.up && r.Err != "") {
			t.Errorf("%s: %+v, want up=%v reason~%q", tc.query, r, tc.up, tc.reason)
		}
	}
}

// testPKI is a certificate authority and a leaf for 127.0.0.1 made at
// test time.
type testPKI struct {
	roots *x509.CertPool
	leaf  tls.Certificate
	until time.Time
}

// newTestPKI makes a CA and a leaf certificate for 127.0.0.1 that expires
// at notAfter.
func newTestPKI(t testing.TB, notAfter time.Time) *testPKI {
	t.Helper()
	caKey, err := ecdsa.GenerateKey(elliptic.P256(), rand.Reader)
	if err != nil {
		t.Fatal(err)
	}
	caTmpl := &x509.Certificate{
		SerialNumber:          big.NewInt(1),
		Subject:               pkix.Name{CommonName: "upmon test CA"},
		NotBefore:             time.Now().Add(-time.Hour),
		NotAfter:              time.Now().Add(365 * 24 * time.Hour),
		IsCA:                  true,
		BasicConstraintsValid: true,
		KeyUsage:              x509.KeyUsageCertSign | x509.KeyUsageDigitalSignature,
	}
	caDER, err := x509.CreateCertificate(rand.Reader, caTmpl, caTmpl, &caKey.PublicKey, caKey)
	if err != nil {
		t.Fatal(err)
	}
	ca, err := x509.ParseCertificate(caDER)
	if err != nil {
		t.Fatal(err)
	}
	leafKey, err := ecdsa.GenerateKey(elliptic.P256(), rand.Reader)
	if err != nil {
		t.Fatal(err)
	}
	leafTmpl := &x509.Certificate{
		SerialNumber: big.NewInt(2),
		Subject:      pkix.Name{CommonName: "127.0.0.1"},
		NotBefore:    time.Now().Add(-time.Hour),
		NotAfter:     notAfter,
		IPAddresses:  []net.IP{net.ParseIP("127.0.0.1")},
		KeyUsage:     x509.KeyUsageDigitalSignature,
		ExtKeyUsage:  []x509.ExtKeyUsage{x509.ExtKeyUsageServerAuth},
	}
	leafDER, err := x509.CreateCertificate(rand.Reader, leafTmpl, ca, &leafKey.PublicKey, caKey)
	if err != nil {
		t.Fatal(err)
	}
	pool := x509.NewCertPool()
	pool.AddCert(ca)
	return &testPKI{roots: pool, leaf: tls.Certificate{Certificate: [][]byte{leafDER}, PrivateKey: leafKey}, until: notAfter}
}

// serveTLS starts an https server on loopback with the PKI's leaf.
func (k *testPKI) serveTLS(t testing.TB) string {
	t.Helper()
	srv := httptest.NewUnstartedServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {}))
	srv.TLS = &tls.Config{Certificates: []tls.Certificate{k.leaf}}
	srv.Config.ErrorLog = log.New(io.Discard, "", 0) // refused handshakes are expected
	srv.StartTLS()
	t.Cleanup(srv.Close)
	return srv.URL
}

func TestProbeTLSDaysLeft(t *testing.T) {
	t.Parallel()
	// Expires in 2 days (and a little): 2 whole days left.
	pki := newTestPKI(t, time.Now().Add(48*time.Hour+30*time.Minute))
	u := pki.serveTLS(t)
	st := &site.Site{ID: 1, URL: u, Kind: site.KindHTTP}
	st.Settings = st.Settings.Filled(site.Defaults{Interval: time.Minute, Timeout: 2 * time.Second})

	trusting := monitor.NewProber(monitor.ProberOptions{Timeout: 2 * time.Second, TLSClientConfig: &tls.Config{RootCAs: pki.roots}})
	r := trusting.Check(context.Background(), monitor.SpecOf(st))
	if !r.Up || r.TLSDaysLeft == nil || *r.TLSDaysLeft != 2 || !r.TLSExpires.Equal(pki.until.Truncate(time.Second)) || r.TLS <= 0 {
		t.Fatalf("trusted https check: %+v (days %v)", r, r.TLSDaysLeft)
	}

	// TLS is verified: without the test CA the same site is down.
	r = newTestProber().Check(context.Background(), monitor.SpecOf(st))
	if r.Up || !strings.HasPrefix(r.Err, "TLS certificate: ") || r.TLSDaysLeft != nil {
		t.Fatalf("untrusted https check: %+v", r)
	}
}
