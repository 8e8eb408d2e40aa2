package email_test

import (
	"crypto/ecdsa"
	"crypto/elliptic"
	"crypto/rand"
	"crypto/tls"
	"crypto/x509"
	"crypto/x509/pkix"
	"io"
	"math/big"
	"net"
	"sync"
	"testing"
	"time"

	"github.com/emersion/go-sasl"
	"github.com/emersion/go-smtp"
)

// mailServer is a real SMTP server (go-smtp) on loopback that records
// what it was told.
type mailServer struct {
	host string
	port int
	pool *x509.CertPool

	mu       sync.Mutex
	auths    []authRecord
	mails    []mailRecord
	authErr  error
	rcptErr  error
	dataErr  error
	sessions int
}

type authRecord struct {
	mech, user, pass string
	tls              bool
}

type mailRecord struct {
	from string
	to   []string
	data []byte
	tls  bool
}

type serverMode int

const (
	modeSTARTTLS serverMode = iota
	modeImplicitTLS
	modePlain // no TLS at all: STARTTLS is not offered
)

func newMailServer(t *testing.T, mode serverMode) *mailServer {
	t.Helper()
	cert, pool := selfSigned(t)
	ms := &mailServer{pool: pool}
	srv := smtp.NewServer(smtp.BackendFunc(func(c *smtp.Conn) (smtp.Session, error) {
		ms.mu.Lock()
		ms.sessions++
		ms.mu.Unlock()
		return &session{ms: ms, conn: c}, nil
	}))
	srv.Domain = "localhost"
	srv.ReadTimeout, srv.WriteTimeout = 10*time.Second, 10*time.Second
	cfg := &tls.Config{Certificates: []tls.Certificate{cert}}
	l, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	switch mode {
	case modeSTARTTLS:
		srv.TLSConfig = cfg
	case modeImplicitTLS:
		srv.TLSConfig = cfg
		l = tls.NewListener(l, cfg)
	case modePlain:
		srv.AllowInsecureAuth = true
	}
	go func() { _ = srv.Serve(l) }()
	t.Cleanup(func() { srv.Close() })
	addr := l.Addr().(*net.TCPAddr)
	ms.host, ms.port = addr.IP.String(), addr.Port
	return ms
}

func (ms *mailServer) snapshot() ([]authRecord, []mailRecord) {
	ms.mu.Lock()
	defer ms.mu.Unlock()
	return append([]authRecord(nil), ms.auths...), append([]mailRecord(nil), ms.mails...)
}

type session struct {
	ms   *mailServer
	conn *smtp.Conn
	from string
	to   []string
}

func (s *session) isTLS() bool { _, ok := s.conn.TLSConnectionState(); return ok }

func (s *session) AuthMechanisms() []string { return []string{sasl.Plain, sasl.Login} }

func (s *session) Auth(mech string) (sasl.Server, error) {
	check := func(user, pass string) error {
		s.ms.mu.Lock()
		defer s.ms.mu.Unlock()
		s.ms.auths = append(s.ms.auths, authRecord{mech: mech, user: user, pass: pass, tls: s.isTLS()})
		return s.ms.authErr
	}
	if mech == sasl.Login {
		return &loginServer{check: check}, nil
	}
	return sasl.NewPlainServer(func(_, user, pass string) error { return check(user, pass) }), nil
}

func (s *session) Mail(from string, _ *smtp.MailOptions) error { s.from = from; return nil }

func (s *session) Rcpt(to string, _ *smtp.RcptOptions) error {
	if s.ms.rcptErr != nil {
		return s.ms.rcptErr
	}
	s.to = append(s.to, to)
	return nil
}

func (s *session) Data(r io.Reader) error {
	b, err := io.ReadAll(r)
	if err != nil {
		return err
	}
	s.ms.mu.Lock()
	defer s.ms.mu.Unlock()
	if s.ms.dataErr != nil {
		return s.ms.dataErr
	}
	s.ms.mails = append(s.ms.mails, mailRecord{from: s.from, to: s.to, data: b, tls: s.isTLS()})
	return nil
}

func (s *session) Reset()        { s.from, s.to = "", nil }
func (s *session) Logout() error { return nil }

// loginServer is the server side of LOGIN: it asks for the user name,
// then the password.
type loginServer struct {
	check func(user, pass string) error
	user  string
	step  int
}

func (l *loginServer) Next(resp []byte) ([]byte, bool, error) {
	switch l.step {
	case 0:
		l.step = 1
		if resp != nil {
			l.user, l.step = string(resp), 2
			return []byte("Password:"), false, nil
		}
		return []byte("Username:"), false, nil
	case 1:
		l.user, l.step = string(resp), 2
		return []byte("Password:"), false, nil
	default:
		return nil, true, l.check(l.user, string(resp))
	}
}

// selfSigned returns a certificate for 127.0.0.1 and a pool trusting it.
func selfSigned(t *testing.T) (tls.Certificate, *x509.CertPool) {
	t.Helper()
	key, err := ecdsa.GenerateKey(elliptic.P256(), rand.Reader)
	if err != nil {
		t.Fatal(err)
	}
	tmpl := &x509.Certificate{
		SerialNumber: big.NewInt(1), Subject: pkix.Name{CommonName: "upmon test SMTP"},
		NotBefore: time.Now().Add(-time.Hour), NotAfter: time.Now().Add(time.Hour),
		IPAddresses: []net.IP{net.IPv4(127, 0, 0, 1)}, KeyUsage: x509.KeyUsageDigitalSignature,
		ExtKeyUsage: []x509.ExtKeyUsage{x509.ExtKeyUsageServerAuth},
	}
	der, err := x509.CreateCertificate(rand.Reader, tmpl, tmpl, &key.PublicKey, key)
	if err != nil {
		t.Fatal(err)
	}
	leaf, err := x509.ParseCertificate(der)
	if err != nil {
		t.Fatal(err)
	}
	pool := x509.NewCertPool()
	pool.AddCert(leaf)
	return tls.Certificate{Certificate: [][]byte{der}, PrivateKey: key, Leaf: leaf}, pool
}
