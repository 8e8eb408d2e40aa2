package site

import (
	"bytes"
	"encoding/json"
	"errors"
	"reflect"
	"strings"
	"time"

	"upmon/platform/api"
)

// settingsFields maps each JSON settings key to its struct field index.
var settingsFields = func() map[string]int {
	m := map[string]int{}
	t := reflect.TypeFor[Settings]()
	for i := range t.NumField() {
		name, _, _ := strings.Cut(t.Field(i).Tag.Get("json"), ",")
		m[name] = i
	}
	return m
}()

// decodeFields decodes a JSON object field by field into the settings and
// the extra named targets, so that a bad value is reported with its field
// name and unknown fields are refused. Every key is listed in present;
// keys with a value other than null also in given. Keys set to null are
// left untouched.
func decodeFields(data []byte, s *Settings, extra map[string]any) (present, given map[string]bool, err error) {
	var raw map[string]json.RawMessage
	if err := json.Unmarshal(data, &raw); err != nil {
		return nil, nil, api.Errorf(api.InvalidArgument, "invalid JSON body: expected an object")
	}
	present, given = map[string]bool{}, map[string]bool{}
	sv := reflect.ValueOf(s).Elem()
	for k, v := range raw {
		present[k] = true
		if bytes.Equal(bytes.TrimSpace(v), []byte("null")) {
			continue
		}
		given[k] = true
		var target any
		if dst, ok := extra[k]; ok {
			target = dst
		} else if i, ok := settingsFields[k]; ok {
			target = sv.Field(i).Addr().Interface()
		} else {
			return nil, nil, api.FieldError(truncate(k, 64), "unknown field")
		}
		if err := json.Unmarshal(v, target); err != nil {
			return nil, nil, api.FieldError(k, "%s", describeDecodeError(err))
		}
	}
	return present, given, nil
}

func describeDecodeError(err error) string {
	var te *json.UnmarshalTypeError
	if errors.As(err, &te) {
		return "must be " + jsonKind(te.Type.Kind())
	}
	msg := err.Error()
	if strings.HasPrefix(msg, "json: ") || strings.HasPrefix(msg, "invalid character") {
		return "malformed value"
	}
	return msg
}

func jsonKind(k reflect.Kind) string {
	switch k {
	case reflect.String:
		return "a string"
	case reflect.Bool:
		return "a boolean"
	case reflect.Int, reflect.Int64, reflect.Int32:
		return "an integer"
	case reflect.Slice:
		return "an array"
	case reflect.Map, reflect.Struct:
		return "an object"
	}
	return "a valid value"
}

// UnmarshalJSON decodes AddParams field by field (see decodeFields).
func (p *AddParams) UnmarshalJSON(data []byte) error {
	present, given, err := decodeFields(data, &p.Settings, map[string]any{"url": &p.URL, "name": &p.Name, "kind": &p.Kind})
	p.present, p.given = present, given
	return err
}

// UnmarshalJSON decodes PatchParams field by field (see decodeFields).
func (p *PatchParams) UnmarshalJSON(data []byte) error {
	present, given, err := decodeFields(data, &p.Settings, map[string]any{"url": &p.URL, "name": &p.Name, "kind": &p.Kind})
	p.present, p.given = present, given
	return err
}

func reflectSettings(s *Settings) reflect.Value { return reflect.ValueOf(s).Elem() }

// unsetMessages say why a setting's zero value, given explicitly, is
// refused: it lies outside the documented range, and stored it would mean
// "the default" (see Filled). null is the way back to the default.
var unsetMessages = map[string]string{
	"interval":          "must be between 1s and 24h",
	"timeout":           "must be between 10ms and 5m",
	"method":            "must be GET, HEAD or POST",
	"expected_status":   "must list at least one code or range (null for the default)",
	"keyword_mode":      "must be \"contains\" or \"absent\"",
	"failure_threshold": "must be between 1 and 100",
	"success_threshold": "must be between 1 and 100",
	"locations":         "must name at least one location (null for the default set)",
	"quorum":            "must be between 1 and the number of locations (null for a majority)",
}

// checkGiven refuses a setting given explicitly (not null) whose value
// Filled would replace with a default: the stored form keeps the zero
// value for "unset" (so stored settings stay as they were), which makes
// such a value silently become the default.
func checkGiven(s *Settings, given map[string]bool) error {
	src := reflectSettings(s)
	for key, i := range settingsFields {
		if !given[key] {
			continue
		}
		var one Settings
		reflectSettings(&one).Field(i).Set(src.Field(i))
		filled := one.Filled(Defaults{Interval: time.Minute, Timeout: time.Second})
		if reflect.DeepEqual(reflectSettings(&filled).Field(i).Interface(), src.Field(i).Interface()) {
			continue
		}
		msg, ok := unsetMessages[key]
		if !ok {
			msg = "is outside its range (null for the default)"
		}
		return api.FieldError(key, "%s", msg)
	}
	return nil
}

// Validate checks the parameters' settings as the API does: each within
// its range, and none given explicitly with a value that would read back
// as its default.
func (p *AddParams) Validate() error {
	if err := p.Settings.Validate(); err != nil {
		return err
	}
	return checkGiven(&p.Settings, p.given)
}
