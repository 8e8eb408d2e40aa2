package cli

import (
	"bytes"
	"context"
	"encoding/json"
	"fmt"
	"net/http"
	"os"
	"regexp"
	"sort"
	"strconv"
	"strings"

	"go.yaml.in/yaml/v3"

	"upmon/channels"
	"upmon/notify"
	"upmon/notify/kinds"
)

// A sites file may carry the notification channels and the sites'
// routing:
//
//	channels:
//	  - name: ops
//	    kind: slack
//	    settings:
//	      webhook_url: ${UPMON_CHANNEL_OPS_WEBHOOK_URL}
//	    events: [down, up]
//	    default: true
//	sites:
//	  - url: https://example.com
//	    channels: [ops]
//
// Channels are matched by name; sites name them by name. Secret settings
// are never written: export writes a ${VARIABLE} reference, and import
// reads the value from that environment variable (left unset, a channel
// already on the server keeps its stored secret). The implicit Slack
// channel (managed_by SlackWebhookURL) is not written: the secret defines
// it on each server, and sites naming it find it there by name.

// channelEntry is one channel of a sites file.
type channelEntry struct {
	Name        string         `yaml:"name" json:"name"`
	Kind        string         `yaml:"kind" json:"kind"`
	Settings    map[string]any `yaml:"settings,omitempty" json:"settings,omitempty"`
	Events      []string       `yaml:"events,omitempty,flow" json:"events,omitempty"`
	Tags        []string       `yaml:"tags,omitempty,flow" json:"tags,omitempty"`
	Default     bool           `yaml:"default,omitempty" json:"default"`
	Disabled    bool           `yaml:"disabled,omitempty" json:"disabled"`
	GroupAfter  int            `yaml:"group_after,omitempty" json:"group_after,omitempty"`
	Concurrency int            `yaml:"concurrency,omitempty" json:"concurrency,omitempty"`
	RemindEvery string         `yaml:"remind_every,omitempty" json:"remind_every"`
	Template    string         `yaml:"template,omitempty" json:"template"`
}

var refRE = regexp.MustCompile(`^\$\{([A-Za-z_][A-Za-z0-9_]*)\}$`)

// secretRef is the variable name export writes for a secret setting.
func secretRef(channel, field string) string {
	up := strings.ToUpper(channel + "_" + field)
	up = regexp.MustCompile(`[^A-Z0-9]+`).ReplaceAllString(up, "_")
	return "${UPMON_CHANNEL_" + strings.Trim(up, "_") + "}"
}

// exportChannels returns the server's channels as entries (secrets as
// references) and their names by id.
func exportChannels(ctx context.Context, c *sitesClient) ([]channelEntry, map[int64]string, error) {
	var list channels.ListResponse
	if err := c.do(ctx, http.MethodGet, "/channels", nil, &list); err != nil {
		return nil, nil, err
	}
	reg, err := kinds.Registry()
	if err != nil {
		return nil, nil, err
	}
	names := map[int64]string{}
	out := []channelEntry{}
	for _, ch := range list.Channels {
		names[ch.ID] = ch.Name
		if ch.ManagedBy != "" {
			continue
		}
		e := channelEntry{Name: ch.Name, Kind: ch.Kind, Settings: ch.Settings, Tags: ch.Tags, Default: ch.Default,
			Disabled: !ch.Enabled, RemindEvery: ch.RemindEvery, Template: ch.Template}
		if len(ch.Events) != len(notify.Events()) {
			e.Events = ch.Events
		}
		if ch.GroupAfter != channels.DefaultGroupAfter {
			e.GroupAfter = ch.GroupAfter
		}
		if ch.Concurrency != channels.DefaultConcurrency {
			e.Concurrency = ch.Concurrency
		}
		if k, ok := reg.Kind(ch.Kind); ok {
			for _, sec := range k.Secrets {
				switch v := e.Settings[sec.Name].(type) {
				case string:
					if v != "" {
						e.Settings[sec.Name] = secretRef(ch.Name, sec.Name)
					}
				case map[string]any:
					for key := range v {
						v[key] = secretRef(ch.Name, sec.Name+"_"+key)
					}
				}
			}
		}
		out = append(out, e)
	}
	return out, names, nil
}

// channelNames maps a site's channel ids to names for export.
func channelNames(ids []int64, names map[int64]string) []string {
	var out []string
	for _, id := range ids {
		if n, ok := names[id]; ok {
			out = append(out, n)
		} else {
			out = append(out, strconv.FormatInt(id, 10))
		}
	}
	return out
}

// plannedChannel is a validated channel entry with its secrets resolved.
type plannedChannel struct {
	label    string
	entry    channelEntry
	settings map[string]any // secrets resolved; unresolved ones left out
	missing  []string       // secret settings whose variable is unset
}

// parseChannels validates the channels of a sites file: known kind,
// settings valid for the kind (with placeholders for unset secrets),
// secrets only as ${VARIABLE} references.
func parseChannels(file string, raw any, env []string) ([]*plannedChannel, error) {
	if raw == nil {
		return nil, nil
	}
	b, err := json.Marshal(raw)
	if err != nil {
		return nil, fmt.Errorf("%s: channels: not a JSON-compatible value", file)
	}
	var entries []channelEntry
	dec := json.NewDecoder(bytes.NewReader(b))
	dec.DisallowUnknownFields()
	if err := dec.Decode(&entries); err != nil {
		return nil, fmt.Errorf("%s: channels: must be a list of channels (%v)", file, err)
	}
	reg, err := kinds.Registry()
	if err != nil {
		return nil, err
	}
	seen := map[string]bool{}
	var out []*plannedChannel
	for i, e := range entries {
		label := fmt.Sprintf("%s: channels[%d] (%s)", file, i, e.Name)
		if strings.TrimSpace(e.Name) == "" || seen[e.Name] {
			return nil, fmt.Errorf("%s: name: must be present and unique", label)
		}
		seen[e.Name] = true
		p, err := planChannel(reg, e, env)
		if err != nil {
			return nil, fmt.Errorf("%s: %w", label, err)
		}
		p.label = label
		out = append(out, p)
	}
	return out, nil
}

func planChannel(reg *notify.Registry, e channelEntry, env []string) (*plannedChannel, error) {
	k, ok := reg.Kind(e.Kind)
	if !ok {
		return nil, fmt.Errorf("kind: %q is not a known kind", e.Kind)
	}
	p := &plannedChannel{entry: e, settings: map[string]any{}}
	check := map[string]any{}
	for key, v := range e.Settings {
		p.settings[key], check[key] = v, v
	}
	for _, sec := range k.Secrets {
		v, ok := e.Settings[sec.Name]
		if !ok {
			continue
		}
		val, set, err := resolveSecret(sec.Name, v, env)
		if err != nil {
			return nil, err
		}
		if !set {
			delete(p.settings, sec.Name)
			p.missing = append(p.missing, sec.Name)
			check[sec.Name] = placeholderFor(k, sec.Name)
			continue
		}
		p.settings[sec.Name], check[sec.Name] = val, val
	}
	b, _ := json.Marshal(check)
	if _, err := k.Decode(b); err != nil {
		return nil, fmt.Errorf("settings.%w", err)
	}
	return p, nil
}

// resolveSecret reads a secret setting's ${VARIABLE} (or a map of them).
func resolveSecret(field string, v any, env []string) (any, bool, error) {
	switch t := v.(type) {
	case string:
		m := refRE.FindStringSubmatch(t)
		if m == nil {
			return nil, false, fmt.Errorf("settings.%s: a secret must be a ${VARIABLE} reference, not a value", field)
		}
		val, ok := lookupEnv(env, m[1])
		return val, ok, nil
	case map[string]any:
		out := map[string]any{}
		for key, e := range t {
			val, ok, err := resolveSecret(field+"."+key, e, env)
			if err != nil || !ok {
				return nil, false, err
			}
			out[key] = val
		}
		return out, true, nil
	}
	return nil, false, fmt.Errorf("settings.%s: a secret must be a ${VARIABLE} reference", field)
}

func lookupEnv(env []string, name string) (string, bool) {
	for i := len(env) - 1; i >= 0; i-- {
		if k, v, ok := strings.Cut(env[i], "="); ok && k == name {
			return v, true
		}
	}
	if env == nil {
		return os.LookupEnv(name)
	}
	return "", false
}

// placeholderFor is a value that passes the kind's checks, standing in
// for a secret kept on the server.
func placeholderFor(k notify.Kind, field string) any {
	for _, sec := range k.Secrets {
		if sec.Name == field {
			switch sec.Form {
			case notify.SecretURL:
				return "https://placeholder.invalid/x/y"
			case notify.SecretMap:
				return map[string]any{}
			}
		}
	}
	return "placeholder-placeholder-placeholder"
}

// applyChannels creates or updates the file's channels (by name) and
// returns every channel's id by name.
func applyChannels(ctx context.Context, c *sitesClient, plan []*plannedChannel, sum *importSummary) (map[string]int64, error) {
	var list channels.ListResponse
	if err := c.do(ctx, http.MethodGet, "/channels", nil, &list); err != nil {
		return nil, err
	}
	ids := map[string]int64{}
	for _, ch := range list.Channels {
		ids[ch.Name] = ch.ID
	}
	sort.SliceStable(plan, func(i, j int) bool { return plan[i].entry.Name < plan[j].entry.Name })
	for _, p := range plan {
		e := p.entry
		body := map[string]any{"name": e.Name, "settings": p.settings, "events": e.Events, "tags": e.Tags,
			"default": e.Default, "enabled": !e.Disabled, "remind_every": e.RemindEvery, "template": e.Template,
			"group_after": orDefault(e.GroupAfter, channels.DefaultGroupAfter), "concurrency": orDefault(e.Concurrency, channels.DefaultConcurrency)}
		if e.Events == nil {
			body["events"] = []string{}
		}
		if e.Tags == nil {
			body["tags"] = []string{}
		}
		id, exists := ids[e.Name]
		if !exists {
			if len(p.missing) > 0 {
				return nil, fmt.Errorf("%s: settings.%s: its variable is not set, and the channel is new", p.label, p.missing[0])
			}
			body["kind"] = e.Kind
			var out channels.Channel
			if err := c.do(ctx, http.MethodPost, "/channels", body, &out); err != nil {
				return nil, fmt.Errorf("%s: %w", p.label, err)
			}
			ids[e.Name] = out.ID
			sum.channelsAdded++
			continue
		}
		if err := c.do(ctx, http.MethodPatch, "/channels/"+strconv.FormatInt(id, 10), body, nil); err != nil {
			return nil, fmt.Errorf("%s: %w", p.label, err)
		}
		sum.channelsUpdated++
	}
	return ids, nil
}

func orDefault(v, def int) int {
	if v == 0 {
		return def
	}
	return v
}

// parseChannelsOf validates the channels list of a sites file.
func parseChannelsOf(file string, data []byte, env []string) ([]*plannedChannel, error) {
	var top map[string]any
	if err := yaml.Unmarshal(data, &top); err != nil {
		return nil, fmt.Errorf("%s: %v", file, err)
	}
	return parseChannels(file, top["channels"], env)
}

// takeChannelNames removes a site entry's channels (names) so the entry
// decodes as the API's; they become ids once the channels exist.
func takeChannelNames(entry map[string]any) ([]string, error) {
	raw, ok := entry["channels"]
	if !ok {
		return nil, nil
	}
	delete(entry, "channels")
	list, ok := raw.([]any)
	if !ok && raw != nil {
		return nil, fmt.Errorf("channels: must be a list of channel names")
	}
	names := []string{}
	for i, v := range list {
		n, ok := v.(string)
		if !ok || strings.TrimSpace(n) == "" {
			return nil, fmt.Errorf("channels[%d]: must be a channel name", i)
		}
		names = append(names, n)
	}
	return names, nil
}

// routeSites checks every channel a site names exists (in the file or on
// the server), applies the file's channels, and sets each site's channel
// ids.
func routeSites(ctx context.Context, c *sitesClient, plan []*plannedSite, chans []*plannedChannel, sum *importSummary) error {
	var list channels.ListResponse
	if err := c.do(ctx, http.MethodGet, "/channels", nil, &list); err != nil {
		return err
	}
	known := map[string]bool{}
	for _, ch := range list.Channels {
		known[ch.Name] = true
	}
	for _, p := range chans {
		known[p.entry.Name] = true
	}
	for _, p := range plan {
		for i, n := range p.channels {
			if !known[n] {
				return fmt.Errorf("%s: channels[%d]: no channel named %q in the file or on the server", p.label, i, n)
			}
		}
	}
	ids, err := applyChannels(ctx, c, chans, sum)
	if err != nil {
		return err
	}
	for _, p := range plan {
		if p.channels == nil {
			continue
		}
		list := make([]int64, 0, len(p.channels))
		for _, n := range p.channels {
			list = append(list, ids[n])
		}
		p.fields["channels"], p.params.Channels, p.present["channels"] = list, list, true
	}
	return nil
}
