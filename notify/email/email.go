// Package email is the email kind of notification channel: a
// multipart/alternative message (plain text and HTML) sent over SMTP with
// implicit TLS, STARTTLS (required, never downgraded) or, for a relay on
// a trusted network, no encryption; PLAIN or LOGIN authentication.
package email

import (
	"net/mail"
	"net/url"
	"strconv"
	"strings"

	shoutrrr "github.com/nicholas-fedor/shoutrrr/pkg/services/email/smtp"

	"upmon/notify"
)

// Name is the kind's name.
const Name = "email"

// The security modes.
const (
	// SecuritySTARTTLS upgrades a plain connection with STARTTLS and
	// refuses to go on when the server does not offer it.
	SecuritySTARTTLS = "starttls"
	// SecurityTLS speaks TLS from the first byte (SMTPS, port 465).
	SecurityTLS = "tls"
	// SecurityNone sends in clear text (a local relay); no password then.
	SecurityNone = "none"
)

// The authentication mechanisms.
const (
	// AuthPlain is SASL PLAIN (RFC 4616).
	AuthPlain = "plain"
	// AuthLogin is the LOGIN mechanism some servers still require.
	AuthLogin = "login"
)

// Settings are an email channel's settings.
type Settings struct {
	// Host is the SMTP server's host name.
	Host string `json:"host"`
	// Port is its port; default 587 (starttls), 465 (tls), 25 (none).
	Port int `json:"port,omitempty"`
	// Security is starttls (default), tls or none.
	Security string `json:"security,omitempty"`
	// Username and Password authenticate (optional; the password is
	// secret).
	Username string `json:"username,omitempty"`
	Password string `json:"password,omitempty"`
	// Auth is the mechanism: plain (default) or login.
	Auth string `json:"auth,omitempty"`
	// From is the sender, "upmon <alerts@example.com>" or a bare address.
	From string `json:"from"`
	// To lists the recipients.
	To []string `json:"to"`
}

// Validate checks the settings and fills the defaults.
func (s *Settings) Validate() error {
	if s.Security == "" {
		s.Security = SecuritySTARTTLS
	}
	if s.Auth == "" {
		s.Auth = AuthPlain
	}
	if err := notify.First(notify.Required("host", s.Host),
		notify.OneOf("security", s.Security, SecuritySTARTTLS, SecurityTLS, SecurityNone),
		notify.OneOf("auth", s.Auth, AuthPlain, AuthLogin)); err != nil {
		return err
	}
	if strings.ContainsAny(s.Host, "/:@ ") {
		return notify.Fieldf("host", "must be a host name or address, without port")
	}
	if s.Port == 0 {
		s.Port = map[string]int{SecuritySTARTTLS: 587, SecurityTLS: 465, SecurityNone: 25}[s.Security]
	}
	if s.Port < 1 || s.Port > 65535 {
		return notify.Fieldf("port", "must be between 1 and 65535")
	}
	if s.Password != "" && s.Username == "" {
		return notify.Fieldf("username", "is required with a password")
	}
	if s.Password != "" && s.Security == SecurityNone {
		return notify.Fieldf("security", "must be tls or starttls when a password is set (it would travel in clear text)")
	}
	if _, err := mail.ParseAddress(s.From); err != nil {
		return notify.Fieldf("from", "is not an email address")
	}
	if len(s.To) == 0 {
		return notify.Fieldf("to", "needs at least one recipient")
	}
	for i, to := range s.To {
		if _, err := mail.ParseAddress(to); err != nil {
			return notify.Fieldf("to["+strconv.Itoa(i)+"]", "is not an email address")
		}
	}
	return nil
}

// Kind returns the email kind.
func Kind() notify.Kind {
	return notify.Define(notify.Spec[*Settings]{
		Name: Name, Title: "Email (SMTP)",
		Secrets:  []notify.Secret{{Name: "password"}},
		Schemes:  []string{"smtp"},
		Defaults: func() *Settings { return &Settings{Security: SecuritySTARTTLS, Auth: AuthPlain} },
		New:      func(s *Settings, env notify.Env) (notify.Channel, error) { return &Channel{s: *s, env: env}, nil },
		FromURL:  FromURL,
	})
}

// FromURL parses smtp://user:password@host:port/?from=…&to=a,b&encryption=…&auth=….
// encryption ImplicitTLS is tls; ExplicitTLS, and Auto off port 465, are
// starttls (required: no silent fallback to clear text); None is none.
// Only Plain (or no) authentication is accepted.
func FromURL(u *url.URL) (*Settings, error) {
	c := shoutrrr.Config{Port: 25, UseStartTLS: true, Encryption: shoutrrr.EncMethods.Auto, Auth: shoutrrr.AuthTypes.Unknown}
	if err := c.SetURL(u); err != nil || c.Host == "" {
		return nil, notify.Fieldf("url", "is not a valid SMTP URL (smtp://user:password@host:port/?from=…&to=…)")
	}
	s := &Settings{Host: c.Host, Port: int(c.Port), Username: c.Username, Password: c.Password, From: c.FromAddress, To: c.ToAddresses, Auth: AuthPlain}
	if c.FromName != "" {
		s.From = (&mail.Address{Name: c.FromName, Address: c.FromAddress}).String()
	}
	switch {
	case c.Encryption == shoutrrr.EncMethods.ImplicitTLS, c.Encryption == shoutrrr.EncMethods.Auto && c.Port == 465:
		s.Security = SecurityTLS
	case c.Encryption == shoutrrr.EncMethods.None && !c.UseStartTLS:
		s.Security = SecurityNone
	default:
		s.Security = SecuritySTARTTLS
	}
	switch c.Auth {
	case shoutrrr.AuthTypes.None:
		s.Username, s.Password = "", ""
	case shoutrrr.AuthTypes.Plain, shoutrrr.AuthTypes.Unknown:
	default:
		return nil, notify.Fieldf("url", "uses an authentication upmon does not offer (plain or none)")
	}
	return s, nil
}
