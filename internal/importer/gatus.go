package importer

import (
	"fmt"
	"net"
	"net/url"
	"strings"
	"time"

	"go.yaml.in/yaml/v3"

	"upmon/notify"
)

// gatusServerKeys are top-level keys that configure the Gatus server
// itself; upmon has its own flags for them.
var gatusServerKeys = map[string]bool{
	"storage": true, "web": true, "ui": true, "metrics": true, "security": true,
	"concurrency": true, "disable-monitoring-lock": true, "skip-invalid-config-update": true,
	"connectivity": true, "remote": true,
}

// gatusParser carries the state of one Gatus import.
type gatusParser struct {
	plan     *Plan
	reg      *notify.Registry
	alerting map[string]*gatusProvider // by alert type
	maint    *yaml.Node
	maintAt  int
}

// ParseGatus reads a Gatus configuration file into a plan. reg validates
// the channels' settings. A malformed file (wrong types, too large, too
// deep) is an error naming the line; what parses but has no upmon
// equivalent is in the plan's losses.
func ParseGatus(file string, data []byte, reg *notify.Registry) (*Plan, error) {
	root, err := parseDoc(data)
	if err != nil {
		return nil, fmt.Errorf("%s: %w", file, err)
	}
	g := &gatusParser{plan: &Plan{Source: "gatus", File: file, Mask: maskWith(reg)}, reg: reg, alerting: map[string]*gatusProvider{}}
	if err := g.parse(root); err != nil {
		return nil, fmt.Errorf("%s: %w", file, err)
	}
	return g.plan, nil
}

func (g *gatusParser) parse(root *yaml.Node) error {
	var endpoints, external *yaml.Node
	for _, f := range fields(root) {
		switch {
		case f.key == "endpoints":
			endpoints = f.val
		case f.key == "external-endpoints":
			external = f.val
		case f.key == "alerting":
			if err := g.parseAlerting(f.val); err != nil {
				return err
			}
		case f.key == "maintenance":
			g.maint, g.maintAt = f.val, f.line
		case gatusServerKeys[f.key]:
			g.plan.note(f.line, f.key, "", "a setting of the Gatus server itself, not imported (upmon serve has its own flags)")
		default:
			g.plan.lose(f.line, f.key, "", "no upmon equivalent")
		}
	}
	if endpoints != nil {
		list, err := asList(endpoints, "endpoints")
		if err != nil {
			return err
		}
		for i, n := range list {
			if err := g.endpoint(n, fmt.Sprintf("endpoints[%d]", i)); err != nil {
				return err
			}
		}
	}
	if external != nil {
		list, err := asList(external, "external-endpoints")
		if err != nil {
			return err
		}
		for i, n := range list {
			if err := g.externalEndpoint(n, fmt.Sprintf("external-endpoints[%d]", i)); err != nil {
				return err
			}
		}
	}
	if g.maint != nil {
		if err := g.maintenance(g.maint); err != nil {
			return err
		}
	}
	return g.finishChannels()
}

// gatusEndpoint is an endpoint being mapped.
type gatusEndpoint struct {
	where  string
	line   int
	name   string
	rawURL string
	urlAt  int
	kind   string // http, tcp, dns
	fields map[string]any
	dns    *yaml.Node
	conds  *yaml.Node
	alerts *yaml.Node
}

func (g *gatusParser) endpoint(n *yaml.Node, where string) error {
	if err := asMap(n, where); err != nil {
		return err
	}
	e := &gatusEndpoint{where: withName(n, where), line: n.Line, fields: map[string]any{"interval": "1m"}}
	for _, f := range fields(n) {
		if err := g.endpointField(e, f); err != nil {
			return err
		}
	}
	if e.rawURL == "" {
		g.plan.lose(e.line, e.where, "", "no url: endpoint not imported")
		return nil
	}
	key, ok, err := g.endpointURL(e)
	if err != nil || !ok {
		return err
	}
	e.fields["url"] = key
	if err := g.conditions(e); err != nil {
		return err
	}
	s := &Site{Line: e.line, Where: e.where, Key: e.fields["url"].(string), Fields: e.fields}
	if e.alerts != nil {
		if err := g.endpointAlerts(e, s); err != nil {
			return err
		}
	}
	g.plan.Sites = append(g.plan.Sites, s)
	return nil
}

func (g *gatusParser) endpointField(e *gatusEndpoint, f field) error {
	at := e.where + "." + f.key
	var err error
	switch f.key {
	case "name":
		e.name, err = asString(f.val, at)
		e.fields["name"] = e.name
	case "group":
		var grp string
		if grp, err = asString(f.val, at); err == nil {
			g.tag(e.fields, grp, f.line, at)
		}
	case "url":
		e.rawURL, err = asString(f.val, at)
		e.urlAt = f.line
	case "method":
		var m string
		if m, err = asString(f.val, at); err == nil {
			m = strings.ToUpper(m)
			switch m {
			case "GET", "HEAD", "POST":
				e.fields["method"] = m
			default:
				g.plan.lose(f.line, at, m, "upmon sends GET, HEAD or POST; the endpoint is checked with GET")
			}
		}
	case "headers":
		var h map[string]string
		if h, err = asStringMap(f.val, at); err == nil && len(h) > 0 {
			e.fields["headers"] = h
		}
	case "body":
		var b string
		if b, err = asString(f.val, at); err == nil && b != "" {
			e.fields["body"] = b
		}
	case "interval":
		var s string
		if s, err = asString(f.val, at); err == nil {
			e.fields["interval"] = s
		}
	case "enabled":
		var on bool
		if on, err = asBool(f.val, at); err == nil && !on {
			e.fields["paused"] = true
		}
	case "conditions":
		e.conds = f.val
	case "alerts":
		e.alerts = f.val
	case "dns":
		e.dns = f.val
	case "client":
		err = g.client(e, f.val, at)
	default:
		g.plan.lose(f.line, at, "", "no upmon equivalent")
	}
	return err
}

// client maps an endpoint's client settings.
func (g *gatusParser) client(e *gatusEndpoint, n *yaml.Node, where string) error {
	if err := asMap(n, where); err != nil {
		return err
	}
	for _, f := range fields(n) {
		at := where + "." + f.key
		switch f.key {
		case "timeout":
			s, err := asString(f.val, at)
			if err != nil {
				return err
			}
			e.fields["timeout"] = s
		case "ignore-redirect":
			on, err := asBool(f.val, at)
			if err != nil {
				return err
			}
			if on {
				e.fields["follow_redirects"] = false
			}
		default:
			g.plan.lose(f.line, at, "", "no upmon equivalent (upmon verifies TLS and uses the system resolver and network)")
		}
	}
	return nil
}

// endpointURL maps the endpoint's URL to an upmon URL (its key); ok is
// false when the kind has no upmon equivalent (recorded as a loss).
func (g *gatusParser) endpointURL(e *gatusEndpoint) (string, bool, error) {
	if e.dns != nil {
		return g.dnsURL(e)
	}
	u, err := url.Parse(e.rawURL)
	if err != nil {
		g.plan.lose(e.urlAt, e.where+".url", e.rawURL, "not a valid URL: endpoint not imported")
		return "", false, nil
	}
	switch strings.ToLower(u.Scheme) {
	case "http", "https":
		e.kind = "http"
		return e.rawURL, true, nil
	case "tcp":
		e.kind = "tcp"
		return "tcp://" + u.Host, true, nil
	}
	g.plan.lose(e.urlAt, e.where+".url", e.rawURL, fmt.Sprintf("upmon has no %s checks (it checks http(s), tcp, dns and push): endpoint not imported", u.Scheme))
	return "", false, nil
}

// dnsTypes are the record types upmon's dns checks ask for.
var dnsTypes = map[string]bool{"A": true, "AAAA": true, "CNAME": true, "MX": true, "NS": true, "TXT": true}

func (g *gatusParser) dnsURL(e *gatusEndpoint) (string, bool, error) {
	where := e.where + ".dns"
	if err := asMap(e.dns, where); err != nil {
		return "", false, err
	}
	var name, typ string
	for _, f := range fields(e.dns) {
		at := where + "." + f.key
		v, err := asString(f.val, at)
		if err != nil {
			return "", false, err
		}
		switch f.key {
		case "query-name":
			name = v
		case "query-type":
			typ = strings.ToUpper(v)
		default:
			g.plan.lose(f.line, at, "", "no upmon equivalent")
		}
	}
	if !dnsTypes[typ] {
		g.plan.lose(e.dns.Line, where+".query-type", typ, "upmon's dns checks ask for A, AAAA, CNAME, MX, NS or TXT: endpoint not imported")
		return "", false, nil
	}
	server := strings.TrimPrefix(e.rawURL, "dns://")
	if _, _, err := net.SplitHostPort(server); err != nil {
		server = net.JoinHostPort(strings.Trim(server, "[]"), "53")
	}
	e.kind = "dns"
	q := url.Values{"type": {typ}, "server": {server}}
	return "dns:" + strings.TrimSuffix(name, ".") + "?" + q.Encode(), true, nil
}

// externalEndpoint maps an external endpoint to a push monitor.
func (g *gatusParser) externalEndpoint(n *yaml.Node, where string) error {
	if err := asMap(n, where); err != nil {
		return err
	}
	e := &gatusEndpoint{where: withName(n, where), line: n.Line, kind: "push", fields: map[string]any{"kind": "push"}}
	for _, f := range fields(n) {
		at := e.where + "." + f.key
		var err error
		switch f.key {
		case "name":
			e.name, err = asString(f.val, at)
		case "group":
			var grp string
			if grp, err = asString(f.val, at); err == nil {
				g.tag(e.fields, grp, f.line, at)
			}
		case "enabled":
			var on bool
			if on, err = asBool(f.val, at); err == nil && !on {
				e.fields["paused"] = true
			}
		case "token":
			g.plan.lose(f.line, at, "", "upmon issues its own push token: point the job at the new push_url")
		case "heartbeat":
			err = g.heartbeat(e, f.val, at)
		case "alerts":
			e.alerts = f.val
		default:
			g.plan.lose(f.line, at, "", "no upmon equivalent")
		}
		if err != nil {
			return err
		}
	}
	if e.name == "" {
		g.plan.lose(e.line, where, "", "no name: a push monitor needs one; not imported")
		return nil
	}
	e.fields["name"] = e.name
	if _, ok := e.fields["interval"]; !ok {
		g.plan.note(e.line, e.where, "heartbeat", "no heartbeat interval: upmon's push monitor expects a push every server interval")
	}
	s := &Site{Line: e.line, Where: e.where, Key: "push:" + e.name, Fields: e.fields}
	if e.alerts != nil {
		if err := g.endpointAlerts(e, s); err != nil {
			return err
		}
	}
	g.plan.Sites = append(g.plan.Sites, s)
	return nil
}

func (g *gatusParser) heartbeat(e *gatusEndpoint, n *yaml.Node, where string) error {
	if err := asMap(n, where); err != nil {
		return err
	}
	for _, f := range fields(n) {
		at := where + "." + f.key
		if f.key != "interval" {
			g.plan.lose(f.line, at, "", "no upmon equivalent")
			continue
		}
		s, err := asString(f.val, at)
		if err != nil {
			return err
		}
		if d, err := time.ParseDuration(s); err == nil && d > 0 {
			e.fields["interval"] = s
		}
	}
	return nil
}

// withName is where followed by the entry's name, when it has one.
func withName(n *yaml.Node, where string) string {
	for _, f := range fields(n) {
		if f.key == "name" && f.val.Kind == yaml.ScalarNode && f.val.Value != "" {
			return fmt.Sprintf("%s (%s)", where, f.val.Value)
		}
	}
	return where
}

// tag adds a Gatus group as a tag, made to fit upmon's tag rules.
func (g *gatusParser) tag(fields map[string]any, group string, line int, where string) {
	t := tagOf(group)
	if t == "" {
		g.plan.lose(line, where, group, "cannot be made an upmon tag")
		return
	}
	if t != group {
		g.plan.note(line, where, group, fmt.Sprintf("becomes the tag %q (letters, digits, _.:- only)", t))
	}
	tags, _ := fields["tags"].([]string)
	fields["tags"] = append(tags, t)
}

// tagOf makes s an upmon tag: at most 50 of letters, digits and _.:-,
// starting with a letter or digit; "" when nothing is left.
func tagOf(s string) string {
	var b strings.Builder
	for _, r := range strings.TrimSpace(s) {
		switch {
		case r < 128 && (r >= 'a' && r <= 'z' || r >= 'A' && r <= 'Z' || r >= '0' && r <= '9' || strings.ContainsRune("_.:-", r)):
			b.WriteRune(r)
		default:
			b.WriteByte('-')
		}
	}
	t := strings.TrimLeft(b.String(), "_.:-")
	if len(t) > 50 {
		t = t[:50]
	}
	return t
}
