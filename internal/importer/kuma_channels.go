package importer

import (
	"encoding/json"
	"fmt"
	"strconv"
	"strings"

	"upmon/notify"
)

// kumaProviders maps each Uptime Kuma notification type upmon has a kind
// for: config key → setting.
var kumaProviders = map[string]providerMap{
	"slack": {"slack", map[string]settingKey{"slackwebhookURL": s("webhook_url"), "slackusername": s("username"),
		"slackiconemo": s("icon_emoji")}},
	"discord": {"discord", map[string]settingKey{"discordWebhookUrl": s("webhook_url"), "discordUsername": s("username"),
		"threadId": s("thread_id")}},
	"teams": {"teams", map[string]settingKey{"webhookUrl": s("webhook_url")}},
	"telegram": {"telegram", map[string]settingKey{"telegramBotToken": s("bot_token"), "telegramChatID": s("chat_id"),
		"telegramMessageThreadID": {"message_thread_id", convInt}, "telegramServerUrl": s("api_url")}},
	"pushover": {"pushover", map[string]settingKey{"pushoverapptoken": s("token"), "pushoveruserkey": s("user_key"),
		"pushoverdevice": s("device"), "pushoversounds": s("sound"), "pushoverpriority": {"priority", convInt}}},
	"gotify": {"gotify", map[string]settingKey{"gotifyserverurl": s("server_url"), "gotifyapplicationToken": s("token"),
		"gotifyPriority": {"priority", convInt}}},
	"ntfy": {"ntfy", map[string]settingKey{"ntfyserverurl": s("api_url"), "ntfytopic": s("topic"),
		"ntfyPriority": {"priority", convInt}, "ntfyusername": s("username"), "ntfypassword": s("password"),
		"ntfyaccesstoken": s("token")}},
	"matrix": {"matrix", map[string]settingKey{"homeserverUrl": s("homeserver_url"), "internalRoomId": s("room_id"),
		"accessToken": s("access_token")}},
	"mattermost": {"mattermost", map[string]settingKey{"mattermostWebhookUrl": s("webhook_url"), "mattermostchannel": s("channel"),
		"mattermostusername": s("username"), "mattermosticonurl": s("icon_url")}},
	"GoogleChat": {"googlechat", map[string]settingKey{"googleChatWebhookURL": s("webhook_url")}},
	"PagerDuty":  {"pagerduty", map[string]settingKey{"pagerdutyIntegrationKey": s("routing_key"), "pagerdutyPriority": s("severity")}},
	"Opsgenie":   {"opsgenie", map[string]settingKey{"opsgenieApiKey": s("api_key")}},
	"smtp": {"email", map[string]settingKey{"smtpHost": s("host"), "smtpPort": {"port", convInt}, "smtpUsername": s("username"),
		"smtpPassword": s("password"), "smtpFrom": s("from"), "smtpTo": {"to", convList}}},
	"webhook": {"webhook", map[string]settingKey{"webhookURL": s("url"), "httpMethod": s("method")}},
}

// kumaChannel maps one notification; nil when it has no upmon equivalent
// (recorded as a loss).
func kumaChannel(p *Plan, r *row, reg *notify.Registry) *Channel {
	name := r.str("name")
	r.where = fmt.Sprintf("%s (%s)", r.where, name)
	cfgText := r.str("config")
	cfg := map[string]any{}
	if err := json.Unmarshal([]byte(cfgText), &cfg); err != nil {
		p.lose(r.lineOf("config"), r.where+".config", "", "not a JSON object: notification not imported")
		return nil
	}
	typ, _ := cfg["type"].(string)
	pm, ok := kumaProviders[typ]
	if !ok {
		p.lose(r.lineOf("config"), r.where, typ, "upmon has no channel of this kind: notification not imported")
		return nil
	}
	c := &Channel{Line: r.line, Where: r.where, Name: name, Kind: pm.kind, Settings: map[string]any{},
		Events: []string{"down", "up"}, Default: r.flag("is_default")}
	if !r.flag("active") {
		p.note(r.lineOf("active"), r.where+".active", "", "inactive in Kuma: created disabled")
		c.Disabled = true
	}
	cr := newRow(r.where+".config", r.lineOf("config"))
	for k, v := range cfg {
		cr.set(k, cr.line, v)
	}
	for key, sk := range pm.keys {
		v := strings.TrimSpace(cr.str(key))
		if v == "" {
			continue
		}
		switch sk.conv {
		case convInt:
			n, err := strconv.Atoi(v)
			if err != nil {
				p.lose(cr.line, cr.where+"."+key, "", "not a number")
				continue
			}
			c.Settings[sk.name] = n
		case convList:
			var list []string
			for _, part := range strings.Split(v, ",") {
				if part = strings.TrimSpace(part); part != "" {
					list = append(list, part)
				}
			}
			c.Settings[sk.name] = list
		default:
			c.Settings[sk.name] = v
		}
	}
	kumaSpecial(p, cr, c)
	cr.leftovers(p, "no setting of upmon's "+pm.kind+" channel", "type", "name", "isDefault", "applyExisting", "id", "userId", "active")
	raw, _ := json.Marshal(c.Settings)
	if _, err := reg.Decode(c.Kind, raw); err != nil {
		p.lose(r.line, r.where, "", fmt.Sprintf("not a valid %s channel (%v): notification not imported", c.Kind, err))
		return nil
	}
	r.leftovers(p, "no upmon equivalent", "id", "name", "config", "user_id", "userId", "is_default", "isDefault", "active")
	return c
}

// kumaSpecial maps the settings that need more than a rename.
func kumaSpecial(p *Plan, cr *row, c *Channel) {
	switch c.Kind {
	case "telegram":
		if cr.flag("telegramSendSilently") {
			c.Settings["disable_notification"] = true
		}
	case "ntfy":
		cr.get("ntfyAuthenticationMethod")
	case "pagerduty":
		if u := strings.TrimSpace(cr.str("pagerdutyIntegrationUrl")); u != "" {
			c.Settings["api_url"] = strings.TrimSuffix(strings.TrimSuffix(u, "/"), "/v2/enqueue")
		}
		cr.get("pagerdutyAutoResolve")
	case "opsgenie":
		if n := int(cr.num("opsgeniePriority")); n >= 1 && n <= 5 {
			c.Settings["priority"] = "P" + strconv.Itoa(n)
		}
		if strings.EqualFold(cr.str("opsgenieRegion"), "eu") {
			c.Settings["api_url"] = "https://api.eu.opsgenie.com"
		}
	case "email":
		c.Settings["security"] = "starttls"
		if cr.flag("smtpSecure") {
			c.Settings["security"] = "tls"
		}
	case "teams":
		p.note(cr.line, cr.where+".webhookUrl", "", "upmon posts to a Teams workflow webhook; a retired Office 365 connector URL will not work")
	case "webhook":
		if h := strings.TrimSpace(cr.str("webhookAdditionalHeaders")); h != "" {
			var m map[string]any
			if json.Unmarshal([]byte(h), &m) == nil {
				headers := map[string]string{}
				for k, v := range m {
					headers[k] = fmt.Sprint(v)
				}
				c.Settings["headers"] = headers
			} else {
				p.lose(cr.line, cr.where+".webhookAdditionalHeaders", "", "not a JSON object of headers")
			}
		}
		if ct := cr.str("webhookContentType"); ct != "" && ct != "json" {
			p.lose(cr.line, cr.where+".webhookContentType", ct, "upmon's webhook always sends its JSON document")
		}
	}
}
