// Package telegram is the Telegram kind of notification channel: a
// message sent by a bot through the Bot API's sendMessage method.
package telegram

import (
	"context"
	"encoding/json"
	"html"
	"net/url"
	"regexp"
	"strings"
	"time"

	shoutrrr "github.com/nicholas-fedor/shoutrrr/pkg/services/chat/telegram"

	"upmon/notify"
)

// Name is the kind's name.
const Name = "telegram"

// DefaultAPIURL is the Bot API's base URL.
const DefaultAPIURL = "https://api.telegram.org"

// Settings are a Telegram channel's settings.
type Settings struct {
	// BotToken is the token @BotFather gave, "123456:ABC-…" (secret).
	BotToken string `json:"bot_token"`
	// ChatID is the chat: a numeric id, or "@channelusername".
	ChatID string `json:"chat_id"`
	// MessageThreadID posts into a forum topic (optional).
	MessageThreadID int64 `json:"message_thread_id,omitempty"`
	// DisableNotification sends silently.
	DisableNotification bool `json:"disable_notification,omitempty"`
	// APIURL is the Bot API's base URL (a local Bot API server); default
	// DefaultAPIURL.
	APIURL string `json:"api_url,omitempty"`
}

var tokenRE = regexp.MustCompile(`^[0-9]+:[A-Za-z0-9_-]+$`)

// Validate checks the settings.
func (s *Settings) Validate() error {
	if s.APIURL == "" {
		s.APIURL = DefaultAPIURL
	}
	if err := notify.Required("bot_token", s.BotToken); err != nil {
		return err
	}
	if !tokenRE.MatchString(s.BotToken) {
		return notify.Fieldf("bot_token", "must look like 123456789:AA… (the token @BotFather gave)")
	}
	return notify.First(notify.Required("chat_id", s.ChatID), notify.CheckURL("api_url", s.APIURL, true))
}

// Kind returns the Telegram kind.
func Kind() notify.Kind {
	return notify.Define(notify.Spec[*Settings]{
		Name: Name, Title: "Telegram",
		Secrets:  []notify.Secret{{Name: "bot_token"}},
		Schemes:  []string{"telegram"},
		Defaults: func() *Settings { return &Settings{APIURL: DefaultAPIURL} },
		New:      func(s *Settings, env notify.Env) (notify.Channel, error) { return &Channel{s: *s, http: env.HTTP}, nil },
		FromURL:  FromURL,
	})
}

// FromURL parses telegram://token@telegram?chats=chat[&notification=no].
// One chat per channel: a URL naming several is refused.
func FromURL(u *url.URL) (*Settings, error) {
	var c shoutrrr.Config
	if err := c.SetURL(u); err != nil || c.Token == "" {
		return nil, notify.Fieldf("url", "is not a valid Telegram URL (telegram://token@telegram?chats=…)")
	}
	if len(c.Chats) != 1 {
		return nil, notify.Fieldf("url", "must name exactly one chat (one channel per chat)")
	}
	return &Settings{BotToken: c.Token, ChatID: c.Chats[0], DisableNotification: !c.Notification, APIURL: DefaultAPIURL}, nil
}

// Channel sends to one chat.
type Channel struct {
	s    Settings
	http *notify.HTTPClient
}

// maxText is sendMessage's limit, in characters after entity parsing.
const maxText = 4096

// Text is m in Telegram's HTML parse mode, cut to the API's limit (whole
// lines are dropped, so no entity is cut in half).
func Text(m notify.Message) string {
	lines := []string{"<b>" + html.EscapeString(notify.Subject(m)) + "</b>"}
	n := len([]rune(notify.Subject(m)))
	for _, d := range notify.Details(m) {
		n += 1 + len([]rune(d))
		if n > maxText-1 {
			lines = append(lines, "…")
			break
		}
		lines = append(lines, html.EscapeString(d))
	}
	return strings.Join(lines, "\n")
}

type request struct {
	ChatID              string `json:"chat_id"`
	MessageThreadID     int64  `json:"message_thread_id,omitempty"`
	Text                string `json:"text"`
	ParseMode           string `json:"parse_mode"`
	DisableNotification bool   `json:"disable_notification,omitempty"`
	LinkPreviewOptions  struct {
		IsDisabled bool `json:"is_disabled"`
	} `json:"link_preview_options"`
}

// Send sends m with POST /bot<token>/sendMessage. The token is in the
// path: errors never carry the URL.
func (c *Channel) Send(ctx context.Context, m notify.Message) error {
	r := request{ChatID: c.s.ChatID, MessageThreadID: c.s.MessageThreadID, Text: Text(m), ParseMode: "HTML", DisableNotification: c.s.DisableNotification}
	r.LinkPreviewOptions.IsDisabled = true
	body, err := json.Marshal(r)
	if err != nil {
		return notify.Permanent(err)
	}
	_, err = c.http.Do(ctx, Name, notify.Request{
		URL:  notify.JoinURL(c.s.APIURL, "bot"+c.s.BotToken+"/sendMessage"),
		Body: body, Secrets: []string{c.s.BotToken}, RetryAfterFromBody: retryAfterBody,
	})
	return err
}

// retryAfterBody reads {"parameters":{"retry_after":seconds}}.
func retryAfterBody(b []byte) (time.Duration, bool) {
	var v struct {
		Parameters struct {
			RetryAfter int64 `json:"retry_after"`
		} `json:"parameters"`
	}
	if json.Unmarshal(b, &v) != nil || v.Parameters.RetryAfter <= 0 {
		return 0, false
	}
	return time.Duration(v.Parameters.RetryAfter) * time.Second, true
}
