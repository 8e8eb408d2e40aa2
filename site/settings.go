package site

import (
	"encoding/json"
	"fmt"
	"net/http"
	"regexp"
	"strconv"
	"strings"
	"time"
	"unicode"
	"unicode/utf8"

	"upmon/platform/api"
)

// Check kinds.
const (
	KindHTTP = "http"
	KindTCP  = "tcp"
	KindDNS  = "dns"
	KindPush = "push"
	// KindICMP is an ICMP echo (ping) check of icmp:host.
	KindICMP = "icmp"
	// KindGRPC is a grpc.health.v1 check of grpc:// or grpcs://host:port.
	KindGRPC = "grpc"
	// KindWebSocket is a WebSocket handshake check of ws:// or wss://.
	KindWebSocket = "websocket"
)

// MaxWSSendBytes is the longest ws_send message.
const MaxWSSendBytes = 16 << 10

// Duration is a time.Duration that travels as a Go duration string
// ("30s", "2m").
type Duration time.Duration

// D returns d as a time.Duration.
func (d Duration) D() time.Duration { return time.Duration(d) }

// String formats d compactly: "1h", "5m", "30s", "1m30s", "1.5s".
func (d Duration) String() string {
	t := time.Duration(d)
	switch {
	case t == 0:
		return "0s"
	case t%time.Hour == 0:
		return strconv.FormatInt(int64(t/time.Hour), 10) + "h"
	case t%time.Minute == 0 && t < time.Hour:
		return strconv.FormatInt(int64(t/time.Minute), 10) + "m"
	}
	s := t.String()
	s = strings.Replace(s, "m0s", "m", 1)
	return strings.Replace(s, "h0m", "h", 1)
}

// MarshalJSON encodes d as a duration string.
func (d Duration) MarshalJSON() ([]byte, error) { return json.Marshal(d.String()) }

// OpenAPISchema describes d as the API encodes it (see MarshalJSON), for
// the generated OpenAPI document.
func (Duration) OpenAPISchema() map[string]any {
	return map[string]any{"type": "string", "description": "a duration such as \"30s\", \"5m\" or \"1h\"",
		"examples": []any{"30s", "5m", "1h"}}
}

// UnmarshalJSON decodes a duration string.
func (d *Duration) UnmarshalJSON(b []byte) error {
	var s string
	if err := json.Unmarshal(b, &s); err != nil {
		return fmt.Errorf("must be a duration string such as \"30s\"")
	}
	v, err := time.ParseDuration(s)
	if err != nil {
		return fmt.Errorf("must be a duration string such as \"30s\", not %q", truncate(s, 40))
	}
	*d = Duration(v)
	return nil
}

// Assertion is one json_path check on a response body.
type Assertion struct {
	// Path is a $.a.b[0] style path.
	Path string `json:"path"`
	// Op is ==, !=, <, <=, >, >=, contains or exists.
	Op string `json:"op"`
	// Value is what the found value is compared with (absent for exists).
	Value json.RawMessage `json:"value,omitempty"`
}

// Settings are a site's per-site options. Zero values mean the defaults
// (see Defaults); the API answers them filled in.
type Settings struct {
	// Interval is the time between checks.
	Interval Duration `json:"interval"`
	// Timeout bounds one check attempt.
	Timeout Duration `json:"timeout"`
	// Method is GET, HEAD or POST (HTTP checks).
	Method string `json:"method"`
	// Headers are sent with each HTTP request.
	Headers map[string]string `json:"headers"`
	// Body is sent with POST requests.
	Body string `json:"body"`
	// ExpectedStatus lists the codes or ranges that count as up.
	ExpectedStatus []string `json:"expected_status"`
	// FollowRedirects makes HTTP checks follow up to 10 redirects.
	FollowRedirects *bool `json:"follow_redirects"`
	// Keyword must (or must not) appear in the body.
	Keyword string `json:"keyword"`
	// KeywordMode is "contains" or "absent".
	KeywordMode string `json:"keyword_mode"`
	// JSONPath are assertions on a JSON body.
	JSONPath []Assertion `json:"json_path"`
	// MaxLatency marks slower answers degraded; 0 disables.
	MaxLatency Duration `json:"max_latency"`
	// FailureThreshold is how many consecutive failures mark it down (or
	// slow answers mark it degraded).
	FailureThreshold int `json:"failure_threshold"`
	// SuccessThreshold is how many consecutive successes bring it back.
	SuccessThreshold int `json:"success_threshold"`
	// Retries are extra attempts within one check, a short delay apart.
	Retries int `json:"retries"`
	// Paused sites are never checked.
	Paused bool `json:"paused"`
	// Tags group sites (maintenance windows may target tags).
	Tags []string `json:"tags"`
	// Grace is the extra time a push monitor waits for a push.
	Grace Duration `json:"grace"`
	// ReuseConnections keeps connections to the site open between checks
	// (cheaper); off, every check opens a fresh connection, so DNS, TCP
	// and TLS are tested each time.
	ReuseConnections bool `json:"reuse_connections"`
	// WSSend is a text message a websocket check sends after the
	// handshake; the keyword is then looked for in the first reply.
	WSSend string `json:"ws_send"`
	// Channels are the ids of the notification channels the site's
	// events go to; empty: the default channels (and channels whose tags
	// match the site's).
	Channels []int64 `json:"channels"`
}

// Defaults are the values zero settings take.
type Defaults struct {
	// Interval is the global check interval.
	Interval time.Duration
	// Timeout is the global ping timeout.
	Timeout time.Duration
}

// Filled returns s with every default filled in.
func (s Settings) Filled(d Defaults) Settings {
	if s.Interval == 0 {
		s.Interval = Duration(d.Interval)
	}
	if s.Timeout == 0 {
		s.Timeout = Duration(d.Timeout)
	}
	if s.Method == "" {
		s.Method = http.MethodGet
	}
	if s.Headers == nil {
		s.Headers = map[string]string{}
	}
	if len(s.ExpectedStatus) == 0 {
		s.ExpectedStatus = []string{"200-399"}
	}
	if s.FollowRedirects == nil {
		t := true
		s.FollowRedirects = &t
	}
	if s.KeywordMode == "" {
		s.KeywordMode = "contains"
	}
	if s.JSONPath == nil {
		s.JSONPath = []Assertion{}
	}
	if s.FailureThreshold == 0 {
		s.FailureThreshold = 1
	}
	if s.SuccessThreshold == 0 {
		s.SuccessThreshold = 1
	}
	if s.Tags == nil {
		s.Tags = []string{}
	}
	if s.Channels == nil {
		s.Channels = []int64{}
	}
	return s
}

var (
	tagRE        = regexp.MustCompile(`^[A-Za-z0-9][A-Za-z0-9_.:-]{0,49}$`)
	headerNameRE = regexp.MustCompile("^[!#$%&'*+.^_`|~0-9A-Za-z-]{1,128}$")
	statusRE     = regexp.MustCompile(`^([1-5][0-9][0-9])(?:-([1-5][0-9][0-9]))?$`)
)

// Validate checks every setting and names the offending field.
func (s *Settings) Validate() error {
	const maxDur = 24 * time.Hour
	if s.Interval != 0 && (s.Interval.D() < time.Second || s.Interval.D() > maxDur) {
		return api.FieldError("interval", "must be between 1s and 24h")
	}
	if s.Timeout != 0 && (s.Timeout.D() < 10*time.Millisecond || s.Timeout.D() > 5*time.Minute) {
		return api.FieldError("timeout", "must be between 10ms and 5m")
	}
	switch s.Method {
	case "", http.MethodGet, http.MethodHead, http.MethodPost:
	default:
		return api.FieldError("method", "must be GET, HEAD or POST")
	}
	if len(s.Headers) > 50 {
		return api.FieldError("headers", "at most 50 headers")
	}
	total := 0
	for k, v := range s.Headers {
		if !headerNameRE.MatchString(k) {
			return api.FieldError("headers", "%q is not a valid header name", truncate(k, 40))
		}
		if !utf8.ValidString(v) || strings.ContainsFunc(v, func(r rune) bool { return r != '\t' && unicode.IsControl(r) }) {
			return api.FieldError("headers."+k, "must not contain control characters")
		}
		if strings.Contains(v, Redacted) {
			return api.FieldError("headers."+k, errHoldsRedacted)
		}
		total += len(k) + len(v)
	}
	if total > 16<<10 {
		return api.FieldError("headers", "at most 16 KiB in all")
	}
	if len(s.Body) > 64<<10 {
		return api.FieldError("body", "at most 64 KiB")
	}
	if strings.Contains(s.Body, Redacted) {
		return api.FieldError("body", errHoldsRedacted)
	}
	if len(s.ExpectedStatus) > 20 {
		return api.FieldError("expected_status", "at most 20 entries")
	}
	for i, e := range s.ExpectedStatus {
		if _, _, ok := ParseStatusRange(e); !ok {
			return api.FieldError(fmt.Sprintf("expected_status[%d]", i), "must be a code such as \"200\" or a range such as \"200-299\" within 100-599")
		}
	}
	if len(s.Keyword) > 1024 {
		return api.FieldError("keyword", "at most 1024 bytes")
	}
	switch s.KeywordMode {
	case "", "contains", "absent":
	default:
		return api.FieldError("keyword_mode", "must be \"contains\" or \"absent\"")
	}
	if len(s.JSONPath) > 20 {
		return api.FieldError("json_path", "at most 20 assertions")
	}
	for i, a := range s.JSONPath {
		if err := a.Validate(); err != nil {
			return api.FieldError(fmt.Sprintf("json_path[%d].%s", i, err.field), "%s", err.msg)
		}
	}
	if s.MaxLatency < 0 || s.MaxLatency.D() > 5*time.Minute {
		return api.FieldError("max_latency", "must be between 0 (off) and 5m")
	}
	if s.FailureThreshold < 0 || s.FailureThreshold > 100 {
		return api.FieldError("failure_threshold", "must be between 1 and 100")
	}
	if s.SuccessThreshold < 0 || s.SuccessThreshold > 100 {
		return api.FieldError("success_threshold", "must be between 1 and 100")
	}
	if s.Retries < 0 || s.Retries > 10 {
		return api.FieldError("retries", "must be between 0 and 10")
	}
	if len(s.Tags) > 20 {
		return api.FieldError("tags", "at most 20 tags")
	}
	for i, t := range s.Tags {
		if !tagRE.MatchString(t) {
			return api.FieldError(fmt.Sprintf("tags[%d]", i), "must be 1-50 letters, digits or _.:- starting with a letter or digit")
		}
	}
	if len(s.Channels) > 50 {
		return api.FieldError("channels", "at most 50 channels")
	}
	for i, c := range s.Channels {
		if c <= 0 {
			return api.FieldError(fmt.Sprintf("channels[%d]", i), "must be a channel id")
		}
	}
	if s.Grace < 0 || s.Grace.D() > maxDur {
		return api.FieldError("grace", "must be between 0 and 24h")
	}
	if len(s.WSSend) > MaxWSSendBytes || !utf8.ValidString(s.WSSend) {
		return api.FieldError("ws_send", "must be valid UTF-8 of at most %d bytes", MaxWSSendBytes)
	}
	if strings.Contains(s.WSSend, Redacted) {
		return api.FieldError("ws_send", errHoldsRedacted)
	}
	return nil
}

// ParseStatusRange parses "200" or "200-299".
func ParseStatusRange(s string) (lo, hi int, ok bool) {
	m := statusRE.FindStringSubmatch(s)
	if m == nil {
		return 0, 0, false
	}
	lo, _ = strconv.Atoi(m[1])
	hi = lo
	if m[2] != "" {
		hi, _ = strconv.Atoi(m[2])
	}
	return lo, hi, lo <= hi
}

type assertionError struct{ field, msg string }

// Validate checks one assertion.
func (a Assertion) Validate() *assertionError {
	if _, err := ParsePath(a.Path); err != nil {
		return &assertionError{"path", err.Error()}
	}
	switch a.Op {
	case "==", "!=", "<", "<=", ">", ">=", "contains":
		if len(a.Value) == 0 {
			return &assertionError{"value", "is required for op " + a.Op}
		}
		var v any
		if err := json.Unmarshal(a.Value, &v); err != nil {
			return &assertionError{"value", "must be a JSON value"}
		}
		switch v.(type) {
		case map[string]any, []any:
			return &assertionError{"value", "must be a string, number, boolean or null"}
		}
		if len(a.Value) > 1024 {
			return &assertionError{"value", "at most 1024 bytes"}
		}
	case "exists":
	default:
		return &assertionError{"op", "must be one of ==, !=, <, <=, >, >=, contains, exists"}
	}
	return nil
}

func truncate(s string, n int) string {
	if len(s) <= n {
		return s
	}
	return s[:n] + "…"
}
