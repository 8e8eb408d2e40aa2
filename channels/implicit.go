package channels

import (
	"bytes"
	"context"
	"database/sql"
	"encoding/json"
	"fmt"

	"upmon/notify/slack"
	"upmon/platform/api"
	"upmon/platform/sqldb"
)

// The implicit Slack channel: the tutorial's SlackWebhookURL secret (or
// SLACK_WEBHOOK_URL) keeps working as a default Slack channel with
// nothing else configured. It is an ordinary row of the channels table,
// served by the same queue as every channel (per-site order across
// replicas, retries, grouping in storms, dead letters, status), whose
// name and settings belong to the secret: the API may change its events,
// tags, default, enabled and delivery settings, but not its webhook or
// name, and cannot delete it (removing the secret does).
const (
	// ManagedBySlackSecret is the managed_by of the implicit Slack
	// channel: the secret that defines it.
	ManagedBySlackSecret = "SlackWebhookURL"
	// ImplicitSlackName is the implicit Slack channel's name.
	ImplicitSlackName = "slack (SlackWebhookURL)"
)

func errManaged(r *record) error {
	return api.Errorf(api.FailedPrecondition,
		"channel %q is defined by the %s secret: its name and webhook change with `upmon secret set %s`, and it goes away when the secret is removed",
		r.Name, r.ManagedBy, r.ManagedBy)
}

// EnsureImplicitSlack makes the implicit Slack channel match webhookURL:
// created (default, enabled, every event) when the secret is set and the
// channel does not exist, its webhook updated when the secret changed,
// and deleted with its queue when the secret is gone (webhookURL ""). It
// runs at start-up on every replica; replicas starting together converge
// on one row (the name is unique).
func (s *Service) EnsureImplicitSlack(ctx context.Context, webhookURL string) error {
	var settings []byte
	if webhookURL != "" {
		st := &slack.Settings{WebhookURL: webhookURL}
		if err := st.Validate(); err != nil {
			// The text names the field, never the URL.
			return fmt.Errorf("the %s secret: %w", ManagedBySlackSecret, err)
		}
		b, err := json.Marshal(st)
		if err != nil {
			return err
		}
		settings = b
	}
	var err error
	for range 3 {
		if err = s.ensureImplicit(ctx, settings); !sqldb.IsUniqueViolation(err) {
			break
		}
		// Another replica created it at the same moment: look again.
	}
	if err != nil {
		return dbError("implicit slack channel", err)
	}
	// The workers take the new webhook now, not at the next poll.
	s.mu.Lock()
	started := s.ctx != nil
	s.mu.Unlock()
	if started {
		return s.syncWorkers(ctx)
	}
	return nil
}

func (s *Service) ensureImplicit(ctx context.Context, settings []byte) error {
	rs, err := s.loadRecords(ctx, s.db, "WHERE managed_by = $1", ManagedBySlackSecret)
	if err != nil {
		return err
	}
	switch {
	case len(rs) == 0 && settings == nil:
		return nil
	case len(rs) == 0:
		name, err := s.freeName(ctx, ImplicitSlackName)
		if err != nil {
			return err
		}
		r := &record{Name: name, Kind: slack.Name, Settings: settings, Events: allEvents(), Tags: []string{},
			Default: true, Enabled: true, GroupAfter: DefaultGroupAfter, Concurrency: DefaultConcurrency,
			ManagedBy: ManagedBySlackSecret}
		if _, err := s.insertRow(ctx, r); err != nil {
			return err // a unique violation: another replica made it meanwhile
		}
		s.log.Info("the " + ManagedBySlackSecret + " secret is served as the default Slack channel " + name)
		return nil
	case settings == nil:
		s.log.Info("the " + ManagedBySlackSecret + " secret is gone: removing its Slack channel and its queue")
		return s.remove(ctx, rs[0].ID)
	case !bytes.Equal(rs[0].Settings, settings):
		rs[0].Settings = settings
		return s.save(ctx, rs[0])
	}
	return nil
}

// freeName returns name, or name with " 2", " 3", … when a channel made
// through the API already has it.
func (s *Service) freeName(ctx context.Context, name string) (string, error) {
	for i := 1; ; i++ {
		n := name
		if i > 1 {
			n = fmt.Sprintf("%s %d", name, i)
		}
		var id int64
		err := s.db.QueryRowContext(ctx, `SELECT id FROM channels WHERE name = $1`, n).Scan(&id)
		if err == sql.ErrNoRows {
			return n, nil
		}
		if err != nil {
			return "", err
		}
	}
}
