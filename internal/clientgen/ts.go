package clientgen

import (
	"bytes"
	"fmt"
	"maps"
	"regexp"
	"slices"
	"strings"
)

// TS writes the TypeScript client of an OpenAPI document: one module whose
// default export is the Client, with a namespace per Go package holding
// its types as interfaces (site.Site, monitor.StatusResponse) and a
// namespace per service holding its ServiceClient, the shape of the
// tutorial's generated client (client.site.Add({url})).
func TS(doc []byte) ([]byte, error) {
	m, err := parse(doc)
	if err != nil {
		return nil, err
	}
	var b bytes.Buffer
	b.WriteString(tsHeader)
	b.WriteString("\n/** Client calls the HTTP API of an upmon server, one member per service. */\nexport default class Client {\n")
	for _, s := range m.services {
		fmt.Fprintf(&b, "    public readonly %s: %s.ServiceClient\n", s.name, s.name)
	}
	b.WriteString("\n    /** target is the server's base URL, such as Local or window.location.origin. */\n")
	b.WriteString("    constructor(target: BaseURL, options?: ClientOptions) {\n        const base = new BaseClient(target, options ?? {})\n")
	for _, s := range m.services {
		fmt.Fprintf(&b, "        this.%s = new %s.ServiceClient(base)\n", s.name, s.name)
	}
	b.WriteString("    }\n}\n")
	types := map[string][]*typeDef{}
	svcs := map[string]*service{}
	for _, td := range m.types {
		types[td.pkg] = append(types[td.pkg], td)
	}
	for _, s := range m.services {
		svcs[s.name] = s
	}
	names := slices.Sorted(maps.Keys(types))
	for n := range svcs {
		if types[n] == nil {
			names = append(names, n)
		}
	}
	slices.Sort(names)
	for _, ns := range names {
		fmt.Fprintf(&b, "\nexport namespace %s {\n", ns)
		for _, td := range types[ns] {
			tsInterface(&b, td)
		}
		if s := svcs[ns]; s != nil {
			tsService(&b, s)
		}
		b.WriteString("}\n")
	}
	b.WriteString(tsRuntime)
	return b.Bytes(), nil
}

var tsIdent = regexp.MustCompile(`^[A-Za-z_$][A-Za-z0-9_$]*$`)

func tsProp(n string) string {
	if tsIdent.MatchString(n) {
		return n
	}
	return fmt.Sprintf("%q", n)
}

// tsType is the TypeScript type of a schema. Like the tutorial's client it
// types arrays and maps without null (absent means empty).
func tsType(sc map[string]any) string {
	if r := refName(sc); r != "" {
		return r
	}
	if inner, null := unwrapNull(sc); null {
		t := tsType(inner)
		if strings.HasSuffix(t, "[]") || strings.HasPrefix(t, "{ [key: string]") {
			return t
		}
		return t + " | null"
	}
	switch sc["type"] {
	case "string":
		return "string"
	case "integer", "number":
		return "number"
	case "boolean":
		return "boolean"
	case "array":
		items, _ := sc["items"].(map[string]any)
		t := tsType(items)
		if strings.Contains(t, " ") {
			t = "(" + t + ")"
		}
		return t + "[]"
	case "object":
		if ap, ok := sc["additionalProperties"].(map[string]any); ok {
			return "{ [key: string]: " + tsType(ap) + " }"
		}
		if _, ok := sc["properties"]; ok {
			var b bytes.Buffer
			b.WriteString("{\n")
			tsFields(&b, sc, false, "        ")
			b.WriteString("    }")
			return b.String()
		}
	}
	return "any"
}

// tsFields writes an object's properties; every property of a request
// body is optional (the server fills in defaults).
func tsFields(b *bytes.Buffer, sc map[string]any, request bool, indent string) {
	props, required := properties(sc)
	all, _ := sc["properties"].(map[string]any)
	for _, name := range props {
		ps, _ := all[name].(map[string]any)
		opt := "?"
		if required[name] && !request {
			opt = ""
		}
		if d, _ := ps["description"].(string); d != "" {
			fmt.Fprintf(b, "%s/** %s */\n", indent, d)
		}
		fmt.Fprintf(b, "%s%s%s: %s\n", indent, tsProp(name), opt, tsType(ps))
	}
}

func tsInterface(b *bytes.Buffer, td *typeDef) {
	fmt.Fprintf(b, "    /** %s is the schema %s. */\n", td.name, td.component)
	if td.schema["type"] != "object" || td.schema["additionalProperties"] != nil {
		fmt.Fprintf(b, "    export type %s = %s\n\n", td.name, tsType(td.schema))
		return
	}
	fmt.Fprintf(b, "    export interface %s {\n", td.name)
	tsFields(b, td.schema, td.request, "        ")
	b.WriteString("    }\n\n")
}

// tsService writes a service's ServiceClient.
func tsService(b *bytes.Buffer, s *service) {
	fmt.Fprintf(b, "    /** ServiceClient calls the endpoints of the %s service. */\n", s.name)
	b.WriteString("    export class ServiceClient {\n        private readonly baseClient: BaseClient\n\n")
	b.WriteString("        constructor(baseClient: BaseClient) {\n            this.baseClient = baseClient\n        }\n")
	for _, mt := range s.methods {
		var args []string
		path := "`" + mt.path + "`"
		for _, p := range mt.pathParams {
			enc := "encodeURIComponent(String(" + p.name + "))"
			if p.rest {
				enc = "String(" + p.name + ").split(\"/\").map(encodeURIComponent).join(\"/\")"
			}
			path = strings.Replace(path, "{"+p.name+"}", "${"+enc+"}", 1)
			args = append(args, p.name+": "+tsType(p.schema))
		}
		body, query := "undefined", "undefined"
		if mt.body != "" {
			args = append(args, "params: "+mt.body)
			body = "params"
		}
		if len(mt.query) > 0 {
			var fs []string
			for _, q := range mt.query {
				fs = append(fs, tsProp(q.name)+"?: "+tsType(q.schema))
			}
			args = append(args, "query?: { "+strings.Join(fs, ", ")+" }")
			query = "query"
		}
		ret := "void"
		if mt.response != "" {
			ret = mt.response
		}
		fmt.Fprintf(b, "\n        /** %s calls %s %s (operation %s, access %s). */\n", mt.name, mt.httpMethod, mt.path, mt.opID, mt.access)
		fmt.Fprintf(b, "        public async %s(%s): Promise<%s> {\n", mt.name, strings.Join(args, ", "), ret)
		call := fmt.Sprintf("this.baseClient.call(%q, %s, %s, %s)", mt.httpMethod, path, query, body)
		if mt.response == "" {
			fmt.Fprintf(b, "            await %s\n        }\n", call)
		} else {
			fmt.Fprintf(b, "            return (await %s) as %s\n        }\n", call, ret)
		}
	}
	b.WriteString("    }\n")
}
