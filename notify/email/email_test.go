package email_test

import (
	"bytes"
	"context"
	"crypto/tls"
	"io"
	"mime"
	"mime/multipart"
	"mime/quotedprintable"
	"net"
	"net/mail"
	"net/url"
	"strings"
	"testing"

	"github.com/emersion/go-smtp"

	"upmon/notify"
	"upmon/notify/email"
	"upmon/notify/notifytest"
)

func settings(ms *mailServer, security string) *email.Settings {
	return &email.Settings{Host: ms.host, Port: ms.port, Security: security, Username: "alerts@example.com", Password: "pa55-SECRET",
		From: "upmon <alerts@example.com>", To: []string{"ops@example.com", "Jane <jane@example.com>"}}
}

func send(t *testing.T, ms *mailServer, s *email.Settings, m notify.Message, trust bool) error {
	t.Helper()
	env := notifytest.Env(0)
	env.Hostname = "upmon.test"
	if trust {
		env.TLS = &tls.Config{RootCAs: ms.pool, MinVersion: tls.VersionTLS12}
	}
	ch, err := email.Kind().New(s, env)
	if err != nil {
		t.Fatal(err)
	}
	return ch.Send(context.Background(), m)
}

// parts returns the decoded parts of a multipart/alternative message by
// content type.
func parts(t *testing.T, data []byte) (*mail.Message, map[string]string) {
	t.Helper()
	msg, err := mail.ReadMessage(bytes.NewReader(data))
	if err != nil {
		t.Fatal(err)
	}
	mt, params, err := mime.ParseMediaType(msg.Header.Get("Content-Type"))
	if err != nil || mt != "multipart/alternative" {
		t.Fatalf("Content-Type %q: %v", msg.Header.Get("Content-Type"), err)
	}
	out := map[string]string{}
	mr := multipart.NewReader(msg.Body, params["boundary"])
	for {
		p, err := mr.NextRawPart()
		if err == io.EOF {
			break
		}
		if err != nil {
			t.Fatal(err)
		}
		if p.Header.Get("Content-Transfer-Encoding") != "quoted-printable" {
			t.Errorf("part %q is not quoted-printable", p.Header.Get("Content-Type"))
		}
		b, err := io.ReadAll(quotedprintable.NewReader(p))
		if err != nil {
			t.Fatal(err)
		}
		out[p.Header.Get("Content-Type")] = string(b)
	}
	return msg, out
}

func TestSTARTTLSWithPlainAuth(t *testing.T) {
	ms := newMailServer(t, modeSTARTTLS)
	m := notifytest.DownMessage()
	m.Reason = "HTTP 503 <script>alert(1)</script>"
	m.SiteName = "Café"
	if err := send(t, ms, settings(ms, email.SecuritySTARTTLS), m, true); err != nil {
		t.Fatal(err)
	}
	auths, mails := ms.snapshot()
	if len(auths) != 1 || auths[0] != (authRecord{mech: "PLAIN", user: "alerts@example.com", pass: "pa55-SECRET", tls: true}) {
		t.Errorf("auth %+v, want PLAIN over TLS", auths)
	}
	if len(mails) != 1 {
		t.Fatalf("%d mails received", len(mails))
	}
	got := mails[0]
	if !got.tls || got.from != "alerts@example.com" || strings.Join(got.to, ",") != "ops@example.com,jane@example.com" {
		t.Errorf("envelope %+v", got)
	}
	msg, ps := parts(t, got.data)
	subject, _ := new(mime.WordDecoder).DecodeHeader(msg.Header.Get("Subject"))
	if subject != "Café is down" || msg.Header.Get("From") != "upmon <alerts@example.com>" || msg.Header.Get("To") != "ops@example.com, Jane <jane@example.com>" ||
		!strings.HasSuffix(msg.Header.Get("Message-Id"), "@upmon.test>") || msg.Header.Get("Mime-Version") != "1.0" {
		t.Errorf("headers %v (subject %q)", msg.Header, subject)
	}
	if date, err := msg.Header.Date(); err != nil || !date.Equal(notifytest.Now()) {
		t.Errorf("Date %v, %v", date, err)
	}
	if len(ps) != 2 {
		t.Fatalf("parts %v", ps)
	}
	if text := ps["text/plain; charset=utf-8"]; text != strings.ReplaceAll(notify.Text(m), "\n", "\r\n") {
		t.Errorf("text part %q", text)
	}
	html := ps["text/html; charset=utf-8"]
	for _, want := range []string{"<h2", "Café is down", "&lt;script&gt;", `<a href="https://upmon.example.com/incidents/42">`} {
		if !strings.Contains(html, want) {
			t.Errorf("html part lacks %q:\n%s", want, html)
		}
	}
	if strings.Contains(html, "<script>") {
		t.Errorf("html part holds the raw reason:\n%s", html)
	}
}

func TestImplicitTLSWithLoginAuth(t *testing.T) {
	ms := newMailServer(t, modeImplicitTLS)
	s := settings(ms, email.SecurityTLS)
	s.Auth = email.AuthLogin
	if err := send(t, ms, s, notifytest.DownMessage(), true); err != nil {
		t.Fatal(err)
	}
	auths, mails := ms.snapshot()
	if len(auths) != 1 || auths[0] != (authRecord{mech: "LOGIN", user: "alerts@example.com", pass: "pa55-SECRET", tls: true}) {
		t.Errorf("auth %+v, want LOGIN over TLS", auths)
	}
	if len(mails) != 1 || !mails[0].tls {
		t.Errorf("mails %+v", mails)
	}
}

func TestNoEncryptionWithoutAuth(t *testing.T) {
	ms := newMailServer(t, modePlain)
	s := settings(ms, email.SecurityNone)
	s.Username, s.Password = "", ""
	if err := send(t, ms, s, notifytest.DownMessage(), false); err != nil {
		t.Fatal(err)
	}
	if auths, mails := ms.snapshot(); len(auths) != 0 || len(mails) != 1 || mails[0].tls {
		t.Errorf("auths %+v mails %d", auths, len(mails))
	}
}

func TestNeverDowngradesWithoutSTARTTLS(t *testing.T) {
	ms := newMailServer(t, modePlain)
	err := send(t, ms, settings(ms, email.SecuritySTARTTLS), notifytest.DownMessage(), true)
	if !notify.IsPermanent(err) || !strings.Contains(err.Error(), "STARTTLS") {
		t.Errorf("err %v, want a permanent STARTTLS error", err)
	}
	if auths, mails := ms.snapshot(); len(auths) != 0 || len(mails) != 0 {
		t.Errorf("sent in clear text: auths %+v mails %d", auths, len(mails))
	}
}

func TestUntrustedCertificate(t *testing.T) {
	for _, mode := range []serverMode{modeSTARTTLS, modeImplicitTLS} {
		ms := newMailServer(t, mode)
		sec := map[serverMode]string{modeSTARTTLS: email.SecuritySTARTTLS, modeImplicitTLS: email.SecurityTLS}[mode]
		err := send(t, ms, settings(ms, sec), notifytest.DownMessage(), false)
		if err == nil {
			t.Errorf("%s: sent to an untrusted server", sec)
		}
		notifytest.NoSecrets(t, err, []string{"pa55-SECRET"})
		if auths, mails := ms.snapshot(); len(auths) != 0 || len(mails) != 0 {
			t.Errorf("%s: auths %+v mails %d", sec, auths, len(mails))
		}
	}
}

func TestFailureAnswers(t *testing.T) {
	for _, tc := range []struct {
		name      string
		set       func(*mailServer)
		permanent bool
	}{
		{"auth refused", func(ms *mailServer) {
			ms.authErr = &smtp.SMTPError{Code: 535, EnhancedCode: smtp.EnhancedCode{5, 7, 8}, Message: "Authentication failed for alerts@example.com pa55-SECRET"}
		}, true},
		{"mailbox unknown", func(ms *mailServer) {
			ms.rcptErr = &smtp.SMTPError{Code: 550, EnhancedCode: smtp.EnhancedCode{5, 1, 1}, Message: "No such user"}
		}, true},
		{"try later", func(ms *mailServer) {
			ms.dataErr = &smtp.SMTPError{Code: 451, EnhancedCode: smtp.EnhancedCode{4, 3, 0}, Message: "Try again later"}
		}, false},
	} {
		t.Run(tc.name, func(t *testing.T) {
			ms := newMailServer(t, modeSTARTTLS)
			tc.set(ms)
			err := send(t, ms, settings(ms, email.SecuritySTARTTLS), notifytest.DownMessage(), true)
			if err == nil || notify.IsPermanent(err) != tc.permanent {
				t.Errorf("err %v, want permanent=%v", err, tc.permanent)
			}
			notifytest.NoSecrets(t, err, []string{"pa55-SECRET", "alerts@example.com"})
		})
	}
}

func TestConnectionRefusedIsRetryable(t *testing.T) {
	l, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	port := l.Addr().(*net.TCPAddr).Port
	l.Close()
	ms := &mailServer{host: "127.0.0.1", port: port}
	err = send(t, ms, settings(ms, email.SecurityTLS), notifytest.DownMessage(), false)
	if err == nil || notify.IsPermanent(err) {
		t.Errorf("err %v, want retryable", err)
	}
}

func TestSettings(t *testing.T) {
	base := `"host":"smtp.example.com","from":"a@example.com","to":["b@example.com"]`
	for raw, field := range map[string]string{
		`{"from":"a@example.com","to":["b@example.com"]}`:                "host",
		`{` + base + `,"security":"ssl"}`:                                "security",
		`{` + base + `,"auth":"cram-md5"}`:                               "auth",
		`{` + base + `,"port":70000}`:                                    "port",
		`{` + base + `,"password":"p"}`:                                  "username",
		`{` + base + `,"security":"none","username":"u","password":"p"}`: "security",
		`{"host":"h","from":"nope","to":["b@example.com"]}`:              "from",
		`{"host":"h","from":"a@example.com","to":[]}`:                    "to",
		`{"host":"h","from":"a@example.com","to":["b@x.com","bad"]}`:     "to[1]",
		`{"host":"h:25","from":"a@example.com","to":["b@x.com"]}`:        "host",
	} {
		if _, err := email.Kind().Decode([]byte(raw)); err == nil || !strings.HasPrefix(err.Error(), field+":") {
			t.Errorf("Decode(%s) = %v, want an error naming %s", raw, err, field)
		}
	}
	s, err := email.Kind().Decode([]byte(`{` + base + `,"security":"tls"}`))
	if err != nil || s.(*email.Settings).Port != 465 {
		t.Errorf("tls default port: %+v, %v", s, err)
	}
}

func TestFromURL(t *testing.T) {
	for raw, want := range map[string]email.Settings{
		"smtp://u:p@mail.example.com:587/?from=a@example.com&to=b@example.com,c@example.com": {
			Host: "mail.example.com", Port: 587, Security: email.SecuritySTARTTLS, Auth: email.AuthPlain, Username: "u", Password: "p", From: "a@example.com", To: []string{"b@example.com", "c@example.com"}},
		"smtp://u:p@mail.example.com:465/?from=a@example.com&to=b@example.com": {
			Host: "mail.example.com", Port: 465, Security: email.SecurityTLS, Auth: email.AuthPlain, Username: "u", Password: "p", From: "a@example.com", To: []string{"b@example.com"}},
		"smtp://relay.lan:25/?from=a@example.com&to=b@example.com&encryption=None&usestarttls=no&auth=None": {
			Host: "relay.lan", Port: 25, Security: email.SecurityNone, Auth: email.AuthPlain, From: "a@example.com", To: []string{"b@example.com"}},
	} {
		u, _ := url.Parse(raw)
		s, err := email.FromURL(u)
		if err != nil {
			t.Errorf("FromURL(%s): %v", raw, err)
			continue
		}
		if s.Host != want.Host || s.Port != want.Port || s.Security != want.Security || s.Username != want.Username || s.Password != want.Password ||
			s.From != want.From || strings.Join(s.To, ",") != strings.Join(want.To, ",") {
			t.Errorf("FromURL(%s) = %+v, want %+v", raw, s, want)
		}
	}
}
