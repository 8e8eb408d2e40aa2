package importer

import (
	"encoding/json"
	"fmt"
	"strings"

	"go.yaml.in/yaml/v3"
)

// settingConv says how a provider's value becomes a setting.
type settingConv int

const (
	convString settingConv = iota
	convInt
	convList // a list, or a comma-separated string
	convMap
)

// providerMap maps one Gatus provider's keys to a notify kind's settings.
type providerMap struct {
	kind string
	keys map[string]settingKey
}

type settingKey struct {
	name string
	conv settingConv
}

func s(name string) settingKey { return settingKey{name, convString} }

// gatusProviders maps each Gatus alerting provider upmon has a kind for.
var gatusProviders = map[string]providerMap{
	"slack":           {"slack", map[string]settingKey{"webhook-url": s("webhook_url")}},
	"discord":         {"discord", map[string]settingKey{"webhook-url": s("webhook_url")}},
	"teams-workflows": {"teams", map[string]settingKey{"webhook-url": s("webhook_url")}},
	"mattermost":      {"mattermost", map[string]settingKey{"webhook-url": s("webhook_url"), "channel": s("channel")}},
	"google-chat":     {"googlechat", map[string]settingKey{"webhook-url": s("webhook_url")}},
	"telegram": {"telegram", map[string]settingKey{"token": s("bot_token"), "id": s("chat_id"),
		"topic-id": {"message_thread_id", convInt}, "api-url": s("api_url")}},
	"pagerduty": {"pagerduty", map[string]settingKey{"integration-key": s("routing_key")}},
	"opsgenie": {"opsgenie", map[string]settingKey{"api-key": s("api_key"), "priority": s("priority"),
		"tags": {"tags", convList}}},
	"email": {"email", map[string]settingKey{"from": s("from"), "username": s("username"), "password": s("password"),
		"host": s("host"), "port": {"port", convInt}, "to": {"to", convList}}},
	"ntfy": {"ntfy", map[string]settingKey{"topic": s("topic"), "url": s("api_url"), "token": s("token"),
		"priority": {"priority", convInt}}},
	"pushover": {"pushover", map[string]settingKey{"application-token": s("token"), "user-key": s("user_key"),
		"priority": {"priority", convInt}, "sound": s("sound"), "device": s("device")}},
	"gotify": {"gotify", map[string]settingKey{"server-url": s("server_url"), "token": s("token"),
		"priority": {"priority", convInt}}},
	"matrix": {"matrix", map[string]settingKey{"server-url": s("homeserver_url"), "access-token": s("access_token"),
		"internal-room-id": s("room_id")}},
	"custom": {"webhook", map[string]settingKey{"url": s("url"), "method": s("method"), "headers": {"headers", convMap}}},
}

// gatusProvider is one configured alerting provider.
type gatusProvider struct {
	channel  *Channel // nil when it has no upmon equivalent
	defaults map[string]*yaml.Node
	resolved []alertUse
	used     bool
}

// alertUse records an endpoint alert's send-on-resolved.
type alertUse struct {
	line  int
	where string
	on    bool
}

func (g *gatusParser) parseAlerting(n *yaml.Node) error {
	if err := asMap(n, "alerting"); err != nil {
		return err
	}
	for _, f := range fields(n) {
		at := "alerting." + f.key
		if err := asMap(f.val, at); err != nil {
			return err
		}
		p := &gatusProvider{defaults: map[string]*yaml.Node{}}
		g.alerting[f.key] = p
		pm, ok := gatusProviders[f.key]
		if !ok {
			why := "upmon has no channel of this kind: alerts of this type are not imported"
			if f.key == "teams" {
				why = "the Office 365 connector is retired; create a Teams workflow webhook (teams-workflows): alerts of this type are not imported"
			}
			g.plan.lose(f.line, at, "", why)
			continue
		}
		settings := map[string]any{}
		for _, pf := range fields(f.val) {
			if err := g.providerField(p, pm, settings, pf, at+"."+pf.key); err != nil {
				return err
			}
		}
		raw, _ := json.Marshal(settings)
		if _, err := g.reg.Decode(pm.kind, raw); err != nil {
			g.plan.lose(f.line, at, "", fmt.Sprintf("not a valid %s channel (%v): alerts of this type are not imported", pm.kind, err))
			continue
		}
		p.channel = &Channel{Line: f.line, Where: at, Name: "gatus-" + f.key, Kind: pm.kind, Settings: settings}
	}
	return nil
}

func (g *gatusParser) providerField(p *gatusProvider, pm providerMap, settings map[string]any, f field, at string) error {
	switch f.key {
	case "default-alert":
		if err := asMap(f.val, at); err != nil {
			return err
		}
		for _, d := range fields(f.val) {
			p.defaults[d.key] = d.val
		}
		return nil
	case "overrides":
		g.plan.lose(f.line, at, "", "per-group overrides are not imported: every group alerts through the one channel")
		return nil
	}
	sk, ok := pm.keys[f.key]
	if !ok {
		g.plan.lose(f.line, at, "", "no setting of upmon's "+pm.kind+" channel")
		return nil
	}
	switch sk.conv {
	case convInt:
		v, err := asInt(f.val, at)
		if err != nil {
			return err
		}
		settings[sk.name] = v
	case convList:
		if f.val.Kind == yaml.SequenceNode {
			list, _ := asList(f.val, at)
			var out []string
			for _, c := range list {
				v, err := asString(c, at)
				if err != nil {
					return err
				}
				out = append(out, v)
			}
			settings[sk.name] = out
			return nil
		}
		v, err := asString(f.val, at)
		if err != nil {
			return err
		}
		var out []string
		for _, part := range strings.Split(v, ",") {
			if part = strings.TrimSpace(part); part != "" {
				out = append(out, part)
			}
		}
		settings[sk.name] = out
	case convMap:
		m, err := asStringMap(f.val, at)
		if err != nil {
			return err
		}
		settings[sk.name] = m
	default:
		v, err := asString(f.val, at)
		if err != nil {
			return err
		}
		settings[sk.name] = v
	}
	return nil
}

// endpointAlerts maps an endpoint's alerts to routing and thresholds.
func (g *gatusParser) endpointAlerts(e *gatusEndpoint, st *Site) error {
	list, err := asList(e.alerts, e.where+".alerts")
	if err != nil {
		return err
	}
	thresholdsAt := ""
	for i, n := range list {
		where := fmt.Sprintf("%s.alerts[%d]", e.where, i)
		a, err := g.alert(n, where)
		if err != nil {
			return err
		}
		if a == nil {
			continue
		}
		p := g.alerting[a.typ]
		if p == nil || p.channel == nil {
			why := "no alerting provider of this type is configured: alert not imported"
			if p != nil {
				why = "its provider (alerting." + a.typ + ") has no upmon channel: alert not imported"
			}
			g.plan.lose(n.Line, where, a.typ, why)
			continue
		}
		if !a.enabled {
			g.plan.note(n.Line, where, a.typ, "disabled in Gatus: the site is not routed to the channel")
			continue
		}
		p.used = true
		p.resolved = append(p.resolved, alertUse{n.Line, where, a.sendOnResolved})
		st.Channels = append(st.Channels, p.channel.Name)
		if thresholdsAt == "" {
			thresholdsAt = where
			st.Fields["failure_threshold"] = a.failure
			st.Fields["success_threshold"] = a.success
		} else if a.failure != st.Fields["failure_threshold"] || a.success != st.Fields["success_threshold"] {
			g.plan.lose(n.Line, where, a.typ, "upmon has one pair of thresholds per site; those of "+thresholdsAt+" are kept")
		}
	}
	return nil
}

// gatusAlert is one endpoint alert with the provider's defaults applied.
type gatusAlert struct {
	typ              string
	enabled          bool
	failure, success int
	sendOnResolved   bool
}

func (g *gatusParser) alert(n *yaml.Node, where string) (*gatusAlert, error) {
	if err := asMap(n, where); err != nil {
		return nil, err
	}
	a := &gatusAlert{enabled: true, failure: 3, success: 2}
	vals := map[string]field{}
	for _, f := range fields(n) {
		vals[f.key] = f
	}
	tf, ok := vals["type"]
	if !ok {
		return nil, fmt.Errorf("line %d: %s: an alert needs a type", n.Line, where)
	}
	var err error
	if a.typ, err = asString(tf.val, where+".type"); err != nil {
		return nil, err
	}
	if p := g.alerting[a.typ]; p != nil {
		for k, v := range p.defaults {
			if _, set := vals[k]; !set {
				vals[k] = field{key: k, line: v.Line, val: v}
			}
		}
	}
	for k, f := range vals {
		at := where + "." + k
		switch k {
		case "type":
		case "enabled":
			a.enabled, err = asBool(f.val, at)
		case "failure-threshold":
			a.failure, err = asInt(f.val, at)
		case "success-threshold":
			a.success, err = asInt(f.val, at)
		case "send-on-resolved":
			a.sendOnResolved, err = asBool(f.val, at)
		case "description":
			g.plan.lose(f.line, at, "", "upmon's messages carry the reason of the check, not a per-alert description")
		default:
			g.plan.lose(f.line, at, "", "no upmon equivalent")
		}
		if err != nil {
			return nil, err
		}
	}
	return a, nil
}

// finishChannels adds the channels with their events: down, and up when
// an alert sends on resolved.
func (g *gatusParser) finishChannels() error {
	for _, name := range sortedKeys(g.alerting) {
		p := g.alerting[name]
		if p.channel == nil {
			continue
		}
		up := false
		for _, r := range p.resolved {
			up = up || r.on
		}
		p.channel.Events = []string{"down"}
		if up {
			p.channel.Events = append(p.channel.Events, "up")
			for _, r := range p.resolved {
				if !r.on {
					g.plan.lose(r.line, r.where+".send-on-resolved", "false", "the channel "+p.channel.Name+" also announces recoveries (another alert sends on resolved)")
				}
			}
		}
		if !p.used {
			g.plan.note(p.channel.Line, p.channel.Where, "", "no endpoint alerts through it: the channel is created without sites")
		}
		g.plan.Channels = append(g.plan.Channels, p.channel)
	}
	return nil
}
