package web

import (
	"encoding/json"
	"net/http"
	"slices"
	"strconv"
	"strings"
	"time"

	"upmon/channels"
	"upmon/notify"
	"upmon/platform/api"
)

// channelForm is the add or edit form of a channel as a page shows it.
// Secret settings never carry a value: a stored one shows masked as the
// placeholder, and an empty field keeps it.
type channelForm struct {
	// ID is the channel's id, 0 in the add form.
	ID int64
	// Kind and KindTitle name its kind.
	Kind, KindTitle string
	// ManagedBy names the secret that owns the name and settings of the
	// channel ("" for a channel of its own): they are shown read-only.
	ManagedBy string
	Name      string
	Settings  []settingField
	Events    []eventChoice
	Tags      string
	// Default and Enabled are the channel's flags.
	Default, Enabled bool
	// GroupAfter, Concurrency, RemindEvery and Template are as typed.
	GroupAfter, Concurrency, RemindEvery, Template string
	// Err holds an error per field: "name", "events", "settings.url", ….
	Err map[string]string
	// Error is the message above the form.
	Error string
	// Retype says that secrets typed before an error must be typed
	// again (the page never sends one back).
	Retype bool
}

// settingField is one of a kind's settings in the form.
type settingField struct {
	settingSpec
	// FormName is "set.NAME", or "secret.NAME" for a secret (the audit
	// log masks the values of fields whose names say secret).
	FormName string
	// Value is the field's text (never a secret's); Checked a box's.
	Value   string
	Checked bool
	// Placeholder is a secret's stored value masked, or the default.
	Placeholder string
	// Stored says a secret has a stored value (it may be cleared).
	Stored bool
	// Err is the service's or the form's error about it.
	Err string
}

type eventChoice struct {
	Name    string
	Checked bool
}

// Editable says the form may change the channel's name and settings.
func (f *channelForm) Editable() bool { return f.ManagedBy == "" }

func eventChoices(chosen []string) []eventChoice {
	var out []eventChoice
	for _, e := range notify.Events() {
		out = append(out, eventChoice{Name: string(e), Checked: len(chosen) == 0 || slices.Contains(chosen, string(e))})
	}
	return out
}

func settingFields(ks *kindSpec, stored map[string]any) []settingField {
	out := make([]settingField, 0, len(ks.Settings))
	for _, s := range ks.Settings {
		f := settingField{settingSpec: s, FormName: "set." + s.Name, Placeholder: s.Default}
		if s.Secret {
			f.FormName = "secret." + s.Name
			f.Placeholder = formatSetting(s.Input, stored[s.Name])
			f.Stored = f.Placeholder != ""
		} else if v, ok := stored[s.Name]; ok {
			f.Value = formatSetting(s.Input, v)
			f.Checked = v == true
		}
		out = append(out, f)
	}
	return out
}

// newChannelForm is the blank add form of a kind: enabled, every event.
func newChannelForm(ks *kindSpec) channelForm {
	return channelForm{Kind: ks.Name, KindTitle: ks.Title, Settings: settingFields(ks, nil), Events: eventChoices(nil),
		Enabled: true, Err: map[string]string{}}
}

// formFromChannel is the edit form of c.
func formFromChannel(ks *kindSpec, c *ChannelInfo) channelForm {
	f := channelForm{ID: c.ID, Kind: ks.Name, KindTitle: ks.Title, ManagedBy: c.ManagedBy, Name: c.Name,
		Settings: settingFields(ks, c.Settings), Events: eventChoices(c.Events), Tags: strings.Join(c.Tags, ", "),
		Default: c.Default, Enabled: c.Enabled, GroupAfter: strconv.Itoa(c.GroupAfter), Concurrency: strconv.Itoa(c.Concurrency),
		RemindEvery: c.RemindEvery, Template: c.Template, Err: map[string]string{}}
	if d, err := time.ParseDuration(c.RemindEvery); err == nil {
		f.RemindEvery = fmtDur(d) // "1h", not the API's "1h0m0s"
	}
	return f
}

// parseChannelForm reads a posted channel form into the fields of a
// create (was nil) or an update of was, and the form to show again if it
// is refused. Only typed secrets are sent; an empty one keeps its stored
// value unless its "clear" box is ticked. The name and settings of a
// managed channel are never sent. Syntax errors (a number that does not
// parse) are reported per field here; the service judges the rest.
func parseChannelForm(r *http.Request, ks *kindSpec, was *ChannelInfo) (channels.Fields, channelForm) {
	f := newChannelForm(ks)
	if was != nil {
		f = formFromChannel(ks, was)
	}
	var p channels.Fields
	v := func(k string) string { return strings.TrimSpace(r.PostFormValue(k)) }
	if f.Editable() {
		f.Name = v("name")
		p.Name = &f.Name
		settings := map[string]any{}
		for i := range f.Settings {
			sf := &f.Settings[i]
			if val, send := readSetting(r, sf, was == nil); send {
				settings[sf.Name] = val
			}
			if sf.Secret && v(sf.FormName) != "" {
				f.Retype = true
			}
		}
		if len(settings) > 0 || was == nil {
			raw, err := json.Marshal(settings)
			if err != nil {
				f.Err["settings"] = "could not be encoded"
			}
			p.Settings = raw
		}
		if was == nil {
			p.Kind = &ks.Name
		}
	}
	evs := []string{}
	for _, e := range r.PostForm["events"] {
		if e != "" {
			evs = append(evs, e)
		}
	}
	f.Events = eventChoices(evs)
	p.Events = &evs
	f.Tags = v("tags")
	tags := splitList(f.Tags)
	p.Tags = &tags
	f.Default, f.Enabled = checked(r, "default"), checked(r, "enabled")
	p.Default, p.Enabled = &f.Default, &f.Enabled
	f.GroupAfter, f.Concurrency, f.RemindEvery = v("group_after"), v("concurrency"), v("remind_every")
	p.GroupAfter = f.count("group_after", f.GroupAfter)
	p.Concurrency = f.count("concurrency", f.Concurrency)
	p.RemindEvery = &f.RemindEvery
	f.Template = strings.ReplaceAll(r.PostFormValue("template"), "\r\n", "\n")
	p.Template = &f.Template
	return p, f
}

// count parses a whole number typed in field; empty is not sent.
func (f *channelForm) count(field, raw string) *int {
	if raw == "" {
		return nil
	}
	n, err := strconv.Atoi(raw)
	if err != nil {
		f.Err[field] = "must be a whole number"
		return nil
	}
	return &n
}

// readSetting reads one setting of the form into sf (as the form shows
// it again) and returns the value to send and whether to send it.
func readSetting(r *http.Request, sf *settingField, create bool) (any, bool) {
	raw, posted := r.PostForm[sf.FormName]
	text := ""
	if posted {
		text = raw[0]
	}
	if sf.Secret {
		if !create && checked(r, "clear."+sf.Name) {
			if sf.Input == inMap || sf.Input == inJSON {
				return nil, true
			}
			return "", true
		}
		if strings.TrimSpace(text) == "" {
			return nil, false // keep the stored one (or none)
		}
	} else {
		if !posted && sf.Input != inBool {
			return nil, false
		}
		sf.Value = text
		sf.Checked = sf.Input == inBool && checked(r, sf.FormName)
	}
	switch sf.Input {
	case inBool:
		return checked(r, sf.FormName), true
	case inInt, inOptInt:
		text = strings.TrimSpace(text)
		if text == "" {
			if sf.Input == inOptInt {
				return nil, true
			}
			return 0, true
		}
		n, err := strconv.Atoi(text)
		if err != nil {
			sf.Err = "must be a whole number"
			return nil, false
		}
		return n, true
	case inList:
		return splitList(text), true
	case inMap:
		m, err := parseHeaderLines(text)
		if err != nil {
			sf.Err = err.Error()
			return nil, false
		}
		return m, true
	case inJSON:
		if strings.TrimSpace(text) == "" {
			return nil, false
		}
		if !json.Valid([]byte(text)) {
			sf.Err = "must be JSON"
			return nil, false
		}
		return json.RawMessage(text), true
	}
	return strings.TrimSpace(text), true
}

// errorCount is how many fields the form itself found wrong.
func (f *channelForm) errorCount() int {
	n := len(f.Err)
	for _, s := range f.Settings {
		if s.Err != "" {
			n++
		}
	}
	return n
}

// splitList splits comma- or line-separated text into its trimmed,
// non-empty parts (never nil).
func splitList(text string) []string {
	out := []string{}
	for part := range strings.FieldsFuncSeq(text, func(r rune) bool { return r == ',' || r == '\n' || r == '\r' }) {
		if part = strings.TrimSpace(part); part != "" {
			out = append(out, part)
		}
	}
	return out
}

// parseHeaderLines reads one "Name: value" a line.
func parseHeaderLines(text string) (map[string]string, error) {
	out := map[string]string{}
	for line := range strings.Lines(text) {
		line = strings.TrimSpace(line)
		if line == "" {
			continue
		}
		k, val, ok := strings.Cut(line, ":")
		if !ok || strings.TrimSpace(k) == "" {
			return nil, api.Errorf(api.InvalidArgument, "one entry per line, as Name: value")
		}
		out[strings.TrimSpace(k)] = strings.TrimSpace(val)
	}
	return out, nil
}

// formKeys are the fields the form shows errors next to.
var formKeys = []string{"name", "settings", "events", "tags", "group_after", "concurrency", "remind_every", "template"}

// showError puts a refusal of the channels service on the form: next to
// the field its details name (settings by their own name), with a
// message above. It returns false for errors that are not about the
// input (the page then fails).
func (f *channelForm) showError(err error) (int, bool) {
	e := api.AsError(err)
	switch e.Code {
	case api.InvalidArgument, api.FailedPrecondition, api.OutOfRange, api.AlreadyExists:
	default:
		return 0, false
	}
	f.Error = e.Message
	_, full := fieldOf(err)
	msg, cut := strings.CutPrefix(e.Message, full+": ")
	if full == "" || !cut {
		return e.Status(), true
	}
	key := full
	if i := strings.IndexAny(key, "[."); i > 0 && !strings.HasPrefix(key, "settings.") {
		key = key[:i] // events[1], tags[0]
	}
	if rest, ok := strings.CutPrefix(full, "settings."); ok {
		name := rest
		if i := strings.IndexAny(name, "[."); i > 0 {
			name = name[:i]
			msg = rest + ": " + msg // to[1]: is not an email address
		}
		for i := range f.Settings {
			if f.Settings[i].Name == name {
				f.Settings[i].Err = msg
				f.Error = "Some fields are not valid."
				return e.Status(), true
			}
		}
		return e.Status(), true
	}
	if !slices.Contains(formKeys, key) {
		return e.Status(), true // kind, url: the message above says it
	}
	if key != full {
		msg = full + ": " + msg
	}
	f.Err[key] = msg
	f.Error = "Some fields are not valid."
	return e.Status(), true
}
