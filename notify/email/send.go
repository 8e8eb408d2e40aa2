package email

import (
	"bytes"
	"context"
	"crypto/tls"
	"errors"
	"fmt"
	"net"
	"strconv"
	"strings"
	"time"

	"github.com/emersion/go-sasl"
	"github.com/emersion/go-smtp"

	"upmon/notify"
)

// dialTimeout bounds a delivery when the context has no deadline.
const dialTimeout = 30 * time.Second

// Channel sends to one list of recipients.
type Channel struct {
	s   Settings
	env notify.Env
}

// Send delivers m. SMTP 4xx answers and network failures are retryable,
// 5xx answers (a refused login, an unknown mailbox) permanent. A server
// that does not offer STARTTLS when it is required is refused
// (permanent): the message is never sent in clear text.
func (c *Channel) Send(ctx context.Context, m notify.Message) error {
	from, to, err := envelope(c.s)
	if err != nil {
		return notify.Permanent(fmt.Errorf("%s: %w", Name, err))
	}
	msg, err := Build(c.s, m, c.env.Now(), c.env.Hostname)
	if err != nil {
		return notify.Permanent(fmt.Errorf("%s: %w", Name, err))
	}
	cl, stop, err := c.dial(ctx)
	if err != nil {
		return err
	}
	defer stop()
	defer cl.Close()
	if err := c.deliver(cl, from, to, msg); err != nil {
		return c.classify(err)
	}
	_ = cl.Quit()
	return nil
}

func (c *Channel) tlsConfig() *tls.Config {
	cfg := &tls.Config{MinVersion: tls.VersionTLS12}
	if c.env.TLS != nil {
		cfg = c.env.TLS.Clone()
	}
	cfg.ServerName = c.s.Host
	return cfg
}

// dial connects and secures the connection as the settings say.
func (c *Channel) dial(ctx context.Context) (*smtp.Client, func() bool, error) {
	deadline, ok := ctx.Deadline()
	if !ok {
		deadline = time.Now().Add(dialTimeout)
	}
	d := net.Dialer{Deadline: deadline}
	conn, err := d.DialContext(ctx, "tcp", net.JoinHostPort(c.s.Host, strconv.Itoa(c.s.Port)))
	if err != nil {
		return nil, nil, notify.Retryable(fmt.Errorf("%s: connect failed: %s", Name, notify.NetReason(err)), 0)
	}
	_ = conn.SetDeadline(deadline)
	// Closing the connection when ctx ends unblocks any SMTP exchange.
	stop := context.AfterFunc(ctx, func() { conn.Close() })
	var cl *smtp.Client
	switch c.s.Security {
	case SecurityTLS:
		tc := tls.Client(conn, c.tlsConfig())
		if err := tc.HandshakeContext(ctx); err != nil {
			stop()
			conn.Close()
			return nil, nil, c.classify(err)
		}
		cl = smtp.NewClient(tc)
	case SecuritySTARTTLS:
		cl, err = smtp.NewClientStartTLS(conn, c.tlsConfig())
		if err != nil {
			stop()
			conn.Close()
			if strings.Contains(err.Error(), "doesn't support STARTTLS") {
				return nil, nil, notify.Permanent(fmt.Errorf("%s: the server does not offer STARTTLS", Name))
			}
			return nil, nil, c.classify(err)
		}
	default:
		cl = smtp.NewClient(conn)
	}
	return cl, stop, nil
}

func (c *Channel) deliver(cl *smtp.Client, from string, to []string, msg []byte) error {
	if err := cl.Hello(c.env.Hostname); err != nil {
		return err
	}
	if c.s.Username != "" {
		var a sasl.Client = sasl.NewPlainClient("", c.s.Username, c.s.Password)
		if c.s.Auth == AuthLogin {
			a = &loginClient{user: c.s.Username, pass: c.s.Password}
		}
		if err := cl.Auth(a); err != nil {
			return err
		}
	}
	return cl.SendMail(from, to, bytes.NewReader(msg))
}

// classify maps an SMTP exchange error to a typed error whose text holds
// neither the password nor the username.
func (c *Channel) classify(err error) error {
	var se *smtp.SMTPError
	if errors.As(err, &se) {
		e := fmt.Errorf("%s: SMTP %d: %s", Name, se.Code, notify.Excerpt([]byte(se.Message), 200, c.s.Password, c.s.Username))
		if se.Code >= 500 {
			return notify.Permanent(e)
		}
		return notify.Retryable(e, 0)
	}
	return notify.Retryable(fmt.Errorf("%s: %s", Name, notify.NetReason(err)), 0)
}

// loginClient is the LOGIN mechanism, answering a "Username:" challenge
// as well as servers that take the user name as initial response do not
// send one (go-sasl's client supports only the latter).
type loginClient struct{ user, pass string }

func (a *loginClient) Start() (string, []byte, error) { return "LOGIN", nil, nil }

func (a *loginClient) Next(challenge []byte) ([]byte, error) {
	switch strings.ToLower(strings.TrimSpace(string(challenge))) {
	case "username:":
		return []byte(a.user), nil
	case "password:":
		return []byte(a.pass), nil
	}
	return nil, errors.New("unexpected LOGIN challenge")
}
