// Package matrix is the Matrix kind of notification channel: an m.text
// message sent into a room through the client-server API with an access
// token.
package matrix

import (
	"context"
	"crypto/sha256"
	"encoding/hex"
	"encoding/json"
	"fmt"
	"html"
	"net/http"
	"net/url"
	"strings"
	"time"

	shoutrrr "github.com/nicholas-fedor/shoutrrr/pkg/services/chat/matrix"

	"upmon/notify"
)

// Name is the kind's name.
const Name = "matrix"

// Settings are a Matrix channel's settings.
type Settings struct {
	// HomeserverURL is the homeserver's client API base URL.
	HomeserverURL string `json:"homeserver_url"`
	// AccessToken is the sending user's access token (secret).
	AccessToken string `json:"access_token"`
	// RoomID is the room's id, "!opaque:server.example" (the user must
	// have joined it).
	RoomID string `json:"room_id"`
}

// Validate checks the settings.
func (s *Settings) Validate() error {
	if err := notify.First(notify.CheckURL("homeserver_url", s.HomeserverURL, true), notify.Required("access_token", s.AccessToken), notify.Required("room_id", s.RoomID)); err != nil {
		return err
	}
	if !strings.HasPrefix(s.RoomID, "!") || !strings.Contains(s.RoomID, ":") {
		return notify.Fieldf("room_id", "must be a room id like !abc:server.example (not an alias)")
	}
	return nil
}

// Kind returns the Matrix kind.
func Kind() notify.Kind {
	return notify.Define(notify.Spec[*Settings]{
		Name: Name, Title: "Matrix",
		Secrets:  []notify.Secret{{Name: "access_token"}},
		Schemes:  []string{"matrix"},
		Defaults: func() *Settings { return &Settings{} },
		New:      func(s *Settings, env notify.Env) (notify.Channel, error) { return &Channel{s: *s, http: env.HTTP}, nil },
		FromURL:  FromURL,
	})
}

// FromURL parses matrix://:accesstoken@host[:port]?rooms=!room:server[&disableTLS=yes].
// Only the access-token form is accepted (no password login) and one
// room per channel.
func FromURL(u *url.URL) (*Settings, error) {
	var c shoutrrr.Config
	if err := c.SetURL(u); err != nil || c.Host == "" || c.Password == "" {
		return nil, notify.Fieldf("url", "is not a valid Matrix URL (matrix://:token@host?rooms=!room:server)")
	}
	if c.User != "" {
		return nil, notify.Fieldf("url", "must hold an access token (matrix://:token@host), not a user and password")
	}
	if len(c.Rooms) != 1 {
		return nil, notify.Fieldf("url", "must name exactly one room")
	}
	scheme := "https"
	if c.DisableTLS {
		scheme = "http"
	}
	return &Settings{HomeserverURL: scheme + "://" + c.Host, AccessToken: c.Password, RoomID: c.Rooms[0]}, nil
}

// Channel sends into one room.
type Channel struct {
	s    Settings
	http *notify.HTTPClient
}

type event struct {
	MsgType       string `json:"msgtype"`
	Body          string `json:"body"`
	Format        string `json:"format"`
	FormattedBody string `json:"formatted_body"`
}

// TxnID is the transaction id of m: derived from the message, so a retry
// of the same message is deduplicated by the homeserver.
func TxnID(m notify.Message) string {
	b, _ := json.Marshal(m)
	sum := sha256.Sum256(b)
	return "upmon-" + hex.EncodeToString(sum[:12])
}

// Send sends m with PUT /_matrix/client/v3/rooms/{room}/send/m.room.message/{txnId}.
func (c *Channel) Send(ctx context.Context, m notify.Message) error {
	lines := []string{"<b>" + html.EscapeString(notify.Subject(m)) + "</b>"}
	for _, d := range notify.Details(m) {
		lines = append(lines, html.EscapeString(d))
	}
	body, err := json.Marshal(event{MsgType: "m.text", Body: notify.Text(m), Format: "org.matrix.custom.html", FormattedBody: strings.Join(lines, "<br>")})
	if err != nil {
		return notify.Permanent(err)
	}
	path := fmt.Sprintf("_matrix/client/v3/rooms/%s/send/m.room.message/%s", url.PathEscape(c.s.RoomID), TxnID(m))
	_, err = c.http.Do(ctx, Name, notify.Request{
		Method: http.MethodPut, URL: notify.JoinURL(c.s.HomeserverURL, path), Body: body,
		Header: http.Header{"Authorization": {"Bearer " + c.s.AccessToken}}, Secrets: []string{c.s.AccessToken},
		RetryAfterFromBody: retryAfterBody,
	})
	return err
}

// retryAfterBody reads M_LIMIT_EXCEEDED's retry_after_ms.
func retryAfterBody(b []byte) (time.Duration, bool) {
	var v struct {
		RetryAfterMS int64 `json:"retry_after_ms"`
	}
	if json.Unmarshal(b, &v) != nil || v.RetryAfterMS <= 0 {
		return 0, false
	}
	return time.Duration(v.RetryAfterMS) * time.Millisecond, true
}
