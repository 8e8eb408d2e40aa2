package cli

import (
	"bytes"
	"context"
	"encoding/json"
	"errors"
	"flag"
	"fmt"
	"io"
	"net/http"
	"net/url"
	"os"
	"reflect"
	"slices"
	"strconv"
	"strings"
	"time"
	"unicode"
	"unicode/utf8"

	"go.yaml.in/yaml/v3"

	"upmon/client"
	"upmon/internal/app"
	"upmon/platform/api"
	"upmon/site"
)

// A sites file is the fleet in the API's schema:
//
//	sites:
//	  - url: https://example.com/health
//	    interval: 1m
//	    timeout: 10s
//	    expected_status: ["200-299"]
//
// Each entry has the JSON fields of GET /site except id, push_token and
// push_url. Export leaves out fields equal to their defaults, and the url
// of push monitors (push:<name>) and their timeout; interval and timeout
// are always written otherwise, since their defaults are the server's.
// Locations (whose default set is the server's too) are written for every
// site as soon as one site is checked from anywhere but "local" alone
// (a single node's file stays as it was), the quorum unless it is a
// majority of them. Import treats
// a missing field as its default, except interval, timeout and
// locations, which a site already on the server keeps.

// sitesFile is the document `upmon sites export` writes.
type sitesFile struct {
	Channels []channelEntry `yaml:"channels,omitempty"`
	Sites    []siteEntry    `yaml:"sites"`
}

// siteEntry is one exported site; empty fields are left out.
type siteEntry struct {
	URL              string            `yaml:"url,omitempty"`
	Name             string            `yaml:"name,omitempty"`
	Kind             string            `yaml:"kind,omitempty"`
	Interval         string            `yaml:"interval,omitempty"`
	Timeout          string            `yaml:"timeout,omitempty"`
	Method           string            `yaml:"method,omitempty"`
	Headers          map[string]string `yaml:"headers,omitempty"`
	Body             string            `yaml:"body,omitempty"`
	ExpectedStatus   []string          `yaml:"expected_status,omitempty,flow"`
	FollowRedirects  *bool             `yaml:"follow_redirects,omitempty"`
	Keyword          string            `yaml:"keyword,omitempty"`
	KeywordMode      string            `yaml:"keyword_mode,omitempty"`
	JSONPath         []assertionEntry  `yaml:"json_path,omitempty"`
	MaxLatency       string            `yaml:"max_latency,omitempty"`
	FailureThreshold int               `yaml:"failure_threshold,omitempty"`
	SuccessThreshold int               `yaml:"success_threshold,omitempty"`
	Retries          int               `yaml:"retries,omitempty"`
	Paused           bool              `yaml:"paused,omitempty"`
	Tags             []string          `yaml:"tags,omitempty,flow"`
	Grace            string            `yaml:"grace,omitempty"`
	ReuseConnections bool              `yaml:"reuse_connections,omitempty"`
	WSSend           string            `yaml:"ws_send,omitempty"`
	Locations        []string          `yaml:"locations,omitempty,flow"`
	Quorum           int               `yaml:"quorum,omitempty"`
	Channels         []string          `yaml:"channels,omitempty,flow"`
}

// assertionEntry is one exported json_path assertion.
type assertionEntry struct {
	Path  string `yaml:"path"`
	Op    string `yaml:"op"`
	Value any    `yaml:"value,omitempty"`
}

// sitesClient calls the API of a running server through the generated
// client (upmon/client).
type sitesClient struct {
	server string
	token  string
	api    *client.Client
}

// do sends a JSON request and decodes a 200 answer into out; any other
// answer is an error carrying the API's message. Bodies are maps where a
// file's entry is sent as written (a PATCH may hold nulls), so it uses the
// client's untyped Call.
func (c *sitesClient) do(ctx context.Context, method, path string, body, out any) error {
	return apiError(c.api.Call(ctx, method, path, nil, body, out))
}

// newAPIClient returns the generated client of server.
func newAPIClient(server, token string) *client.Client {
	opts := []client.Option{client.WithHTTPClient(&http.Client{Timeout: 30 * time.Second})}
	if token != "" {
		opts = append(opts, client.WithToken(token))
	}
	return client.New(server, opts...)
}

// apiError words an error of the client for the command line.
func apiError(err error) error {
	var e *client.Error
	switch {
	case err == nil:
		return nil
	case errors.As(err, &e):
		return fmt.Errorf("server answered %d %s: %s", e.Status, e.Code, e.Message)
	case errors.Is(err, context.Canceled), errors.Is(err, context.DeadlineExceeded):
		return err
	}
	var ue *url.Error
	if errors.As(err, &ue) {
		return fmt.Errorf("cannot reach the upmon server: %w", err)
	}
	return err
}

// sitesFlags parses --server and --token (UPMON_SERVER, UPMON_TOKEN).
func sitesFlags(name string, args, env []string) (*sitesClient, []string, error) {
	c := &sitesClient{server: "http://127.0.0.1:4000"}
	fs := flag.NewFlagSet(name, flag.ContinueOnError)
	fs.SetOutput(io.Discard)
	fs.StringVar(&c.server, "server", c.server, "")
	fs.StringVar(&c.token, "token", "", "")
	if err := app.ApplyFlags(fs, args, env); err != nil {
		return nil, nil, err
	}
	u, err := url.Parse(c.server)
	if err != nil || (u.Scheme != "http" && u.Scheme != "https") || u.Host == "" {
		return nil, nil, &app.UsageError{Msg: fmt.Sprintf("invalid --server %q: must be http(s)://host:port", c.server)}
	}
	c.server = strings.TrimRight(c.server, "/")
	c.api = newAPIClient(c.server, c.token)
	return c, fs.Args(), nil
}

func sitesCmd(ctx context.Context, stdio IO, args []string) error {
	if len(args) == 0 {
		return &app.UsageError{Msg: "sites needs a subcommand: export or import"}
	}
	switch args[0] {
	case "export":
		c, rest, err := sitesFlags("sites export", args[1:], stdio.Env)
		if err != nil {
			return err
		}
		if len(rest) != 0 {
			return &app.UsageError{Msg: "usage: upmon sites export [--server URL] [--token TOKEN] > sites.yaml"}
		}
		return exportSites(ctx, c, stdio.Stdout)
	case "import":
		c, rest, err := sitesFlags("sites import", args[1:], stdio.Env)
		if err != nil {
			return err
		}
		if len(rest) != 1 || rest[0] == "" {
			return &app.UsageError{Msg: "usage: upmon sites import [--server URL] [--token TOKEN] FILE (- for standard input)"}
		}
		var data []byte
		if rest[0] == "-" {
			data, err = io.ReadAll(io.LimitReader(stdio.Stdin, 64<<20))
		} else {
			data, err = os.ReadFile(rest[0])
		}
		if err != nil {
			return err
		}
		sum, err := importSites(ctx, c, rest[0], data, stdio.Env)
		if err != nil {
			return err
		}
		if sum.channelsAdded+sum.channelsUpdated > 0 {
			fmt.Fprintf(stdio.Stdout, "channels: %d added, %d updated\n", sum.channelsAdded, sum.channelsUpdated)
		}
		fmt.Fprintf(stdio.Stdout, "%d added, %d updated, %d unchanged\n", sum.added, sum.updated, sum.unchanged)
		return nil
	}
	return &app.UsageError{Msg: fmt.Sprintf("unknown sites subcommand %q (export or import)", args[0])}
}

// exportSites writes every site of the server as a sites file.
func exportSites(ctx context.Context, c *sitesClient, w io.Writer) error {
	all, err := listAllSites(ctx, c)
	if err != nil {
		return err
	}
	chans, names, err := exportChannels(ctx, c)
	if err != nil {
		return err
	}
	doc := sitesFile{Channels: chans, Sites: make([]siteEntry, 0, len(all))}
	located := slices.ContainsFunc(all, func(st *site.Site) bool {
		return !(len(st.Locations) == 1 && st.Locations[0] == site.LocationLocal)
	})
	for _, st := range all {
		e, err := entryOf(st, located)
		if err != nil {
			return fmt.Errorf("site %d: %w", st.ID, err)
		}
		e.Channels = channelNames(st.Channels, names)
		doc.Sites = append(doc.Sites, e)
	}
	var body bytes.Buffer
	enc := yaml.NewEncoder(&body)
	enc.SetIndent(2)
	if err := enc.Encode(doc); err != nil {
		return err
	}
	if err := enc.Close(); err != nil {
		return err
	}
	var buf bytes.Buffer
	buf.WriteString("# upmon sites: apply with `upmon sites import FILE` (sites are matched by url, push monitors by name;\n# channels by name, their secrets read from the ${VARIABLES} named)\n")
	if bytes.Contains(body.Bytes(), []byte(site.Redacted)) {
		// A read-only token sees secrets as the marker; import refuses it.
		buf.WriteString("# exported with a read-only token: header values, bodies and URL credentials show as " + site.Redacted +
			";\n# import refuses them until the real values are put back\n")
	}
	buf.Write(body.Bytes())
	_, err = w.Write(buf.Bytes())
	return err
}

// entryOf is a site as a sites-file entry, its defaults left out;
// located writes its locations (see the file's comment).
func entryOf(st *site.Site, located bool) (siteEntry, error) {
	s := st.Settings
	e := siteEntry{
		Name:             st.Name,
		Interval:         s.Interval.String(),
		Timeout:          s.Timeout.String(),
		Body:             s.Body,
		Keyword:          s.Keyword,
		FailureThreshold: s.FailureThreshold,
		SuccessThreshold: s.SuccessThreshold,
		Retries:          s.Retries,
		Paused:           s.Paused,
		ReuseConnections: s.ReuseConnections,
		WSSend:           s.WSSend,
	}
	if st.Kind == site.KindPush {
		e.Kind = site.KindPush
		e.Timeout = "" // a push monitor makes no requests
	} else {
		e.URL = st.URL
	}
	if s.Method != http.MethodGet {
		e.Method = s.Method
	}
	if len(s.Headers) > 0 {
		e.Headers = s.Headers
	}
	if !(len(s.ExpectedStatus) == 1 && s.ExpectedStatus[0] == "200-399") {
		e.ExpectedStatus = s.ExpectedStatus
	}
	if s.FollowRedirects != nil && !*s.FollowRedirects {
		e.FollowRedirects = s.FollowRedirects
	}
	if s.KeywordMode != "contains" {
		e.KeywordMode = s.KeywordMode
	}
	for _, a := range s.JSONPath {
		ae := assertionEntry{Path: a.Path, Op: a.Op}
		if len(a.Value) > 0 {
			v, err := scalarOf(a.Value)
			if err != nil {
				return e, fmt.Errorf("json_path %s: %w", a.Path, err)
			}
			ae.Value = v
		}
		e.JSONPath = append(e.JSONPath, ae)
	}
	if s.MaxLatency != 0 {
		e.MaxLatency = s.MaxLatency.String()
	}
	if s.FailureThreshold == 1 {
		e.FailureThreshold = 0
	}
	if s.SuccessThreshold == 1 {
		e.SuccessThreshold = 0
	}
	if len(s.Tags) > 0 {
		e.Tags = s.Tags
	}
	if s.Grace != 0 {
		e.Grace = s.Grace.String()
	}
	if located {
		e.Locations = s.Locations
	}
	if len(s.Locations) > 0 && s.Quorum != len(s.Locations)/2+1 {
		e.Quorum = s.Quorum
	}
	return e, nil
}

// scalarOf decodes a JSON scalar for YAML: numbers stay numbers (integers
// as integers), so a file re-imported sends the same value.
func scalarOf(raw json.RawMessage) (any, error) {
	dec := json.NewDecoder(bytes.NewReader(raw))
	dec.UseNumber()
	var v any
	if err := dec.Decode(&v); err != nil {
		return nil, err
	}
	if n, ok := v.(json.Number); ok {
		if i, err := n.Int64(); err == nil {
			return i, nil
		}
		return n.Float64()
	}
	return v, nil
}

// importSummary counts what an import did.
type importSummary struct {
	added, updated, unchanged      int
	channelsAdded, channelsUpdated int
}

// plannedSite is one validated entry of a sites file.
type plannedSite struct {
	label   string         // sites[i] (url) for messages
	key     string         // the URL it is matched by (push:<name> for push)
	fields  map[string]any // the entry, as JSON values
	params  site.AddParams // the entry, decoded as the API decodes it
	present map[string]bool
	// channels are the names of the site's channels (nil: none given).
	channels []string
}

// importSites validates every entry of a sites file, then creates the
// sites the server lacks and patches those that differ. Nothing is sent
// unless every entry is valid.
func importSites(ctx context.Context, c *sitesClient, file string, data []byte, env []string) (importSummary, error) {
	var sum importSummary
	plan, err := parseSitesFile(file, data)
	if err != nil {
		return sum, err
	}
	chanPlan, err := parseChannelsOf(file, data, env)
	if err != nil {
		return sum, err
	}
	if err := routeSites(ctx, c, plan, chanPlan, &sum); err != nil {
		return sum, err
	}
	current, err := listAllSites(ctx, c)
	if err != nil {
		return sum, err
	}
	byURL := make(map[string]*site.Site, len(current))
	for _, st := range current {
		byURL[st.URL] = st
	}
	type action struct {
		p     *plannedSite
		cur   *site.Site
		patch map[string]any
	}
	var (
		actions []action
		adds    []*plannedSite
	)
	for _, p := range plan {
		cur := byURL[p.key]
		if cur == nil {
			adds = append(adds, p)
			continue
		}
		patch, err := patchFor(p, cur)
		if err != nil {
			return sum, fmt.Errorf("%s: %w", p.label, err)
		}
		if len(patch) == 0 {
			sum.unchanged++
			continue
		}
		actions = append(actions, action{p: p, cur: cur, patch: patch})
	}
	sum.added, err = addNewSites(ctx, c, adds)
	if err != nil {
		return sum, err
	}
	for _, a := range actions {
		if err := c.do(ctx, http.MethodPatch, "/site/"+strconv.FormatInt(a.cur.ID, 10), a.patch, nil); err != nil {
			return sum, fmt.Errorf("%s: %w", a.p.label, err)
		}
		sum.updated++
	}
	return sum, nil
}

// parseSitesFile decodes and validates a sites file as the API would,
// naming the entry and the field of the first problem.
func parseSitesFile(file string, data []byte) ([]*plannedSite, error) {
	var top map[string]any
	if err := yaml.Unmarshal(data, &top); err != nil {
		return nil, fmt.Errorf("%s: %v", file, err)
	}
	if top == nil {
		return nil, fmt.Errorf("%s: empty (the file holds a sites list)", file)
	}
	for k := range top {
		if k != "sites" && k != "channels" {
			return nil, fmt.Errorf("%s: unknown top-level key %q (the file holds a sites list)", file, k)
		}
	}
	raw, ok := top["sites"].([]any)
	if !ok && top["sites"] != nil {
		return nil, fmt.Errorf("%s: sites must be a list", file)
	}
	plan := make([]*plannedSite, 0, len(raw))
	seen := map[string]string{}
	for i, item := range raw {
		label := fmt.Sprintf("sites[%d]", i)
		entry, ok := item.(map[string]any)
		if !ok {
			return nil, fmt.Errorf("%s: %s: must be a mapping of settings", file, label)
		}
		names, err := takeChannelNames(entry)
		if err != nil {
			return nil, fmt.Errorf("%s: %s: %w", file, label, err)
		}
		p, err := planEntry(entry)
		if p != nil {
			p.channels = names
		}
		if p != nil && p.key != "" {
			label += " (" + p.key + ")"
		}
		if err != nil {
			return nil, fmt.Errorf("%s: %s: %w", file, label, err)
		}
		p.label = label
		if prev, dup := seen[p.key]; dup {
			return nil, fmt.Errorf("%s: %s: the same site as %s", file, label, prev)
		}
		seen[p.key] = label
		plan = append(plan, p)
	}
	return plan, nil
}

// planEntry turns one decoded YAML entry into API fields and validates
// them: the API's decoding (field names, types), the settings' rules,
// the URL and the kind.
func planEntry(entry map[string]any) (*plannedSite, error) {
	fields := make(map[string]any, len(entry))
	for k, v := range entry {
		jv, err := jsonValue(k, v)
		if err != nil {
			return nil, err
		}
		fields[k] = jv
	}
	p := &plannedSite{fields: fields, present: map[string]bool{}}
	for k := range fields {
		p.present[k] = true
	}
	// Name the entry in messages even when it does not decode.
	if u, ok := fields["url"].(string); ok {
		p.key = strings.TrimSpace(u)
	} else if n, ok := fields["name"].(string); ok && fields["kind"] == site.KindPush {
		p.key = "push:" + strings.TrimSpace(n)
	}
	b, err := json.Marshal(fields)
	if err != nil {
		return nil, err
	}
	if err := json.Unmarshal(b, &p.params); err != nil {
		return p, apiMessage(err)
	}
	name := strings.TrimSpace(p.params.Name)
	switch p.params.Kind {
	case site.KindPush:
		if name == "" {
			return p, errors.New("name: a push monitor needs a name")
		}
		p.key = "push:" + name
		if u := strings.TrimSpace(p.params.URL); u != "" && u != p.key {
			return p, fmt.Errorf("url: a push monitor's url is push:<name> (%s)", p.key)
		}
	default:
		u, err := site.ValidateURL(p.params.URL)
		if err != nil {
			return p, apiMessage(err)
		}
		p.key = u
		kind, err := site.KindOf(u)
		if err != nil {
			return p, apiMessage(err)
		}
		if p.params.Kind != "" && p.params.Kind != kind {
			return p, fmt.Errorf("kind: the url is a %s check, not %s", kind, p.params.Kind)
		}
	}
	if len(name) > site.MaxNameBytes || !utf8.ValidString(name) || strings.ContainsFunc(name, unicode.IsControl) {
		return p, fmt.Errorf("name: must be valid UTF-8 of at most %d bytes without control characters", site.MaxNameBytes)
	}
	if err := p.params.Validate(); err != nil {
		return p, apiMessage(err)
	}
	return p, nil
}

// jsonValue converts a YAML value to a JSON one. YAML numbers in
// expected_status and scalars in headers become strings, as the API wants
// them.
func jsonValue(key string, v any) (any, error) {
	switch key {
	case "expected_status":
		if list, ok := v.([]any); ok {
			out := make([]any, len(list))
			for i, e := range list {
				switch x := e.(type) {
				case int, int64, uint64:
					out[i] = fmt.Sprint(x)
				default:
					out[i] = e
				}
			}
			return out, nil
		}
	case "headers":
		if m, ok := v.(map[string]any); ok {
			out := make(map[string]any, len(m))
			for k, e := range m {
				switch x := e.(type) {
				case int, int64, uint64, float64, bool:
					out[k] = fmt.Sprint(x)
				default:
					out[k] = e
				}
			}
			return out, nil
		}
	}
	if _, err := json.Marshal(v); err != nil {
		return nil, fmt.Errorf("%s: not a JSON-compatible value", key)
	}
	return v, nil
}

// apiMessage returns the message of an API error ("field: why").
func apiMessage(err error) error {
	var e *api.Error
	if errors.As(err, &e) {
		return errors.New(e.Message)
	}
	return err
}

// settingsKeys maps each JSON key of site.Settings to its field index.
var settingsKeys = func() map[string]int {
	t := reflect.TypeFor[site.Settings]()
	m := make(map[string]int, t.NumField())
	for i := range t.NumField() {
		name, _, _ := strings.Cut(t.Field(i).Tag.Get("json"), ",")
		m[name] = i
	}
	return m
}()

// patchFor returns the PATCH body that makes cur what p describes: a
// changed field with its value, a field the entry leaves out and the site
// has set with null (its default). Interval, timeout and locations left
// out keep the site's values (a quorum left out is a majority of the
// locations). An empty body means the site is as described.
func patchFor(p *plannedSite, cur *site.Site) (map[string]any, error) {
	patch := map[string]any{}
	want := p.params.Settings
	if !p.present["interval"] {
		want.Interval = cur.Interval
	}
	if !p.present["timeout"] {
		want.Timeout = cur.Timeout
	}
	if !p.present["locations"] {
		want.Locations = cur.Locations
	}
	want = want.Filled(site.Defaults{Interval: cur.Interval.D(), Timeout: cur.Timeout.D()})
	wv, cv := reflect.ValueOf(want), reflect.ValueOf(cur.Settings)
	for key, i := range settingsKeys {
		same, err := sameJSON(wv.Field(i).Interface(), cv.Field(i).Interface())
		if err != nil {
			return nil, err
		}
		if same {
			continue
		}
		if p.present[key] {
			patch[key] = p.fields[key]
		} else {
			patch[key] = nil
		}
	}
	if name := strings.TrimSpace(p.params.Name); name != cur.Name {
		patch["name"] = name
	}
	return patch, nil
}

// sameJSON reports whether a and b encode to the same JSON, compared as
// decoded values (so spacing and escaping do not matter).
func sameJSON(a, b any) (bool, error) {
	canon := func(v any) (string, error) {
		raw, err := json.Marshal(v)
		if err != nil {
			return "", err
		}
		var x any
		if err := json.Unmarshal(raw, &x); err != nil {
			return "", err
		}
		out, err := json.Marshal(x)
		return string(out), err
	}
	ca, err := canon(a)
	if err != nil {
		return false, err
	}
	cb, err := canon(b)
	return ca == cb, err
}
