package web

import (
	"encoding/json"
	"errors"
	"maps"
	"net/http"
	"slices"
	"strconv"
	"strings"
	"time"

	"upmon/platform/api"
)

// settingsForm is the settings fieldset as a form shows it: the raw
// values typed, an error message per field and the placeholder (the
// default an empty field takes) per field, both keyed by the JSON name.
// A setting the site leaves unset is an empty field.
type settingsForm struct {
	Name, Interval, Timeout, Method, Headers, Body, ExpectedStatus string
	FollowRedirects                                                bool
	Keyword, KeywordMode, JSONPath, MaxLatency                     string
	FailureThreshold, SuccessThreshold, Retries                    string
	Paused                                                         bool
	Tags                                                           string
	// WSSend is shown for websocket sites, and in the add form (Kind "").
	WSSend, Kind string
	// Channels are the ids of the channels the site names, sorted and
	// comma-separated; ChannelChoices, when the server has channels, the
	// channels the form offers.
	Channels       string
	ChannelChoices []channelChoice
	OfferChannels  bool
	Err            map[string]string
	Placeholder    map[string]string
}

// channelChoice is a channel the settings form offers a site.
type channelChoice struct {
	ID      int64
	Name    string
	Checked bool
	// Gone marks a channel the site names that no longer exists.
	Gone bool
}

// methods are the HTTP methods a check may use.
var methods = []string{"GET", "HEAD", "POST"}

// Methods lists the method choices for the template.
func (settingsForm) Methods() []string { return methods }

// blankSettings are the settings of a site that sets none.
var blankSettings = SiteSettings{FollowRedirects: true}

func defaultSettingsForm() settingsForm { return formFromSettings(blankSettings) }

// withPlaceholders returns f with the configured defaults as the
// placeholders of its fields.
func (h *Handler) withPlaceholders(f settingsForm) settingsForm {
	if h.opts.Settings != nil {
		f.Placeholder = placeholders(h.opts.Settings.Defaults())
	}
	return f
}

// placeholders shows the defaults d in the fields they fill.
func placeholders(d SiteSettings) map[string]string {
	p := map[string]string{
		"interval": fmtDur(d.Interval), "timeout": fmtDur(d.Timeout),
		"expected_status": strings.Join(d.ExpectedStatus, ", "), "max_latency": "off",
		"failure_threshold": strconv.Itoa(max(d.FailureThreshold, 1)), "success_threshold": strconv.Itoa(max(d.SuccessThreshold, 1)),
		"retries": strconv.Itoa(d.Retries),
	}
	if d.MaxLatency > 0 {
		p["max_latency"] = fmtDur(d.MaxLatency)
	}
	return p
}

// formFields are the settings a form edits, by JSON name, with their
// value as the form shows it. Checkboxes are "true" or "false".
var formFields = []struct {
	name string
	text func(*settingsForm) string
}{
	{"name", func(f *settingsForm) string { return f.Name }},
	{"tags", func(f *settingsForm) string { return f.Tags }},
	{"method", func(f *settingsForm) string { return f.Method }},
	{"timeout", func(f *settingsForm) string { return f.Timeout }},
	{"headers", func(f *settingsForm) string { return f.Headers }},
	// Browsers post a textarea's line breaks as CRLF: a body whose only
	// difference is that is the same body.
	{"body", func(f *settingsForm) string { return strings.ReplaceAll(f.Body, "\r\n", "\n") }},
	{"follow_redirects", func(f *settingsForm) string { return strconv.FormatBool(f.FollowRedirects) }},
	{"expected_status", func(f *settingsForm) string { return f.ExpectedStatus }},
	{"keyword", func(f *settingsForm) string { return f.Keyword }},
	{"keyword_mode", func(f *settingsForm) string { return f.KeywordMode }},
	{"json_path", func(f *settingsForm) string { return f.JSONPath }},
	{"max_latency", func(f *settingsForm) string { return f.MaxLatency }},
	{"interval", func(f *settingsForm) string { return f.Interval }},
	{"retries", func(f *settingsForm) string { return f.Retries }},
	{"failure_threshold", func(f *settingsForm) string { return f.FailureThreshold }},
	{"success_threshold", func(f *settingsForm) string { return f.SuccessThreshold }},
	{"paused", func(f *settingsForm) string { return strconv.FormatBool(f.Paused) }},
	{"ws_send", func(f *settingsForm) string { return strings.ReplaceAll(f.WSSend, "\r\n", "\n") }},
	{"channels", func(f *settingsForm) string { return f.Channels }},
}

// settingsChange is the change a posted settings form makes to was, the
// settings the form was filled from: the fields whose value differs.
// Both sides are compared as the form shows them (formFromSettings), so
// "60s" for "1m", or the same headers in another order, change nothing. A
// field the request does not carry at all is unchanged (a browser posts
// every field, and a hidden marker before each checkbox makes an
// unchecked box posted too); only scripts leave fields out.
func settingsChange(r *http.Request, was, posted SiteSettings) SettingsChange {
	c := SettingsChange{Settings: posted}
	from, to := formFromSettings(was), formFromSettings(posted)
	for _, f := range formFields {
		if _, sent := r.PostForm[f.name]; sent && f.text(&from) != f.text(&to) {
			c.Fields = append(c.Fields, f.name)
		}
	}
	return c
}

func formFromSettings(s SiteSettings) settingsForm {
	f := settingsForm{
		Name: s.Name, Interval: fmtDur(s.Interval), Timeout: fmtDur(s.Timeout), Method: s.Method,
		Body: s.Body, FollowRedirects: s.FollowRedirects, Keyword: s.Keyword, KeywordMode: s.KeywordMode,
		JSONPath: formatAssertions(s.JSONPath), MaxLatency: fmtDur(s.MaxLatency), Paused: s.Paused,
		Tags: strings.Join(s.Tags, ", "), Err: map[string]string{}, WSSend: s.WSSend, Kind: s.Kind,
		Channels: channelIDsText(s.Channels),
	}
	if f.Method == "" {
		f.Method = "GET"
	}
	if f.KeywordMode == "" {
		f.KeywordMode = "contains"
	}
	var hs []string
	for _, k := range slices.Sorted(maps.Keys(s.Headers)) {
		hs = append(hs, k+": "+s.Headers[k])
	}
	f.Headers = strings.Join(hs, "\n")
	f.ExpectedStatus = strings.Join(s.ExpectedStatus, ", ")
	itoa := func(n int) string {
		if n == 0 {
			return ""
		}
		return strconv.Itoa(n)
	}
	f.FailureThreshold, f.SuccessThreshold, f.Retries = itoa(s.FailureThreshold), itoa(s.SuccessThreshold), itoa(s.Retries)
	return f
}

// parseSettingsForm reads the settings fields of a posted form. Syntax
// errors (a duration or number that does not parse) are reported per
// field here; the site service judges the values.
func parseSettingsForm(r *http.Request) (SiteSettings, settingsForm) {
	v := func(k string) string { return strings.TrimSpace(r.PostFormValue(k)) }
	f := settingsForm{
		Name: v("name"), Interval: v("interval"), Timeout: v("timeout"), Method: strings.ToUpper(v("method")),
		Headers: r.PostFormValue("headers"), Body: r.PostFormValue("body"), ExpectedStatus: v("expected_status"),
		FollowRedirects: checked(r, "follow_redirects"), Keyword: r.PostFormValue("keyword"),
		KeywordMode: v("keyword_mode"), JSONPath: r.PostFormValue("json_path"), MaxLatency: v("max_latency"),
		FailureThreshold: v("failure_threshold"), SuccessThreshold: v("success_threshold"), Retries: v("retries"),
		Paused: checked(r, "paused"), Tags: v("tags"), Err: map[string]string{},
		WSSend: strings.ReplaceAll(r.PostFormValue("ws_send"), "\r\n", "\n"),
	}
	s := SiteSettings{
		Name: f.Name, Method: f.Method, Body: f.Body, FollowRedirects: f.FollowRedirects,
		Keyword: f.Keyword, KeywordMode: f.KeywordMode, Paused: f.Paused, WSSend: f.WSSend,
	}
	dur := func(field, raw string) time.Duration {
		if raw == "" {
			return 0
		}
		d, err := time.ParseDuration(raw)
		if err != nil || d < 0 {
			f.Err[field] = "must be a duration such as 30s or 5m"
		}
		return d
	}
	count := func(field, raw string) int {
		if raw == "" {
			return 0
		}
		n, err := strconv.Atoi(raw)
		if err != nil || n < 0 {
			f.Err[field] = "must be a whole number, 0 or more"
		}
		return n
	}
	s.Interval = dur("interval", f.Interval)
	s.Timeout = dur("timeout", f.Timeout)
	s.MaxLatency = dur("max_latency", f.MaxLatency)
	s.FailureThreshold = count("failure_threshold", f.FailureThreshold)
	s.SuccessThreshold = count("success_threshold", f.SuccessThreshold)
	s.Retries = count("retries", f.Retries)
	// A zero typed where the range excludes it would be sent as "unset"
	// and silently become the default: refuse it, as the API does.
	for field, zero := range map[string]bool{
		"interval": f.Interval != "" && s.Interval == 0, "timeout": f.Timeout != "" && s.Timeout == 0,
		"failure_threshold": f.FailureThreshold != "" && s.FailureThreshold == 0,
		"success_threshold": f.SuccessThreshold != "" && s.SuccessThreshold == 0,
	} {
		if zero && f.Err[field] == "" {
			f.Err[field] = "must not be 0; leave it empty for the default"
		}
	}
	for line := range strings.Lines(f.Headers) {
		line = strings.TrimSpace(line)
		if line == "" {
			continue
		}
		k, val, ok := strings.Cut(line, ":")
		if !ok || strings.TrimSpace(k) == "" {
			f.Err["headers"] = "one header per line, as Name: value"
			break
		}
		if s.Headers == nil {
			s.Headers = map[string]string{}
		}
		s.Headers[strings.TrimSpace(k)] = strings.TrimSpace(val)
	}
	for c := range strings.FieldsFuncSeq(f.ExpectedStatus, func(r rune) bool { return r == ',' || r == ' ' }) {
		s.ExpectedStatus = append(s.ExpectedStatus, c)
	}
	for _, raw := range r.PostForm["channels"] {
		if raw == "" {
			continue // the marker that makes no box ticked posted too
		}
		id, err := strconv.ParseInt(raw, 10, 64)
		if err != nil || id <= 0 {
			f.Err["channels"] = "must be channel ids"
			break
		}
		s.Channels = append(s.Channels, id)
	}
	f.Channels = channelIDsText(s.Channels)
	var err error
	if s.JSONPath, err = parseAssertions(f.JSONPath); err != nil {
		f.Err["json_path"] = err.Error()
	}
	for t := range strings.SplitSeq(f.Tags, ",") {
		if t = strings.TrimSpace(t); t != "" {
			s.Tags = append(s.Tags, t)
		}
	}
	return s, f
}

// channelIDsText writes channel ids sorted, comma-separated, each once.
func channelIDsText(ids []int64) string {
	sorted := slices.Compact(slices.Sorted(slices.Values(ids)))
	parts := make([]string, len(sorted))
	for i, id := range sorted {
		parts[i] = strconv.FormatInt(id, 10)
	}
	return strings.Join(parts, ",")
}

// checked reports whether a checkbox was ticked: posted with a value
// other than the empty one of its hidden marker.
func checked(r *http.Request, name string) bool {
	return slices.ContainsFunc(r.PostForm[name], func(v string) bool { return v != "" })
}

// fieldOf returns the field an API error names in its details, or ""
// ("tags[1]" and "headers.X-A" are fields tags and headers), and the
// full name as the error gives it.
func fieldOf(err error) (base, full string) {
	var e *api.Error
	if !errors.As(err, &e) {
		return "", ""
	}
	switch d := e.Details.(type) {
	case map[string]string:
		full = d["field"]
	case map[string]any:
		full, _ = d["field"].(string)
	}
	base = full
	if i := strings.IndexAny(base, "[."); i > 0 {
		base = base[:i]
	}
	return base, full
}

// fieldMessage is an API error's message for showing next to its field:
// "url: must not be empty" becomes "must not be empty", while
// "tags[1]: …" keeps its index as "tags[1] …" would not be clear
// without it.
func fieldMessage(err error, full string) string {
	msg := api.AsError(err).Message
	if rest, ok := strings.CutPrefix(msg, full+": "); ok && !strings.ContainsAny(full, "[.") {
		return rest
	}
	return msg
}

// assertionOps are the operators of a JSON-path assertion.
var assertionOps = []string{"==", "!=", "<=", ">=", "<", ">", "contains", "exists"}

// parseAssertions reads one assertion a line: PATH OP [VALUE], where
// VALUE is JSON (a bare word is taken as a string).
func parseAssertions(text string) ([]Assertion, error) {
	var out []Assertion
	for line := range strings.Lines(text) {
		fields := strings.Fields(line)
		if len(fields) == 0 {
			continue
		}
		if len(fields) < 2 || !slices.Contains(assertionOps, fields[1]) {
			return nil, errors.New("one assertion per line, such as $.status == \"ok\" or $.items exists")
		}
		a := Assertion{Path: fields[0], Op: fields[1]}
		if raw := strings.TrimSpace(strings.Join(fields[2:], " ")); raw != "" {
			if !json.Valid([]byte(raw)) {
				b, _ := json.Marshal(raw)
				raw = string(b)
			}
			a.Value = json.RawMessage(raw)
		}
		out = append(out, a)
	}
	return out, nil
}

// formatAssertions writes assertions back in the form parseAssertions
// reads.
func formatAssertions(as []Assertion) string {
	var lines []string
	for _, a := range as {
		l := a.Path + " " + a.Op
		if len(a.Value) > 0 {
			l += " " + string(a.Value)
		}
		lines = append(lines, l)
	}
	return strings.Join(lines, "\n")
}
