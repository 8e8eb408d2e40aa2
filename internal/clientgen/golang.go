package clientgen

import (
	"bytes"
	"fmt"
	"go/format"
	"strings"
)

// Go writes the Go client package (package name pkg) of an OpenAPI
// document: one gofmt-ed file with the types, a Client with one group per
// service, and the errors decoded into *Error.
func Go(doc []byte, pkg string) ([]byte, error) {
	m, err := parse(doc)
	if err != nil {
		return nil, err
	}
	g := &goGen{m: m, names: map[string]string{}}
	if err := g.nameTypes(); err != nil {
		return nil, err
	}
	var b bytes.Buffer
	b.WriteString(strings.Replace(goRuntime, "package client", "package "+pkg, 1))
	g.client(&b)
	for _, s := range m.services {
		g.service(&b, s)
	}
	for _, td := range m.types {
		g.typeDecl(&b, td)
	}
	src, err := format.Source(b.Bytes())
	if err != nil {
		return nil, fmt.Errorf("clientgen: generated Go does not parse: %w", err)
	}
	return src, nil
}

// goGen holds the Go names of the schema components.
type goGen struct {
	m     *model
	names map[string]string // component → Go type name
}

// reserved are the names the runtime part declares.
var goReserved = map[string]bool{"Client": true, "Error": true, "Option": true, "New": true,
	"WithToken": true, "WithHTTPClient": true, "WithHeader": true}

// nameTypes names each component: "site.AddParams" is SiteAddParams,
// "site.Site" (a type named like its package) is Site.
func (g *goGen) nameTypes() error {
	taken := map[string]string{}
	for n := range goReserved {
		taken[n] = "(runtime)"
	}
	for _, s := range g.m.services {
		taken[exported(s.name)+"Client"] = "(service " + s.name + ")"
		for _, mt := range s.methods {
			if len(mt.query) > 0 {
				taken[queryTypeName(s, mt)] = "(query of " + mt.opID + ")"
			}
		}
	}
	for _, td := range g.m.types {
		n := exported(td.name)
		if p := exported(td.pkg); !strings.HasPrefix(n, p) {
			n = p + n
		}
		if other, dup := taken[n]; dup {
			return fmt.Errorf("clientgen: Go name %s of %s is taken by %s", n, td.component, other)
		}
		taken[n] = td.component
		g.names[td.component] = n
	}
	return nil
}

func queryTypeName(s *service, mt *method) string {
	return exported(s.name) + mt.name + "Query"
}

// initialisms are written in capitals in Go names.
var initialisms = map[string]bool{"id": true, "url": true, "http": true, "https": true, "json": true,
	"api": true, "ip": true, "uri": true, "tls": true, "dns": true, "ttl": true, "ms": true, "tcp": true}

// exported turns a JSON or schema name into an exported Go name
// ("checked_at" → CheckedAt, "site_id" → SiteID, "siteID" → SiteID).
func exported(s string) string {
	var b strings.Builder
	for _, part := range strings.FieldsFunc(s, func(r rune) bool { return r == '_' || r == '-' || r == '.' || r == ' ' }) {
		if initialisms[strings.ToLower(part)] {
			b.WriteString(strings.ToUpper(part))
			continue
		}
		b.WriteString(strings.ToUpper(part[:1]) + part[1:])
	}
	if b.Len() == 0 || (b.String()[0] >= '0' && b.String()[0] <= '9') {
		return "X" + b.String()
	}
	return b.String()
}

// goArgNames must not shadow the packages the client imports.
var goImports = map[string]bool{"bytes": true, "context": true, "json": true, "fmt": true, "io": true,
	"http": true, "url": true, "strconv": true, "strings": true, "time": true, "ctx": true, "c": true, "s": true,
	"q": true, "out": true, "body": true, "p": true, "query": true, "values": true, "in": true}

func argName(n string) string {
	if goImports[n] {
		return n + "Param"
	}
	return n
}

// typ is the Go type of a schema.
func (g *goGen) typ(sc map[string]any) string {
	if r := refName(sc); r != "" {
		return g.names[r]
	}
	if inner, null := unwrapNull(sc); null {
		t := g.typ(inner)
		if nilable(t) {
			return t
		}
		return "*" + t
	}
	switch sc["type"] {
	case "string":
		switch {
		case sc["format"] == "date-time":
			return "time.Time"
		case sc["contentEncoding"] == "base64":
			return "[]byte"
		}
		return "string"
	case "integer":
		if sc["format"] == "int32" {
			return "int32"
		}
		return "int64"
	case "number":
		return "float64"
	case "boolean":
		return "bool"
	case "array":
		items, _ := sc["items"].(map[string]any)
		return "[]" + g.typ(items)
	case "object":
		if ap, ok := sc["additionalProperties"].(map[string]any); ok {
			return "map[string]" + g.typ(ap)
		}
		if _, ok := sc["properties"]; ok {
			var b bytes.Buffer
			b.WriteString("struct {\n")
			g.fields(&b, sc, false, false)
			b.WriteString("}")
			return b.String()
		}
		return "map[string]json.RawMessage"
	}
	return "json.RawMessage"
}

func nilable(t string) bool {
	return strings.HasPrefix(t, "[]") || strings.HasPrefix(t, "map[") || strings.HasPrefix(t, "*") ||
		t == "json.RawMessage"
}

// fields writes a struct's fields. Request bodies omit zero fields (the
// server decodes an absent field as the zero value); PATCH bodies make
// every field nilable, so that "absent" and "zero" differ.
func (g *goGen) fields(b *bytes.Buffer, sc map[string]any, request, patch bool) {
	props, required := properties(sc)
	all, _ := sc["properties"].(map[string]any)
	for _, name := range props {
		ps, _ := all[name].(map[string]any)
		t := g.typ(ps)
		if patch && !nilable(t) {
			t = "*" + t
		}
		tag := name
		if request || !required[name] {
			tag += ",omitzero"
		}
		if d, _ := ps["description"].(string); d != "" {
			fmt.Fprintf(b, "\t// %s is %s.\n", exported(name), d)
		}
		fmt.Fprintf(b, "\t%s %s `json:%q`\n", exported(name), t, tag)
	}
}

// typeDecl writes one component's type.
func (g *goGen) typeDecl(b *bytes.Buffer, td *typeDef) {
	n := g.names[td.component]
	fmt.Fprintf(b, "\n// %s is the schema %s.\n", n, td.component)
	if td.schema["type"] != "object" || td.schema["additionalProperties"] != nil {
		fmt.Fprintf(b, "type %s %s\n", n, g.typ(td.schema))
		return
	}
	fmt.Fprintf(b, "type %s struct {\n", n)
	g.fields(b, td.schema, td.request, td.patch)
	b.WriteString("}\n")
}

// client writes the Client's service groups and its constructor's body.
func (g *goGen) client(b *bytes.Buffer) {
	b.WriteString("\n// Client calls the HTTP API of an upmon server; its fields group the\n// endpoints by service.\ntype Client struct {\n\tbase string\n\thc *http.Client\n\theader http.Header\n\n")
	for _, s := range g.m.services {
		fmt.Fprintf(b, "\t// %s calls the %s service.\n\t%s *%sClient\n", exported(s.name), s.name, exported(s.name), exported(s.name))
	}
	b.WriteString("}\n\nfunc (c *Client) init() {\n")
	for _, s := range g.m.services {
		fmt.Fprintf(b, "\tc.%s = &%sClient{c: c}\n", exported(s.name), exported(s.name))
	}
	b.WriteString("}\n")
}

// service writes one service's group and its methods.
func (g *goGen) service(b *bytes.Buffer, s *service) {
	sn := exported(s.name) + "Client"
	fmt.Fprintf(b, "\n// %s calls the endpoints of the %s service.\ntype %s struct{ c *Client }\n", sn, s.name, sn)
	for _, mt := range s.methods {
		if len(mt.query) > 0 {
			qn := queryTypeName(s, mt)
			fmt.Fprintf(b, "\n// %s holds the query parameters of %s.%s (the last given\n// is used); zero values are not sent.\ntype %s struct {\n", qn, sn, mt.name, qn)
			for _, q := range mt.query {
				fmt.Fprintf(b, "\t// %s is the query parameter %q.\n\t%s %s\n", exported(q.name), q.name, exported(q.name), g.typ(q.schema))
			}
			b.WriteString("}\n")
		}
		g.method(b, s, sn, mt)
	}
}

// method writes one endpoint's method.
func (g *goGen) method(b *bytes.Buffer, s *service, sn string, mt *method) {
	args := []string{"ctx context.Context"}
	for _, p := range mt.pathParams {
		args = append(args, argName(p.name)+" "+g.typ(p.schema))
	}
	if mt.body != "" {
		args = append(args, "p *"+g.names[mt.body])
	}
	if len(mt.query) > 0 {
		// Optional and last, so that adding a query parameter to an
		// endpoint does not break its callers.
		args = append(args, "query ..."+queryTypeName(s, mt))
	}
	ret := "error"
	if mt.response != "" {
		ret = "(*" + g.names[mt.response] + ", error)"
	}
	fmt.Fprintf(b, "\n// %s calls %s %s (operation %s, access %s).\nfunc (s *%s) %s(%s) %s {\n",
		mt.name, mt.httpMethod, mt.path, mt.opID, mt.access, sn, mt.name, strings.Join(args, ", "), ret)
	b.WriteString("\tvar values url.Values\n")
	if len(mt.query) > 0 {
		b.WriteString("\tfor _, q := range query {\n\t\tvalues = url.Values{}\n")
		for _, p := range mt.query {
			f := "q." + exported(p.name)
			fmt.Fprintf(b, "\t\tif !isZero(%s) {\n\t\t\tvalues.Set(%q, fmt.Sprint(%s))\n\t\t}\n", f, p.name, f)
		}
		b.WriteString("\t}\n")
	}
	b.WriteString("\tvar in any\n")
	if mt.body != "" {
		b.WriteString("\tif p != nil {\n\t\tin = p\n\t}\n")
	}
	path := g.pathExpr(mt)
	if mt.response == "" {
		fmt.Fprintf(b, "\treturn s.c.Call(ctx, %q, %s, values, in, nil)\n}\n", mt.httpMethod, path)
		return
	}
	fmt.Fprintf(b, "\tvar out %s\n\tif err := s.c.Call(ctx, %q, %s, values, in, &out); err != nil {\n\t\treturn nil, err\n\t}\n\treturn &out, nil\n}\n",
		g.names[mt.response], mt.httpMethod, path)
}

// pathExpr is the Go expression of a method's path with its parameters
// escaped.
func (g *goGen) pathExpr(mt *method) string {
	var parts []string
	rest := mt.path
	for _, p := range mt.pathParams {
		before, after, _ := strings.Cut(rest, "{"+p.name+"}")
		parts = append(parts, fmt.Sprintf("%q", before))
		fn := "pathSegment"
		if p.rest {
			fn = "pathRest"
		}
		parts = append(parts, fmt.Sprintf("%s(fmt.Sprint(%s))", fn, argName(p.name)))
		rest = after
	}
	if rest != "" || len(parts) == 0 {
		parts = append(parts, fmt.Sprintf("%q", rest))
	}
	return strings.Join(parts, "+")
}
