package channels_test

import (
	"context"
	"encoding/json"
	"strings"
	"sync"
	"testing"

	"upmon/channels"
	"upmon/notify"
	"upmon/platform/api"
)

// implicitChannel returns the channel the SlackWebhookURL secret defines,
// or nil.
func implicitChannel(t *testing.T, f *fixture) *channels.Channel {
	t.Helper()
	l, err := f.svc.List(context.Background(), nil)
	if err != nil {
		t.Fatal(err)
	}
	var found *channels.Channel
	for i, c := range l.Channels {
		if c.ManagedBy == channels.ManagedBySlackSecret {
			if found != nil {
				t.Fatalf("two implicit Slack channels: %+v", l.Channels)
			}
			found = &l.Channels[i]
		}
	}
	return found
}

// TestImplicitSlackChannel: the secret becomes one default Slack channel
// (once, however many replicas start at once), its webhook follows the
// secret and never shows in answers, the API may change its routing but
// not its name or webhook nor delete it, and removing the secret removes
// it.
func TestImplicitSlackChannel(t *testing.T) {
	t.Parallel()
	f := newFixture(t, nil)
	ctx := context.Background()
	first, second := newHook(t), newHook(t)

	var wg sync.WaitGroup
	errs := make(chan error, 4)
	svcs := []*channels.Service{f.svc}
	for range 3 {
		svcs = append(svcs, f.replica(t, nil))
	}
	for _, svc := range svcs {
		wg.Add(1)
		go func() {
			defer wg.Done()
			errs <- svc.EnsureImplicitSlack(ctx, first.URL)
		}()
	}
	wg.Wait()
	close(errs)
	for err := range errs {
		if err != nil {
			t.Fatalf("EnsureImplicitSlack: %v", err)
		}
	}
	c := implicitChannel(t, f)
	if c == nil {
		t.Fatal("no implicit Slack channel")
	}
	if c.Name != channels.ImplicitSlackName || c.Kind != "slack" || !c.Default || !c.Enabled || len(c.Events) != len(notify.Events()) {
		t.Errorf("implicit channel = %+v", c)
	}
	b, _ := json.Marshal(c)
	if strings.Contains(string(b), "SECRETSECRET") {
		t.Errorf("the answer shows the webhook: %s", b)
	}

	// It serves sites that name no channel.
	f.addSite(1, nil)
	f.route(t, 1, notify.EventDown)
	if got := first.next(t); !strings.Contains(got, "is down!*") {
		t.Fatalf("webhook got %q", got)
	}

	refused := []channels.Fields{
		{Name: ptr("renamed")},
		{Settings: json.RawMessage(`{"webhook_url":"` + second.URL + `"}`)},
		{URL: ptr("slack://hook:T00000000-B00000000-XXXXXXXXXXXXXXXXXXXXXXXX@webhook")},
	}
	for _, p := range refused {
		if _, err := f.svc.Update(ctx, &channels.UpdateParams{ID: c.ID, Fields: p}); !api.IsCode(err, api.FailedPrecondition) {
			t.Errorf("PATCH %+v = %v, want failed_precondition", p, err)
		}
	}
	if _, err := f.svc.Delete(ctx, &channels.IDParams{ID: c.ID}); !api.IsCode(err, api.FailedPrecondition) {
		t.Errorf("DELETE = %v, want failed_precondition", err)
	} else if !strings.Contains(err.Error(), "upmon secret set SlackWebhookURL") {
		t.Errorf("the refusal does not say how to change it: %v", err)
	}
	// What it was shown, sent back (a form resubmitted), and its routing
	// fields are accepted.
	masked, _ := json.Marshal(c.Settings)
	got, err := f.svc.Update(ctx, &channels.UpdateParams{ID: c.ID, Fields: channels.Fields{Name: ptr(c.Name),
		Settings: masked, Events: &[]string{"down", "up"}, Tags: &[]string{"prod"}}})
	if err != nil {
		t.Fatalf("PATCH events with the masked settings: %v", err)
	}
	if strings.Join(got.Events, ",") != "down,up" || got.Tags[0] != "prod" {
		t.Errorf("after PATCH: %+v", got)
	}

	// A new secret: the same channel, the new webhook; its routing stays.
	// Every replica applies the secret, as every process does when it
	// starts: a replica that has not (its workers learn of the change at
	// their next poll) could send the up with the webhook it had.
	for _, svc := range svcs {
		if err := svc.EnsureImplicitSlack(ctx, second.URL); err != nil {
			t.Fatal(err)
		}
	}
	again := implicitChannel(t, f)
	if again == nil || again.ID != c.ID || strings.Join(again.Events, ",") != "down,up" {
		t.Fatalf("after a new secret: %+v (was id %d)", again, c.ID)
	}
	f.route(t, 1, notify.EventUp)
	if got := second.next(t); !strings.Contains(got, "is back up.*") {
		t.Fatalf("new webhook got %q", got)
	}

	// A bad secret is refused without showing it.
	err = f.svc.EnsureImplicitSlack(ctx, "ftp://hooks.example/SECRETSECRET")
	if err == nil || strings.Contains(err.Error(), "SECRETSECRET") || !strings.Contains(err.Error(), "SlackWebhookURL") {
		t.Errorf("bad secret: %v", err)
	}

	// No secret: the channel goes.
	if err := f.svc.EnsureImplicitSlack(ctx, ""); err != nil {
		t.Fatal(err)
	}
	if c := implicitChannel(t, f); c != nil {
		t.Errorf("the implicit channel outlived its secret: %+v", c)
	}
}

// TestImplicitSlackNameTaken: a channel made through the API with the
// implicit channel's name keeps it; the implicit one takes the next.
func TestImplicitSlackNameTaken(t *testing.T) {
	t.Parallel()
	f := newFixture(t, nil)
	mine := f.slack(t, channels.ImplicitSlackName, newHook(t).URL, nil)
	if err := f.svc.EnsureImplicitSlack(context.Background(), newHook(t).URL); err != nil {
		t.Fatal(err)
	}
	c := implicitChannel(t, f)
	if c == nil || c.ID == mine.ID || c.Name != channels.ImplicitSlackName+" 2" {
		t.Fatalf("implicit channel = %+v, API channel id %d", c, mine.ID)
	}
}
