package e2e

import (
	"fmt"
	"net/http"
	"slices"
	"strings"
	"sync"
	"testing"
	"time"

	"upmon/internal/app"
	"upmon/internal/app/apptest"
)

// startWithSlack starts the program with a fake Slack webhook and one
// target site, and waits for the site's first (up) check.
func startWithSlack(t *testing.T, cfg app.Config, hooks app.Hooks) (*app.Main, apptest.Client, *apptest.Slack, *apptest.Target) {
	t.Helper()
	slack := apptest.NewSlack(t)
	cfg.Env = append(cfg.Env, "SLACK_WEBHOOK_URL="+slack.URL)
	m := apptest.Start(t, cfg, hooks)
	c := apptest.Client{Base: m.URL(), TB: t}
	target := apptest.NewTarget(t)
	c.JSON("POST", "/site", `{"url":"`+target.URL+`/health?a=1&b=<2>"}`, nil)
	waitChecked(t, c, "1")
	return m, c, slack, target
}

func waitChecked(t *testing.T, c apptest.Client, id string) {
	t.Helper()
	apptest.Eventually(t, 10*time.Second, "site "+id+" checked", func() bool {
		_, body := c.Do("GET", "/status", "")
		return strings.Contains(body, `"`+id+`":`)
	})
}

func downText(u string) string { return "*" + slackEscape(u) + " is down!*" }
func upText(u string) string   { return "*" + slackEscape(u) + " is back up.*" }
func slackEscape(s string) string {
	return strings.NewReplacer("&", "&amp;", "<", "&lt;", ">", "&gt;").Replace(s)
}

// firstLines returns the first line of each message: the tutorial's line;
// the reason follows on the next.
func firstLines(msgs []string) []string {
	out := make([]string, len(msgs))
	for i, m := range msgs {
		out[i], _, _ = strings.Cut(m, "\n")
	}
	return out
}

// settle gives stray duplicate deliveries time to show up.
const settle = 500 * time.Millisecond

func TestTransitionsNotifyExactlyOnce(t *testing.T) {
	t.Parallel()
	_, c, slack, target := startWithSlack(t, apptest.Config(t), app.Hooks{})
	u := target.URL + "/health?a=1&b=<2>"

	target.SetStatus(500)
	for range 3 {
		c.JSON("POST", "/check/1", "", nil)
	}
	if got := firstLines(slack.WaitFor(1, 10*time.Second)); len(got) != 1 || got[0] != downText(u) {
		t.Fatalf("after going down: %q, want [%q]", got, downText(u))
	}
	target.SetStatus(200)
	for range 3 {
		c.JSON("POST", "/check/1", "", nil)
	}
	slack.WaitFor(2, 10*time.Second)
	time.Sleep(settle)
	want := []string{downText(u), upText(u)}
	got := slack.Messages()
	if !slices.Equal(firstLines(got), want) {
		t.Fatalf("messages = %q, want %q", got, want)
	}
	if !strings.HasSuffix(got[0], "\nHTTP 500 after 1 failed check") || !strings.HasSuffix(got[1], "\nHTTP 200 after 1 successful check") {
		t.Fatalf("reason lines = %q", got)
	}
	// Spelled out, not built with slackEscape: the escaping itself is
	// under test here.
	if first, _, _ := strings.Cut(got[0], "\n"); first != "*"+target.URL+"/health?a=1&amp;b=&lt;2&gt; is down!*" {
		t.Fatalf("URL not escaped for Slack: %q", first)
	}
}

func TestSlackRetriedUntilDelivered(t *testing.T) {
	t.Parallel()
	_, c, slack, target := startWithSlack(t, apptest.Config(t), app.Hooks{})
	slack.Script(200, 500, 500, 500)
	target.SetStatus(503)
	c.JSON("POST", "/check/1", "", nil)
	slack.WaitFor(1, 10*time.Second)
	time.Sleep(settle)
	if got := firstLines(slack.Messages()); len(got) != 1 || !strings.HasSuffix(got[0], "is down!*") {
		t.Fatalf("messages = %q, want one down after retries", got)
	}
	var dl struct{ Deadletters []any }
	c.JSON("GET", "/admin/deadletters", "", &dl)
	if len(dl.Deadletters) != 0 {
		t.Fatalf("dead letters after a successful retry: %+v", dl)
	}
}

// TestSlackRejectionDeadLettersThenReplay: a webhook that refuses (404)
// makes the notification a dead letter of the implicit Slack channel at
// once, listed without the webhook (a secret); once the webhook is fixed,
// replaying delivers it once and empties the list.
func TestSlackRejectionDeadLettersThenReplay(t *testing.T) {
	t.Parallel()
	_, c, slack, target := startWithSlack(t, apptest.Config(t), app.Hooks{})
	id := implicitSlackID(t, c)
	slack.Script(404)
	target.SetStatus(500)
	c.JSON("POST", "/check/1", "", nil)

	var dl struct {
		DeadLetters []struct {
			ID       int64          `json:"id"`
			SiteID   int64          `json:"site_id"`
			Message  map[string]any `json:"message"`
			Error    string         `json:"error"`
			Attempts int            `json:"attempts"`
		} `json:"dead_letters"`
	}
	path := fmt.Sprintf("/channels/%d/dead-letters", id)
	apptest.Eventually(t, 10*time.Second, "a dead letter", func() bool {
		c.JSON("GET", path, "", &dl)
		return len(dl.DeadLetters) == 1
	})
	d := dl.DeadLetters[0]
	if d.SiteID != 1 || d.Attempts != 1 || !strings.Contains(d.Error, "404") ||
		d.Message["event"] != "down" || d.Message["url"] != target.URL+"/health?a=1&b=<2>" {
		t.Fatalf("dead letter = %+v", d)
	}
	var ch struct {
		Status struct {
			LastError   string `json:"last_error"`
			DeadLetters int    `json:"dead_letters"`
		} `json:"status"`
	}
	c.JSON("GET", fmt.Sprintf("/channels/%d", id), "", &ch)
	if ch.Status.DeadLetters != 1 || !strings.Contains(ch.Status.LastError, "404") {
		t.Errorf("channel status = %+v", ch.Status)
	}
	_, raw := c.Do("GET", path, "")
	_, rawCh := c.Do("GET", fmt.Sprintf("/channels/%d", id), "")
	// The channel shows its webhook masked (…/services/T000/B000/••••);
	// the secret part never appears.
	if strings.Contains(raw+rawCh, "XXXXXXXX") || strings.Contains(raw+rawCh, slack.URL) {
		t.Fatalf("the webhook URL (a secret) leaked into the dead letter or the channel's status: %s %s", raw, rawCh)
	}
	if n := len(slack.Messages()); n != 0 {
		t.Fatalf("a rejected message was recorded: %q", slack.Messages())
	}

	// Fix the webhook, replay: delivered once, and the entry is gone.
	slack.Script(200)
	if status, body := c.Do("POST", path+"/replay", ""); status != 200 {
		t.Fatalf("replay: %d %s", status, body)
	}
	if got := firstLines(slack.WaitFor(1, 10*time.Second)); len(got) != 1 || !strings.HasSuffix(got[0], "is down!*") {
		t.Fatalf("after replay: %q", got)
	}
	apptest.Eventually(t, 10*time.Second, "the replayed entry gone", func() bool {
		c.JSON("GET", path, "", &dl)
		return len(dl.DeadLetters) == 0
	})
	if got := slack.WaitFor(2, time.Second); len(got) != 1 {
		t.Fatalf("the replayed message was sent %d times: %q", len(got), got)
	}
}

// TestCorruptEventDeadLettersThenReplay: an event the router cannot use
// (a transition without a site, as a broken producer might publish) is a
// dead letter of its subscription at once, listed with its topic and
// error; replaying redelivers it (here it fails again, and is a dead
// letter again), and an unknown id is not found.
func TestCorruptEventDeadLettersThenReplay(t *testing.T) {
	t.Parallel()
	m, c, slack, _ := startWithSlack(t, apptest.Config(t), app.Hooks{})
	publishCorruptTransition(t, m, 41)
	type deadLetter struct {
		ID           string         `json:"id"`
		Topic        string         `json:"topic"`
		Subscription string         `json:"subscription"`
		Message      map[string]any `json:"message"`
		Error        string         `json:"error"`
		Attempts     int            `json:"attempts"`
		FailedAt     time.Time      `json:"failed_at"`
	}
	var dl struct {
		Deadletters []deadLetter `json:"deadletters"`
	}
	apptest.Eventually(t, 10*time.Second, "a dead letter", func() bool {
		c.JSON("GET", "/admin/deadletters", "", &dl)
		return len(dl.Deadletters) == 1
	})
	d := dl.Deadletters[0]
	if d.Topic != "uptime-transition" || d.Subscription != "channels-transition" || d.Attempts != 1 ||
		!strings.Contains(d.Error, "without a site") || d.ID == "" || time.Since(d.FailedAt) > time.Minute ||
		d.Message["seq"] != float64(41) {
		t.Fatalf("dead letter = %+v", d)
	}
	if status, body := c.Do("POST", "/admin/deadletters/"+d.ID+"/replay", ""); status != 200 {
		t.Fatalf("replay: %d %s", status, body)
	}
	apptest.Eventually(t, 10*time.Second, "the replayed event dead-lettered again", func() bool {
		_, body := c.Do("GET", "/metrics", "")
		return promText(body).sum("upmon_pubsub_deadlettered_total", "subscription", "channels-transition") == 2
	})
	if status, body := c.Do("POST", "/admin/deadletters/no-such-id/replay", ""); status != 404 || !strings.Contains(body, "not_found") {
		t.Fatalf("replay of an unknown id: %d %s", status, body)
	}
	if n := len(slack.Messages()); n != 0 {
		t.Fatalf("a corrupt event was notified: %q", slack.Messages())
	}
}

func TestConcurrentChecksOfFlappingSite(t *testing.T) {
	t.Parallel()
	m, c, slack, _ := startWithSlack(t, apptest.Config(t), app.Hooks{})
	var (
		mu   sync.Mutex
		hits int
	)
	flapping := apptest.NewHandlerServer(t, http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		mu.Lock()
		hits++
		code := 200
		if hits%3 != 0 { // an irregular pattern of downs and ups
			code = 500
		}
		mu.Unlock()
		w.WriteHeader(code)
	}))
	c.JSON("POST", "/site", `{"url":"`+flapping+`"}`, nil)
	waitChecked(t, c, "2")

	var wg sync.WaitGroup
	for range 50 {
		wg.Add(1)
		go func() {
			defer wg.Done()
			resp, err := http.Post(m.URL()+"/check/2", "application/json", nil)
			if err == nil {
				resp.Body.Close()
			}
		}()
	}
	wg.Wait()

	var seq int
	if err := m.Monitor.DB().QueryRow(`SELECT seq FROM site_state WHERE site_id = 2`).Scan(&seq); err != nil {
		t.Fatal(err)
	}
	if seq == 0 {
		t.Fatal("no transitions: the flapping target did not flap")
	}
	slack.WaitFor(seq, 20*time.Second)
	time.Sleep(settle)
	got := firstLines(slack.Messages())
	if len(got) != seq {
		t.Fatalf("%d notifications for %d state changes: %q", len(got), seq, got)
	}
	for i, msg := range got {
		want := downText(flapping)
		if i%2 == 1 {
			want = upText(flapping)
		}
		if msg != want {
			t.Fatalf("notification %d = %q, want %q (all: %q)", i, msg, want, got)
		}
	}
}

func TestNewSiteCheckedAtOnce(t *testing.T) {
	t.Parallel()
	m := apptest.Start(t, apptest.Config(t), app.Hooks{})
	c := apptest.Client{Base: m.URL(), TB: t}
	target := apptest.NewTarget(t)
	start := time.Now()
	c.JSON("POST", "/site", `{"url":"`+target.URL+`"}`, nil)
	apptest.Eventually(t, 5*time.Second, "the new site's check", func() bool { return target.Hits() > 0 })
	if el := time.Since(start); el > time.Second {
		t.Errorf("new site checked after %v, want within 1s", el)
	}
	waitChecked(t, c, "1")
}

func TestDeletedSiteNotNotified(t *testing.T) {
	t.Parallel()
	m, c, slack, target := startWithSlack(t, apptest.Config(t), app.Hooks{})
	slack.Script(500) // hold the notification in retries
	target.SetStatus(500)
	c.JSON("POST", "/check/1", "", nil)
	apptest.Eventually(t, 10*time.Second, "a failed delivery", func() bool { return slack.Requests() > 0 })
	c.JSON("DELETE", "/site/1", "", nil)
	time.Sleep(300 * time.Millisecond) // let an attempt already past its site check fail
	slack.Script(200)
	time.Sleep(settle)
	if got := slack.Messages(); len(got) != 0 {
		t.Fatalf("deleted site notified: %q", got)
	}
	apptest.Eventually(t, 10*time.Second, "the deleted site's history removed", func() bool {
		var n int
		_ = m.Monitor.DB().QueryRow(`SELECT COUNT(*) FROM checks WHERE site_id = 1`).Scan(&n)
		return n == 0
	})
}
