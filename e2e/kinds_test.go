package e2e

import (
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

	"upmon/internal/app"
	"upmon/internal/app/apptest"
	"upmon/internal/loopback"
	"upmon/monitor"
)

func TestTCPChecks(t *testing.T) {
	t.Parallel()
	m := apptest.Start(t, quickConfig(t), app.Hooks{})
	c := apptest.Client{Base: m.URL(), TB: t}
	lnAddr, closedAddr := loopback.TCP(t)

	var added struct {
		ID   int64  `json:"id"`
		URL  string `json:"url"`
		Kind string `json:"kind"`
	}
	c.JSON("POST", "/site", `{"url":"tcp://`+lnAddr+`"}`, &added)
	if added.Kind != "tcp" {
		t.Fatalf("POST /site answer = %+v", added)
	}
	open := "1"
	down := addSite(t, c, `{"url":"tcp://`+closedAddr+`"}`)
	if r := checkNow(t, c, open); !r.Up || r.StatusCode != 0 {
		t.Fatalf("tcp check of a listener = %+v", r)
	}
	if r := checkNow(t, c, down); r.Up || r.Error != "connection refused" {
		t.Fatalf("tcp check of a closed port = %+v", r)
	}
	if got := getSite(t, c, open); got["kind"] != "tcp" || got["url"] != "tcp://"+lnAddr {
		t.Fatalf("GET tcp site = %v", got)
	}
}

// startLoopbackDNS serves A records for svc.upmon.test on a random
// loopback UDP port and returns the server's address.
func startLoopbackDNS(t *testing.T) string {
	t.Helper()
	mux := dns.NewServeMux()
	mux.HandleFunc("svc.upmon.test.", func(w dns.ResponseWriter, q *dns.Msg) {
		m := new(dns.Msg)
		m.SetReply(q)
		if q.Question[0].Qtype == dns.TypeA {
			m.Answer = append(m.Answer, &dns.A{
				Hdr: dns.RR_Header{Name: q.Question[0].Name, Rrtype: dns.TypeA, Class: dns.ClassINET, Ttl: 30},
				A:   net.ParseIP("10.20.30.40"),
			})
		}
		_ = w.WriteMsg(m)
	})
	return loopback.DNS(t, mux)
}

func TestDNSChecks(t *testing.T) {
	t.Parallel()
	m := apptest.Start(t, quickConfig(t), app.Hooks{})
	c := apptest.Client{Base: m.URL(), TB: t}
	server := startLoopbackDNS(t)

	match := addSite(t, c, `{"url":"dns:svc.upmon.test?type=A&expect=10.20.30.40&server=`+server+`"}`)
	mismatch := addSite(t, c, `{"url":"dns:svc.upmon.test?expect=10.9.9.9&server=`+server+`"}`)
	missing := addSite(t, c, `{"url":"dns:gone.upmon.test?server=`+server+`"}`)
	if r := checkNow(t, c, match); !r.Up || r.Error != "" {
		t.Fatalf("dns check, expected answer = %+v", r)
	}
	if r := checkNow(t, c, mismatch); r.Up || !strings.Contains(r.Error, "10.9.9.9 not among the A answers [10.20.30.40]") {
		t.Fatalf("dns check, other answer = %+v", r)
	}
	if r := checkNow(t, c, missing); r.Up || r.Error != "DNS: no such host" {
		t.Fatalf("dns check, no such name = %+v", r)
	}
	if got := getSite(t, c, match); got["kind"] != "dns" {
		t.Fatalf("GET dns site = %v", got)
	}
}

// loopbackPKI makes a CA and a leaf certificate for 127.0.0.1 expiring at
// notAfter, and returns the CA pool and the leaf.
func loopbackPKI(t *testing.T, notAfter time.Time) (*x509.CertPool, tls.Certificate) {
	t.Helper()
	key := func() *ecdsa.PrivateKey {
		k, err := ecdsa.GenerateKey(elliptic.P256(), rand.Reader)
		if err != nil {
			t.Fatal(err)
		}
		return k
	}
	caKey, leafKey := key(), key()
	caTmpl := &x509.Certificate{
		SerialNumber: big.NewInt(1), Subject: pkix.Name{CommonName: "upmon e2e CA"},
		NotBefore: time.Now().Add(-time.Hour), NotAfter: time.Now().Add(24 * time.Hour * 365),
		IsCA: true, BasicConstraintsValid: true, KeyUsage: x509.KeyUsageCertSign,
	}
	caDER, err := x509.CreateCertificate(rand.Reader, caTmpl, caTmpl, &caKey.PublicKey, caKey)
	if err != nil {
		t.Fatal(err)
	}
	ca, _ := x509.ParseCertificate(caDER)
	leafTmpl := &x509.Certificate{
		SerialNumber: big.NewInt(2), Subject: pkix.Name{CommonName: "127.0.0.1"},
		NotBefore: time.Now().Add(-time.Hour), NotAfter: notAfter,
		IPAddresses: []net.IP{net.ParseIP("127.0.0.1")},
		KeyUsage:    x509.KeyUsageDigitalSignature, ExtKeyUsage: []x509.ExtKeyUsage{x509.ExtKeyUsageServerAuth},
	}
	leafDER, err := x509.CreateCertificate(rand.Reader, leafTmpl, ca, &leafKey.PublicKey, caKey)
	if err != nil {
		t.Fatal(err)
	}
	pool := x509.NewCertPool()
	pool.AddCert(ca)
	return pool, tls.Certificate{Certificate: [][]byte{leafDER}, PrivateKey: leafKey}
}

func TestTLSCertificateExpiring(t *testing.T) {
	t.Parallel()
	roots, leaf := loopbackPKI(t, time.Now().Add(48*time.Hour+30*time.Minute)) // expires in 2 days
	srv := httptest.NewUnstartedServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {}))
	srv.TLS = &tls.Config{Certificates: []tls.Certificate{leaf}}
	srv.Config.ErrorLog = log.New(io.Discard, "", 0)
	srv.StartTLS()
	t.Cleanup(srv.Close)

	// The app's checks trust the test CA through the monitor's test hook
	// (nothing in the configuration carries a private root).
	_, c, slack := startSlackOnly(t, quickConfig(t), app.Hooks{Monitor: monitor.Hooks{TLSClientConfig: &tls.Config{RootCAs: roots}}})
	id := addSite(t, c, `{"url":"`+srv.URL+`"}`)
	waitFirstCheck(t, c, id)
	for range 2 {
		if r := checkNow(t, c, id); !r.Up {
			t.Fatalf("https check = %+v", r)
		}
	}
	var page struct {
		Checks []struct {
			TLSDaysLeft *int  `json:"tls_days_left"`
			TLSMS       int64 `json:"tls_ms"`
		} `json:"checks"`
	}
	c.JSON("GET", "/site/"+id+"/checks", "", &page)
	if len(page.Checks) != 3 {
		t.Fatalf("checks = %+v", page.Checks)
	}
	for _, ch := range page.Checks {
		if ch.TLSDaysLeft == nil || (*ch.TLSDaysLeft != 1 && *ch.TLSDaysLeft != 2) {
			t.Fatalf("tls_days_left = %v", ch.TLSDaysLeft)
		}
	}
	// Exactly one cert-expiring event (the 3-day threshold), whatever
	// the number of checks.
	slack.WaitFor(1, 10*time.Second)
	time.Sleep(2 * settle)
	msgs := slack.Messages()
	want := "*The TLS certificate of " + srv.URL + " expires in 2 days.*"
	if len(msgs) != 1 || !strings.HasPrefix(msgs[0], want+"\nIt expires on ") {
		t.Fatalf("Slack = %q, want one %q", msgs, want)
	}
}

func TestPushMonitor(t *testing.T) {
	t.Parallel()
	m, c, slack := startSlackOnly(t, quickConfig(t), app.Hooks{})
	var added struct {
		ID        int64  `json:"id"`
		URL       string `json:"url"`
		Kind      string `json:"kind"`
		PushToken string `json:"push_token"`
		PushURL   string `json:"push_url"`
	}
	c.JSON("POST", "/site", `{"kind":"push","name":"nightly-job","interval":"1s","grace":"1s"}`, &added)
	if added.URL != "push:nightly-job" || added.Kind != "push" || added.PushToken == "" || added.PushURL != m.URL()+"/push/"+added.PushToken {
		t.Fatalf("POST /site answer = %+v", added)
	}
	id := "1"
	got := getSite(t, c, id)
	if got["grace"] != "1s" || got["interval"] != "1s" || got["push_token"] != added.PushToken {
		t.Fatalf("GET push monitor = %v", got)
	}

	// A push marks it up.
	resp, err := http.Post(added.PushURL, "text/plain", nil)
	if err != nil {
		t.Fatal(err)
	}
	b, _ := io.ReadAll(resp.Body)
	resp.Body.Close()
	if resp.StatusCode != 200 || string(b) == "" || !strings.Contains(string(b), `"ok":true`) {
		t.Fatalf("push: %d %s", resp.StatusCode, b)
	}
	var st struct {
		Sites map[string]struct {
			Up    bool   `json:"up"`
			State string `json:"state"`
		} `json:"sites"`
	}
	c.JSON("GET", "/status", "", &st)
	if s, ok := st.Sites[id]; !ok || !s.Up || s.State != "up" {
		t.Fatalf("status after a push = %+v", st)
	}
	if status, body := c.Do("POST", "/push/not-a-token", ""); status != 404 || !strings.Contains(body, "not_found") {
		t.Fatalf("push with an unknown token: %d %s", status, body)
	}

	// No push within interval + grace: down, and Slack says why.
	msgs := slack.WaitFor(1, 10*time.Second)
	if len(msgs) != 1 || msgs[0] != "*push:nightly-job is down!*\nno push within 1s + 1s grace after 1 failed check" {
		t.Fatalf("Slack = %q", msgs)
	}
	c.JSON("GET", "/status", "", &st)
	if s := st.Sites[id]; s.Up || s.State != "down" {
		t.Fatalf("status after the deadline = %+v", s)
	}
	// The next push brings it back.
	resp, err = http.Post(added.PushURL, "", nil)
	if err != nil {
		t.Fatal(err)
	}
	resp.Body.Close()
	if msgs = firstLines(slack.WaitFor(2, 10*time.Second)); len(msgs) < 2 || msgs[1] != "*push:nightly-job is back up.*" {
		t.Fatalf("Slack after the next push = %q", msgs)
	}
}
