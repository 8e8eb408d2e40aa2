// Package webhook is the generic webhook kind of notification channel: a
// documented JSON document (schema version 1, see docs/notifications.md)
// sent to any URL, with custom headers and an optional HMAC-SHA256
// signature a receiver verifies with Verify.
package webhook

import (
	"context"
	"crypto/sha256"
	"encoding/hex"
	"encoding/json"
	"net/http"
	"net/url"
	"regexp"
	"sort"
	"strings"
	"time"

	shoutrrr "github.com/nicholas-fedor/shoutrrr/pkg/services/specialized/generic"

	"upmon/notify"
)

// Name is the kind's name.
const Name = "webhook"

// The headers upmon sets on every delivery.
const (
	// HeaderEvent carries the event ("down", "up", …; "group" for a
	// grouped message).
	HeaderEvent = "X-Upmon-Event"
	// HeaderDelivery carries the delivery id, the same on every retry of
	// one message, for receivers to deduplicate.
	HeaderDelivery = "X-Upmon-Delivery"
	// HeaderTimestamp carries the signing time in Unix seconds.
	HeaderTimestamp = "X-Upmon-Timestamp"
	// HeaderSignature carries "sha256=" and the hex HMAC-SHA256 of
	// timestamp + "." + body, keyed with the channel's secret.
	HeaderSignature = "X-Upmon-Signature"
)

// Settings are a webhook channel's settings.
type Settings struct {
	// URL receives the deliveries (secret: it often holds a token).
	URL string `json:"url"`
	// Method is POST (default) or PUT.
	Method string `json:"method,omitempty"`
	// Headers are added to every delivery (secret: they often hold
	// credentials). They cannot replace Content-Type, User-Agent or the
	// X-Upmon-* headers.
	Headers map[string]string `json:"headers,omitempty"`
	// Secret, when set, signs every delivery (secret).
	Secret string `json:"secret,omitempty"`
}

var headerName = regexp.MustCompile("^[A-Za-z0-9!#$%&'*+.^_`|~-]+$")

// Validate checks the settings.
func (s *Settings) Validate() error {
	if s.Method == "" {
		s.Method = http.MethodPost
	}
	if err := notify.CheckURL("url", s.URL, true); err != nil {
		return err
	}
	if err := notify.OneOf("method", s.Method, http.MethodPost, http.MethodPut); err != nil {
		return err
	}
	names := make([]string, 0, len(s.Headers))
	for k := range s.Headers {
		names = append(names, k)
	}
	sort.Strings(names)
	for _, k := range names {
		field := "headers." + k
		switch canon := http.CanonicalHeaderKey(k); {
		case !headerName.MatchString(k):
			return notify.Fieldf("headers", "has an invalid header name")
		case canon == "Content-Type" || canon == "User-Agent" || canon == "Host" || canon == "Content-Length" || strings.HasPrefix(canon, "X-Upmon-"):
			return notify.Fieldf(field, "is set by upmon")
		case strings.ContainsAny(s.Headers[k], "\r\n"):
			return notify.Fieldf(field, "must be a single line")
		}
	}
	return nil
}

// Kind returns the webhook kind.
func Kind() notify.Kind {
	return notify.Define(notify.Spec[*Settings]{
		Name: Name, Title: "Webhook",
		Secrets:  []notify.Secret{{Name: "url", Form: notify.SecretURL}, {Name: "headers", Form: notify.SecretMap}, {Name: "secret"}},
		Schemes:  []string{"generic"},
		Defaults: func() *Settings { return &Settings{Method: http.MethodPost} },
		New: func(s *Settings, env notify.Env) (notify.Channel, error) {
			return &Channel{s: *s, http: env.HTTP, now: env.Now}, nil
		},
		FromURL: FromURL,
	})
}

// FromURL parses generic://host/path[?@Header=value&disabletls=yes&method=PUT]:
// the target is https://host/path (http with disabletls=yes), each
// @-prefixed query key a header. shoutrrr's payload options (template,
// titlekey, messagekey, $extra data) are refused: the body is always the
// documented document.
func FromURL(u *url.URL) (*Settings, error) {
	q := u.Query()
	for k := range q {
		if strings.HasPrefix(k, "$") || k == "template" || k == "titlekey" || k == "messagekey" || k == "contenttype" {
			return nil, notify.Fieldf("url", "uses %q: the webhook body is upmon's documented JSON document", k)
		}
	}
	var c shoutrrr.Config
	if err := c.SetURL(u); err != nil {
		return nil, notify.Fieldf("url", "is not a valid generic webhook URL (generic://host/path)")
	}
	s := &Settings{URL: c.WebhookURL().String(), Method: strings.ToUpper(c.RequestMethod)}
	for k, vs := range q {
		if name, ok := strings.CutPrefix(k, "@"); ok && len(vs) > 0 {
			if s.Headers == nil {
				s.Headers = map[string]string{}
			}
			s.Headers[name] = vs[0]
		}
	}
	return s, nil
}

// Channel delivers to one URL.
type Channel struct {
	s    Settings
	http *notify.HTTPClient
	now  func() time.Time
}

// Send delivers m's document, signed when the channel has a secret.
func (c *Channel) Send(ctx context.Context, m notify.Message) error {
	doc := Build(m)
	body, err := json.Marshal(doc)
	if err != nil {
		return notify.Permanent(err)
	}
	h := http.Header{}
	for k, v := range c.s.Headers {
		h.Set(k, v)
	}
	h.Set(HeaderEvent, doc.Event)
	h.Set(HeaderDelivery, doc.ID)
	if c.s.Secret != "" {
		ts, sig := Sign(c.s.Secret, c.now(), body)
		h.Set(HeaderTimestamp, ts)
		h.Set(HeaderSignature, sig)
	}
	secrets := append(notify.URLSecrets(c.s.URL), c.s.Secret)
	for _, v := range c.s.Headers {
		secrets = append(secrets, v)
	}
	_, err = c.http.Do(ctx, Name, notify.Request{Method: c.s.Method, URL: c.s.URL, Header: h, Body: body, Secrets: secrets})
	return err
}

// DeliveryID is the id of m's delivery: derived from the message, so
// every retry of one message carries the same id.
func DeliveryID(m notify.Message) string {
	b, _ := json.Marshal(m)
	sum := sha256.Sum256(b)
	return hex.EncodeToString(sum[:16])
}
