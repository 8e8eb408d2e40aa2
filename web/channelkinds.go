package web

import (
	"encoding/json"
	"errors"
	"reflect"
	"slices"
	"strings"

	"upmon/notify"
)

// Input types of a kind's setting, from its Go type.
const (
	inText   = "text"   // string
	inInt    = "int"    // int: empty is 0
	inOptInt = "optint" // *int: empty is null
	inBool   = "bool"   // bool
	inList   = "list"   // []string, comma-separated
	inMap    = "map"    // map[string]string, one "Name: value" a line
	inJSON   = "json"   // anything else, as JSON text
)

// settingSpec is one setting of a kind as the channel form shows it.
type settingSpec struct {
	// Name is the setting's JSON name.
	Name string
	// Label is its name for people ("Webhook URL").
	Label string
	// Input is one of the in* types.
	Input string
	// Secret settings are write-only.
	Secret bool
	// Required settings must be given when a channel is created.
	Required bool
	// Default is what an empty field takes, shown as its placeholder.
	Default string
}

// kindSpec is a kind with the settings its form shows.
type kindSpec struct {
	Name, Title string
	Settings    []settingSpec
}

// specOf describes a kind's settings for a form: the fields of its
// settings struct (JSON names and Go types), which are secrets (the
// kind's Secrets), which are required and what empty ones default to
// (found by validating the defaults: see probeRequired). The registry
// declares no labels, so a label is the JSON name in words.
func specOf(k notify.Kind) kindSpec {
	ks := kindSpec{Name: k.Name, Title: k.Title}
	t := reflect.TypeOf(k.NewSettings())
	if t.Kind() == reflect.Pointer {
		t = t.Elem()
	}
	if t.Kind() != reflect.Struct {
		return ks
	}
	for f := range t.Fields() {
		name, _, _ := strings.Cut(f.Tag.Get("json"), ",")
		if !f.IsExported() || name == "-" {
			continue
		}
		if name == "" {
			name = f.Name
		}
		s := settingSpec{Name: name, Label: labelOf(name), Input: inputOf(f.Type)}
		s.Secret = slices.ContainsFunc(k.Secrets, func(sec notify.Secret) bool { return sec.Name == name })
		ks.Settings = append(ks.Settings, s)
	}
	required, defaults := probeRequired(k, ks.Settings)
	for i := range ks.Settings {
		s := &ks.Settings[i]
		s.Required = required[s.Name]
		if v, ok := defaults[s.Name]; ok && !s.Secret && !s.Required {
			s.Default = formatSetting(s.Input, v)
		}
	}
	return ks
}

func inputOf(t reflect.Type) string {
	switch {
	case t.Kind() == reflect.String:
		return inText
	case t.Kind() == reflect.Bool:
		return inBool
	case t.Kind() >= reflect.Int && t.Kind() <= reflect.Int64:
		return inInt
	case t.Kind() == reflect.Pointer && t.Elem().Kind() >= reflect.Int && t.Elem().Kind() <= reflect.Int64:
		return inOptInt
	case t.Kind() == reflect.Slice && t.Elem().Kind() == reflect.String:
		return inList
	case t.Kind() == reflect.Map && t.Key().Kind() == reflect.String && t.Elem().Kind() == reflect.String:
		return inMap
	}
	return inJSON
}

// labelWords are the words of setting names written otherwise in labels.
var labelWords = map[string]string{"url": "URL", "api": "API", "id": "ID", "smtp": "SMTP", "http": "HTTP"}

// labelOf turns a JSON name into a label: "webhook_url" is "Webhook URL".
func labelOf(name string) string {
	words := strings.Split(name, "_")
	for i, w := range words {
		if l, ok := labelWords[w]; ok {
			words[i] = l
		} else if i == 0 && w != "" {
			words[i] = strings.ToUpper(w[:1]) + w[1:]
		}
	}
	return strings.Join(words, " ")
}

// probeRequired finds the settings a kind requires by validating: it
// decodes an empty settings object and, while the kind refuses a setting
// left empty, marks that setting required and gives it a stand-in value
// (the next stand-in when the kind refuses one). It gives up when the
// kind refuses every stand-in of a setting, so a setting the kind checks
// only after that one is not marked; the service still names it when a
// form leaves it out. When the settings validate, defaults holds them as
// the kind filled them in (POST for a method, the public API's URL, …).
func probeRequired(k notify.Kind, settings []settingSpec) (required map[string]bool, defaults map[string]any) {
	required = map[string]bool{}
	obj := map[string]any{}
	tried := map[string]int{} // stand-ins given to each setting
	for range len(settings)*4 + 1 {
		raw, err := json.Marshal(obj)
		if err != nil {
			return required, nil
		}
		st, err := k.Decode(raw)
		if err == nil {
			b, err := json.Marshal(st)
			if err == nil && json.Unmarshal(b, &defaults) == nil {
				return required, defaults
			}
			return required, nil
		}
		var fe *notify.FieldError
		if !errors.As(err, &fe) {
			return required, nil
		}
		name := fe.Field
		if i := strings.IndexAny(name, "[."); i > 0 {
			name = name[:i] // to[0], headers.X-A
		}
		i := slices.IndexFunc(settings, func(s settingSpec) bool { return s.Name == name })
		if i < 0 {
			return required, nil
		}
		ins := standIns(settings[i])
		if tried[name] >= len(ins) {
			return required, nil
		}
		required[name] = true
		obj[name] = ins[tried[name]]
		tried[name]++
	}
	return required, nil
}

// standIns are values of a setting's type for probeRequired, likeliest
// first.
func standIns(s settingSpec) []any {
	switch s.Input {
	case inInt, inOptInt:
		return []any{1}
	case inBool:
		return []any{true}
	case inList:
		return []any{[]string{"probe"}, []string{"probe@example.com"}}
	case inMap:
		return []any{map[string]string{}}
	case inJSON:
		return nil
	}
	if strings.Contains(s.Name, "url") {
		return []any{"https://example.com/probe"}
	}
	return []any{"probe", "https://example.com/probe", "probe@example.com"}
}

// formatSetting writes a setting's JSON value (as encoding/json decodes
// it into an any) as its form field shows it.
func formatSetting(input string, v any) string {
	switch x := v.(type) {
	case nil:
		return ""
	case string:
		return x
	case bool:
		if x {
			return "true"
		}
		return ""
	case float64:
		if input == inInt && x == 0 {
			return ""
		}
		b, _ := json.Marshal(x)
		return string(b)
	case []any:
		if input == inList {
			parts := make([]string, 0, len(x))
			for _, e := range x {
				parts = append(parts, formatSetting(inText, e))
			}
			return strings.Join(parts, ", ")
		}
	case map[string]any:
		if input == inMap {
			lines := make([]string, 0, len(x))
			for _, k := range sortedKeys(x) {
				lines = append(lines, k+": "+formatSetting(inText, x[k]))
			}
			return strings.Join(lines, "\n")
		}
	}
	b, err := json.Marshal(v)
	if err != nil {
		return ""
	}
	return string(b)
}

func sortedKeys(m map[string]any) []string {
	keys := make([]string, 0, len(m))
	for k := range m {
		keys = append(keys, k)
	}
	slices.Sort(keys)
	return keys
}
