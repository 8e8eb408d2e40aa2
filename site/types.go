package site

import (
	"bytes"
	"encoding/json"
	"errors"
	"reflect"
	"strings"

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
// name and unknown fields are refused. Keys set to null are listed in
// nulls and left untouched.
func decodeFields(data []byte, s *Settings, extra map[string]any) (present map[string]bool, err error) {
	var raw map[string]json.RawMessage
	if err := json.Unmarshal(data, &raw); err != nil {
		return nil, api.Errorf(api.InvalidArgument, "invalid JSON body: expected an object")
	}
	present = map[string]bool{}
	sv := reflect.ValueOf(s).Elem()
	for k, v := range raw {
		present[k] = true
		if bytes.Equal(bytes.TrimSpace(v), []byte("null")) {
			continue
		}
		var target any
		if dst, ok := extra[k]; ok {
			target = dst
		} else if i, ok := settingsFields[k]; ok {
			target = sv.Field(i).Addr().Interface()
		} else {
			return nil, api.FieldError(truncate(k, 64), "unknown field")
		}
		if err := json.Unmarshal(v, target); err != nil {
			return nil, api.FieldError(k, "%s", describeDecodeError(err))
		}
	}
	return present, nil
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
	present, err := decodeFields(data, &p.Settings, map[string]any{"url": &p.URL, "name": &p.Name, "kind": &p.Kind})
	p.present = present
	return err
}

// UnmarshalJSON decodes PatchParams field by field (see decodeFields).
func (p *PatchParams) UnmarshalJSON(data []byte) error {
	present, err := decodeFields(data, &p.Settings, map[string]any{"url": &p.URL, "name": &p.Name, "kind": &p.Kind})
	p.present = present
	return err
}

func reflectSettings(s *Settings) reflect.Value { return reflect.ValueOf(s).Elem() }
