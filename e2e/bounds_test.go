//go:build unix

package e2e

import (
	"net/http"
	"testing"
	"time"

	"upmon/internal/app"
	"upmon/internal/app/apptest"
)

// TestNATSRestartedEmpty restarts upmon's (private) nats-server without its
// store while a site goes down: streams, consumers and the dead-letter
// bucket are gone. The transition, published after the restart, is
// notified once, and so is the next one.
func TestNATSRestartedEmpty(t *testing.T) {
	t.Parallel()
	ns := startPrivateNATS(t)
	cfg := apptest.Config(t)
	cfg.NATSURL = ns.URL
	m, slack, target := faultApp(t, cfg)
	base := m.URL()

	ns.Stop(t)
	ns.dir = t.TempDir() // it comes back empty
	target.SetStatus(http.StatusInternalServerError)
	apptest.Eventually(t, faultRecovery, "the down check recorded during the outage", func() bool {
		up, known := siteUp(t, base, "1")
		return known && !up
	})
	ns.Start(t)
	requireNotified(t, slack, downText(target.URL))
	target.SetStatus(http.StatusOK)
	requireNotified(t, slack, downText(target.URL), upText(target.URL))
	requireStatus(t, base, "GET", "/admin/deadletters", "", http.StatusOK, "")
}

// TestDeadLettersBounded dead-letters more events than --deadletter-max:
// the newest are kept and listed, the dropped ones are counted, and the
// gauge shows what is kept.
func TestDeadLettersBounded(t *testing.T) {
	t.Parallel()
	cfg := apptest.Config(t)
	cfg.DeadLetterMax = 2
	m, c, _, _ := startWithSlack(t, cfg, app.Hooks{})
	const events = 5
	var dl struct {
		Deadletters []struct {
			Message struct {
				Seq int `json:"seq"`
			} `json:"message"`
		} `json:"deadletters"`
	}
	for i := range events {
		publishCorruptTransition(t, m, int64(i+1))
		// One at a time, so that the oldest is well defined.
		apptest.Eventually(t, 10*time.Second, "the event dead-lettered", func() bool {
			_, body := c.Do("GET", "/metrics", "")
			return promText(body).sum("upmon_pubsub_deadlettered_total", "subscription", "channels-transition") == float64(i+1)
		})
	}
	c.JSON("GET", "/admin/deadletters", "", &dl)
	if len(dl.Deadletters) != 2 || dl.Deadletters[0].Message.Seq != events-1 || dl.Deadletters[1].Message.Seq != events {
		t.Errorf("dead letters %+v, want the last two events (seq %d, %d)", dl.Deadletters, events-1, events)
	}
	_, body := c.Do("GET", "/metrics", "")
	pt := promText(body)
	if kept, dropped := pt.sum("upmon_pubsub_deadletters"), pt.sum("upmon_pubsub_deadletters_dropped_total"); kept != 2 || dropped != events-2 {
		t.Errorf("upmon_pubsub_deadletters %v, upmon_pubsub_deadletters_dropped_total %v; want 2, %d", kept, dropped, events-2)
	}
}
