package importer

import (
	"encoding/base64"
	"encoding/json"
	"fmt"
	"net"
	"net/url"
	"os"
	"regexp"
	"strconv"
	"strings"
	"time"

	"upmon/notify"
)

// kumaSource is an Uptime Kuma setup read from either form.
type kumaSource struct {
	monitors      []*row
	notifications []*row
	// monitorNotifs maps a monitor id to its notification ids.
	monitorNotifs map[int64][]int64
	// monitorTags maps a monitor id to its tags ("name" or "name:value").
	monitorTags map[int64][]kumaTag
	maintenance []*row
	// maintMonitors maps a maintenance id to its monitor ids.
	maintMonitors map[int64][]int64
}

type kumaTag struct {
	name, value string
	line        int
}

// ParseKuma reads an Uptime Kuma database file (kuma.db, opened
// read-only) or a 1.x JSON backup into a plan; reg validates the
// channels' settings.
func ParseKuma(file string, reg *notify.Registry) (*Plan, error) {
	f, err := os.Open(file)
	if err != nil {
		return nil, err
	}
	head := make([]byte, 16)
	n, _ := f.Read(head)
	f.Close()
	var src *kumaSource
	if string(head[:n]) == "SQLite format 3\x00" {
		src, err = readKumaDB(file)
	} else {
		var data []byte
		if data, err = readLimited(file); err == nil {
			src, err = readKumaJSON(data)
		}
	}
	if err != nil {
		return nil, fmt.Errorf("%s: %w", file, err)
	}
	p := &Plan{Source: "kuma", File: file, Mask: maskWith(reg)}
	mapKuma(p, src, reg)
	return p, nil
}

// readLimited reads a file of at most MaxFileBytes.
func readLimited(file string) ([]byte, error) {
	st, err := os.Stat(file)
	if err != nil {
		return nil, err
	}
	if st.Size() > MaxFileBytes {
		return nil, fmt.Errorf("file is %d bytes, more than the %d a backup may have", st.Size(), MaxFileBytes)
	}
	return os.ReadFile(file)
}

// mapKuma maps a Kuma setup to the plan.
func mapKuma(p *Plan, src *kumaSource, reg *notify.Registry) {
	channels := map[int64]*Channel{}
	for _, r := range src.notifications {
		id := int64(r.num("id"))
		if c := kumaChannel(p, r, reg); c != nil {
			channels[id] = c
			p.Channels = append(p.Channels, c)
		}
	}
	keys := map[int64]string{}
	for _, r := range src.monitors {
		id := int64(r.num("id"))
		st := kumaMonitor(p, r)
		if st == nil {
			continue
		}
		for _, t := range src.monitorTags[id] {
			addKumaTag(p, st, t)
		}
		for _, nid := range src.monitorNotifs[id] {
			if c, ok := channels[nid]; ok {
				st.Channels = append(st.Channels, c.Name)
			} else {
				p.lose(st.Line, st.Where+".notifications", fmt.Sprint(nid), "the notification is not imported (see above)")
			}
		}
		keys[id] = st.Key
		p.Sites = append(p.Sites, st)
	}
	for _, r := range src.maintenance {
		kumaWindows(p, r, src.maintMonitors[int64(r.num("id"))], keys)
	}
}

func addKumaTag(p *Plan, st *Site, t kumaTag) {
	raw := t.name
	if t.value != "" {
		raw += ":" + t.value
	}
	tag := tagOf(raw)
	if tag == "" {
		p.lose(t.line, st.Where+".tags", raw, "cannot be made an upmon tag")
		return
	}
	if tag != raw {
		p.note(t.line, st.Where+".tags", raw, fmt.Sprintf("becomes the tag %q (letters, digits, _.:- only)", tag))
	}
	tags, _ := st.Fields["tags"].([]string)
	st.Fields["tags"] = append(tags, tag)
}

// kumaMonitor maps one monitor; nil when its type has no equivalent.
func kumaMonitor(p *Plan, r *row) *Site {
	name := r.str("name")
	typ := r.str("type")
	r.where = fmt.Sprintf("%s (%s)", r.where, name)
	fields := map[string]any{"name": name}
	st := &Site{Line: r.line, Where: r.where, Fields: fields}
	switch typ {
	case "http", "keyword", "json-query":
		st.Key = r.str("url")
		fields["url"] = st.Key
		kumaHTTP(p, r, fields, typ)
	case "port":
		st.Key = "tcp://" + net.JoinHostPort(r.str("hostname"), strconv.Itoa(int(r.num("port"))))
		fields["url"] = st.Key
	case "dns":
		port := int(r.num("port"))
		if port == 0 {
			port = 53
		}
		typ := strings.ToUpper(r.str("dns_resolve_type"))
		if typ == "" {
			typ = "A"
		}
		if !dnsTypes[typ] {
			p.lose(r.lineOf("dns_resolve_type"), r.where+".dns_resolve_type", typ, "upmon's dns checks ask for A, AAAA, CNAME, MX, NS or TXT: monitor not imported")
			return nil
		}
		server := strings.TrimSpace(strings.Split(r.str("dns_resolve_server"), ",")[0])
		q := url.Values{"type": {typ}, "server": {net.JoinHostPort(server, strconv.Itoa(port))}}
		st.Key = "dns:" + r.str("hostname") + "?" + q.Encode()
		fields["url"] = st.Key
	case "push":
		fields["kind"] = "push"
		st.Key = "push:" + name
		if r.str("push_token") != "" {
			p.lose(r.lineOf("push_token"), r.where+".push_token", "", "upmon issues its own push token: point the job at the new push_url")
		}
	default:
		p.lose(r.lineOf("type"), r.where+".type", typ, "upmon has no such check (it checks http(s), keyword, json-query, port, dns and push): monitor not imported")
		return nil
	}
	if interval := int(r.num("interval")); interval > 0 {
		fields["interval"] = (time.Duration(interval) * time.Second).String()
	}
	if typ != "push" {
		if t := r.num("timeout"); t > 0 {
			fields["timeout"] = (time.Duration(t * float64(time.Second))).Round(time.Millisecond).String()
		}
	}
	if retries := int(r.num("maxretries")); retries > 0 {
		fields["failure_threshold"] = retries + 1
		if ri := r.num("retry_interval"); ri > 0 && ri != r.num("interval") {
			p.note(r.lineOf("retry_interval"), r.where+".retry_interval", "", "upmon retries at the normal interval")
		}
	} else {
		r.get("retry_interval")
	}
	if !r.flag("active") {
		fields["paused"] = true
	}
	if r.flag("upside_down") {
		p.lose(r.lineOf("upside_down"), r.where+".upside_down", "", "upmon has no upside-down mode")
	}
	if r.flag("expiry_notification") && strings.HasPrefix(st.Key, "https://") {
		p.note(r.lineOf("expiry_notification"), r.where+".expiry_notification", "", "upmon's built-in certificate warning: a cert-expiring event at 14 and 3 days left")
	}
	r.leftovers(p, "no upmon equivalent", "id", "user_id", "userId", "created_date", "weight", "dns_last_result",
		"notificationIDList", "tags", "type", "name", "childrenIDs", "path", "pathName", "includeSensitiveData",
		"maintenance", "forceInactive", "screenshot", "expiry_notification", "active", "retry_interval")
	return st
}

// kumaHTTP maps the settings of http, keyword and json-query monitors.
func kumaHTTP(p *Plan, r *row, fields map[string]any, typ string) {
	if m := strings.ToUpper(r.str("method")); m != "" && m != "GET" {
		if m == "HEAD" || m == "POST" {
			fields["method"] = m
		} else {
			p.lose(r.lineOf("method"), r.where+".method", m, "upmon sends GET, HEAD or POST; the monitor is checked with GET")
		}
	}
	if b := r.str("body"); b != "" {
		fields["body"] = b
	}
	headers := map[string]string{}
	if h := r.str("headers"); strings.TrimSpace(h) != "" {
		var m map[string]any
		if err := json.Unmarshal([]byte(h), &m); err != nil {
			p.lose(r.lineOf("headers"), r.where+".headers", "", "not a JSON object of headers")
		}
		for k, v := range m {
			headers[k] = fmt.Sprint(v)
		}
	}
	authMethod := r.str("auth_method")
	user, pass := r.str("basic_auth_user"), r.str("basic_auth_pass")
	if (authMethod == "" || authMethod == "basic") && (user != "" || pass != "") {
		headers["Authorization"] = "Basic " + base64.StdEncoding.EncodeToString([]byte(user+":"+pass))
	} else if authMethod != "" && authMethod != "basic" && authMethod != "null" {
		p.lose(r.lineOf("auth_method"), r.where+".auth_method", authMethod, "upmon sends basic auth or fixed headers only")
	}
	if len(headers) > 0 {
		fields["headers"] = headers
	}
	if list, ok := kumaStatusCodes(r); !ok {
		p.lose(r.lineOf("accepted_statuscodes"), r.where+".accepted_statuscodes", "", "not a list of status codes")
	} else if len(list) > 0 {
		fields["expected_status"] = list
	}
	if _, ok := r.get("maxredirects"); ok && r.num("maxredirects") == 0 {
		fields["follow_redirects"] = false
	}
	if r.flag("ignore_tls") {
		p.lose(r.lineOf("ignore_tls"), r.where+".ignore_tls", "", "upmon always verifies certificates")
	}
	switch typ {
	case "keyword":
		fields["keyword"] = r.str("keyword")
		if r.flag("invert_keyword") {
			fields["keyword_mode"] = "absent"
		}
	case "json-query":
		kumaJSONQuery(p, r, fields)
	}
}

// kumaStatusCodes reads accepted_statuscodes: a JSON text in the
// database, a list in a backup.
func kumaStatusCodes(r *row) ([]string, bool) {
	c, ok := r.get("accepted_statuscodes_json")
	if !ok {
		c, ok = r.get("accepted_statuscodes")
	}
	if !ok {
		return nil, true
	}
	var list []string
	switch v := c.v.(type) {
	case []any:
		for _, x := range v {
			sv, isStr := x.(string)
			if !isStr {
				return nil, false
			}
			list = append(list, sv)
		}
	default:
		if err := json.Unmarshal([]byte(r.str(c.key)), &list); err != nil {
			return nil, false
		}
	}
	return list, len(list) > 0
}

// plainPath matches the JSONata expressions that are plain paths.
var plainPath = regexp.MustCompile(`^\$?\.?[A-Za-z_][A-Za-z0-9_]*(\[[0-9]+\])?(\.[A-Za-z_][A-Za-z0-9_]*(\[[0-9]+\])?)*$`)

func kumaJSONQuery(p *Plan, r *row, fields map[string]any) {
	expr := strings.TrimSpace(r.str("json_path"))
	want := r.str("expected_value")
	op := r.str("json_path_operator")
	if op == "" {
		op = "=="
	}
	if !plainPath.MatchString(expr) {
		p.lose(r.lineOf("json_path"), r.where+".json_path", expr, "upmon's json_path takes a plain path ($.a.b[0]), not a JSONata expression")
		return
	}
	switch op {
	case "==", "!=", "<", "<=", ">", ">=", "contains":
	default:
		p.lose(r.lineOf("json_path_operator"), r.where+".json_path_operator", op, "no such upmon operator")
		return
	}
	path := "$." + strings.TrimPrefix(strings.TrimPrefix(expr, "$"), ".")
	fields["json_path"] = []any{map[string]any{"path": path, "op": op, "value": literal(want)}}
}
