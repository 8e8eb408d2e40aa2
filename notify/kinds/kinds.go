// Package kinds lists every kind of notification channel upmon offers,
// for the program to build its registry from.
package kinds

import (
	"upmon/notify"
	"upmon/notify/discord"
	"upmon/notify/email"
	"upmon/notify/googlechat"
	"upmon/notify/gotify"
	"upmon/notify/matrix"
	"upmon/notify/mattermost"
	"upmon/notify/ntfy"
	"upmon/notify/opsgenie"
	"upmon/notify/pagerduty"
	"upmon/notify/pushover"
	"upmon/notify/slack"
	"upmon/notify/teams"
	"upmon/notify/telegram"
	"upmon/notify/webhook"
)

// All returns every kind.
func All() []notify.Kind {
	return []notify.Kind{
		slack.Kind(), discord.Kind(), teams.Kind(), mattermost.Kind(), googlechat.Kind(),
		telegram.Kind(), ntfy.Kind(), pushover.Kind(), gotify.Kind(), matrix.Kind(),
		pagerduty.Kind(), opsgenie.Kind(), email.Kind(), webhook.Kind(),
	}
}

// Registry returns a registry of every kind.
func Registry() (*notify.Registry, error) { return notify.NewRegistry(All()...) }
