package catalog

import (
	"encoding"
	"encoding/json"
	"fmt"
	"reflect"
	"regexp"
	"strings"
	"time"
)

// Schemaer is implemented by types whose JSON encoding reflection cannot
// see (a custom MarshalJSON): OpenAPISchema returns the JSON Schema of the
// value as the API encodes it.
type Schemaer interface {
	// OpenAPISchema returns a JSON Schema object.
	OpenAPISchema() map[string]any
}

var (
	timeType      = reflect.TypeFor[time.Time]()
	rawType       = reflect.TypeFor[json.RawMessage]()
	schemaerType  = reflect.TypeFor[Schemaer]()
	marshalerType = reflect.TypeFor[json.Marshaler]()
	textType      = reflect.TypeFor[encoding.TextMarshaler]()
)

// schemas turns Go types into JSON Schemas (OpenAPI 3.1 dialect), keeping
// every named struct once under components/schemas.
type schemas struct {
	defs map[string]any
	seen map[reflect.Type]string
}

func newSchemas() *schemas {
	return &schemas{defs: map[string]any{}, seen: map[reflect.Type]string{}}
}

var unsafeName = regexp.MustCompile(`[^A-Za-z0-9._-]+`)

// TypeName is the component name of a named Go type: its package's last
// path element and the type name ("site.Site"). Unnamed types have none.
func TypeName(t reflect.Type) string {
	for t != nil && t.Kind() == reflect.Pointer {
		t = t.Elem()
	}
	if t == nil || t.Name() == "" {
		return ""
	}
	pkg := t.PkgPath()
	if i := strings.LastIndexByte(pkg, '/'); i >= 0 {
		pkg = pkg[i+1:]
	}
	name := t.Name()
	if pkg != "" {
		name = pkg + "." + name
	}
	return strings.Trim(unsafeName.ReplaceAllString(name, "_"), "_")
}

// ref returns the schema of t, registering named structs as components.
func (s *schemas) ref(t reflect.Type) map[string]any {
	for t.Kind() == reflect.Pointer {
		t = t.Elem()
	}
	if t.Implements(schemaerType) {
		return reflect.Zero(t).Interface().(Schemaer).OpenAPISchema()
	}
	switch {
	case t == timeType:
		return map[string]any{"type": "string", "format": "date-time"}
	case t == rawType:
		return map[string]any{}
	case t.Kind() != reflect.Struct && (t.Implements(marshalerType) || reflect.PointerTo(t).Implements(marshalerType)):
		panic(fmt.Sprintf("catalog: %v has a custom MarshalJSON: give it an OpenAPISchema method", t))
	case t.Kind() != reflect.Struct && t.Implements(textType):
		return map[string]any{"type": "string"}
	}
	switch t.Kind() {
	case reflect.Bool:
		return map[string]any{"type": "boolean"}
	case reflect.String:
		return map[string]any{"type": "string"}
	case reflect.Int, reflect.Int64, reflect.Uint, reflect.Uint64, reflect.Uint32:
		return map[string]any{"type": "integer", "format": "int64"}
	case reflect.Int8, reflect.Int16, reflect.Int32, reflect.Uint8, reflect.Uint16:
		return map[string]any{"type": "integer", "format": "int32"}
	case reflect.Float32, reflect.Float64:
		return map[string]any{"type": "number"}
	case reflect.Interface:
		return map[string]any{}
	case reflect.Slice, reflect.Array:
		if t.Elem().Kind() == reflect.Uint8 && t.Kind() == reflect.Slice {
			return map[string]any{"type": "string", "contentEncoding": "base64"}
		}
		return map[string]any{"type": "array", "items": s.ref(t.Elem())}
	case reflect.Map:
		return map[string]any{"type": "object", "additionalProperties": s.ref(t.Elem())}
	case reflect.Struct:
		name := TypeName(t)
		if name == "" {
			return s.object(t)
		}
		if _, ok := s.seen[t]; !ok {
			s.seen[t] = name
			s.defs[name] = nil // placeholder against recursion
			s.defs[name] = s.object(t)
		}
		return map[string]any{"$ref": "#/components/schemas/" + name}
	}
	panic(fmt.Sprintf("catalog: no JSON Schema for %v", t))
}

// nullable allows null besides the schema's own values.
func nullable(sc map[string]any) map[string]any {
	if typ, ok := sc["type"].(string); ok && len(sc) <= 3 && sc["items"] == nil && sc["additionalProperties"] == nil {
		out := map[string]any{}
		for k, v := range sc {
			out[k] = v
		}
		out["type"] = []any{typ, "null"}
		return out
	}
	if len(sc) == 0 {
		return sc
	}
	return map[string]any{"anyOf": []any{sc, map[string]any{"type": "null"}}}
}

// jsonField is one field of a struct as encoding/json sees it.
type jsonField struct {
	name      string
	typ       reflect.Type
	omitempty bool
	asString  bool
}

// jsonFields lists t's fields as encoding/json encodes them; fields bound
// from the path or the query string (tags path and query) are left out.
func jsonFields(t reflect.Type) []jsonField {
	var out []jsonField
	for i := range t.NumField() {
		f := t.Field(i)
		tag, hasTag := f.Tag.Lookup("json")
		if tag == "-" || f.Tag.Get("path") != "" || f.Tag.Get("query") != "" {
			continue
		}
		name, opts, _ := strings.Cut(tag, ",")
		ft := f.Type
		if f.Anonymous && (!hasTag || name == "") {
			et := ft
			if et.Kind() == reflect.Pointer {
				et = et.Elem()
			}
			if et.Kind() == reflect.Struct {
				out = append(out, jsonFields(et)...)
				continue
			}
		}
		if !f.IsExported() {
			continue
		}
		if name == "" {
			name = f.Name
		}
		out = append(out, jsonField{
			name:      name,
			typ:       ft,
			omitempty: strings.Contains(","+opts+",", ",omitempty,") || strings.Contains(","+opts+",", ",omitzero,"),
			asString:  strings.Contains(","+opts+",", ",string,"),
		})
	}
	return out
}

// object is the schema of a struct's JSON object.
func (s *schemas) object(t reflect.Type) map[string]any {
	props := map[string]any{}
	required := []any{}
	for _, f := range jsonFields(t) {
		var sc map[string]any
		if f.asString {
			sc = map[string]any{"type": "string"}
		} else {
			sc = s.ref(f.typ)
		}
		nilable := f.typ.Kind() == reflect.Pointer || f.typ.Kind() == reflect.Map ||
			f.typ.Kind() == reflect.Interface || (f.typ.Kind() == reflect.Slice && f.typ != rawType)
		if nilable && !f.omitempty {
			sc = nullable(sc)
		}
		props[f.name] = sc
		if !f.omitempty {
			required = append(required, f.name)
		}
	}
	out := map[string]any{"type": "object", "properties": props}
	if len(required) > 0 {
		out["required"] = required
	}
	return out
}

// hasBody reports whether a request type carries any JSON body field.
func hasBody(t reflect.Type) bool {
	for t != nil && t.Kind() == reflect.Pointer {
		t = t.Elem()
	}
	if t == nil {
		return false
	}
	if t.Kind() != reflect.Struct {
		return true
	}
	return len(jsonFields(t)) > 0
}
