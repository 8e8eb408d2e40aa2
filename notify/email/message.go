package email

import (
	"bytes"
	"crypto/sha256"
	"encoding/hex"
	"encoding/json"
	"fmt"
	"html/template"
	"mime"
	"mime/multipart"
	"mime/quotedprintable"
	"net/mail"
	"net/textproto"
	"strings"
	"time"

	"upmon/notify"
)

var htmlBody = template.Must(template.New("email").Parse(`<!DOCTYPE html>
<html><body style="font-family: sans-serif">
<h2 style="color: {{.Color}}">{{.Subject}}</h2>
<p>{{range $i, $l := .Lines}}{{if $i}}<br>{{end}}{{$l}}{{end}}</p>
{{if .Link}}<p><a href="{{.Link}}">Open the incident</a></p>{{end}}
<p style="color: #888; font-size: small">Sent by upmon.</p>
</body></html>
`))

// Build returns the RFC 5322 message of m: headers, then a
// multipart/alternative body with a text/plain and a text/html part, both
// quoted-printable UTF-8.
func Build(s Settings, m notify.Message, now time.Time, hostname string) ([]byte, error) {
	var buf bytes.Buffer
	mw := multipart.NewWriter(&buf)
	subject := notify.Subject(m)
	h := []string{
		"From: " + s.From,
		"To: " + strings.Join(s.To, ", "),
		"Subject: " + mime.QEncoding.Encode("utf-8", subject),
		"Date: " + now.UTC().Format(time.RFC1123Z),
		"Message-ID: <" + messageID(m) + "@" + hostname + ">",
		"MIME-Version: 1.0",
		"Content-Type: multipart/alternative; boundary=" + mw.Boundary(),
		"X-Upmon-Event: " + string(m.Event),
	}
	if len(m.Group) > 0 {
		h[len(h)-1] = "X-Upmon-Event: group"
	}
	var out bytes.Buffer
	out.WriteString(strings.Join(h, "\r\n") + "\r\n\r\n")
	if err := part(mw, "text/plain; charset=utf-8", notify.Text(m)); err != nil {
		return nil, err
	}
	color := map[string]string{"critical": "#c0392b", "warning": "#b9770e", "ok": "#1e8449"}[notify.Severity(m)]
	var html bytes.Buffer
	if err := htmlBody.Execute(&html, struct {
		Subject, Color, Link string
		Lines                []string
	}{subject, color, m.IncidentLink, notify.Details(m)}); err != nil {
		return nil, err
	}
	if err := part(mw, "text/html; charset=utf-8", html.String()); err != nil {
		return nil, err
	}
	if err := mw.Close(); err != nil {
		return nil, err
	}
	out.Write(buf.Bytes())
	return out.Bytes(), nil
}

func part(mw *multipart.Writer, contentType, body string) error {
	w, err := mw.CreatePart(textproto.MIMEHeader{
		"Content-Type":              {contentType},
		"Content-Transfer-Encoding": {"quoted-printable"},
	})
	if err != nil {
		return err
	}
	qp := quotedprintable.NewWriter(w)
	if _, err := qp.Write([]byte(strings.ReplaceAll(body, "\n", "\r\n"))); err != nil {
		return err
	}
	return qp.Close()
}

// messageID derives the Message-ID from the message, so a retry of one
// message carries the same id.
func messageID(m notify.Message) string {
	b, _ := json.Marshal(m)
	sum := sha256.Sum256(b)
	return "upmon." + hex.EncodeToString(sum[:12])
}

// envelope returns the bare addresses of the sender and the recipients.
func envelope(s Settings) (string, []string, error) {
	from, err := mail.ParseAddress(s.From)
	if err != nil {
		return "", nil, fmt.Errorf("from: %w", err)
	}
	to := make([]string, 0, len(s.To))
	for _, t := range s.To {
		a, err := mail.ParseAddress(t)
		if err != nil {
			return "", nil, fmt.Errorf("to: %w", err)
		}
		to = append(to, a.Address)
	}
	return from.Address, to, nil
}
