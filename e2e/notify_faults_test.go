package e2e

import (
	"net"
	"net/http"
	"strings"
	"sync"
	"testing"
	"time"

	"upmon/internal/app"
	"upmon/internal/app/apptest"
)

// TestSlackFaults: Slack timing out, resetting the connection and
// answering 429 with Retry-After. Each time the notification still arrives,
// once, and upmon keeps checking meanwhile.
func TestSlackFaults(t *testing.T) {
	t.Parallel()
	var (
		mu       sync.Mutex
		attempts []time.Time
		got      []string
	)
	fault := []string{"timeout", "reset", "429"}
	slack := apptest.NewHandlerServer(t, http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		mu.Lock()
		n := len(attempts)
		attempts = append(attempts, time.Now())
		mu.Unlock()
		if n < len(fault) {
			switch fault[n] {
			case "timeout":
				time.Sleep(800 * time.Millisecond) // past --notify-timeout
				return
			case "reset":
				hj, _ := w.(http.Hijacker)
				conn, _, err := hj.Hijack()
				if err == nil {
					if tc, ok := conn.(*net.TCPConn); ok {
						_ = tc.SetLinger(0) // RST instead of FIN
					}
					conn.Close()
				}
				return
			case "429":
				w.Header().Set("Retry-After", "1")
				w.WriteHeader(http.StatusTooManyRequests)
				return
			}
		}
		buf := new(strings.Builder)
		_, _ = ioCopy(buf, &http.Response{Body: r.Body})
		mu.Lock()
		got = append(got, buf.String())
		mu.Unlock()
	}))
	cfg := apptest.Config(t)
	cfg.NotifyTimeout = 300 * time.Millisecond
	cfg.Env = append(cfg.Env, "SLACK_WEBHOOK_URL="+slack+"/hook")
	m := apptest.Start(t, cfg, app.Hooks{})
	c := apptest.Client{Base: m.URL(), TB: t}
	target := apptest.NewTarget(t)
	c.JSON("POST", "/site", `{"url":"`+target.URL+`"}`, nil)
	waitChecked(t, c, "1")
	target.SetStatus(500)
	c.JSON("POST", "/check/1", "", nil)

	apptest.Eventually(t, 20*time.Second, "the notification after three faults", func() bool {
		mu.Lock()
		defer mu.Unlock()
		return len(got) > 0
	})
	// upmon kept working meanwhile.
	if status, _ := c.Do("GET", "/healthz", ""); status != 200 {
		t.Fatalf("healthz = %d", status)
	}
	time.Sleep(settle)
	mu.Lock()
	defer mu.Unlock()
	if len(got) != 1 || !strings.Contains(got[0], "is down!") {
		t.Fatalf("delivered %q", got)
	}
	if len(attempts) != 4 {
		t.Fatalf("%d attempts, want 3 failures and 1 success", len(attempts))
	}
	if gap := attempts[3].Sub(attempts[2]); gap < 900*time.Millisecond {
		t.Fatalf("the attempt after 429 Retry-After: 1 came %v later", gap)
	}
}

// TestDatabaseLocked: another process holds SQLite's write lock for a
// while; checks wait for it (busy timeout) and are recorded, nothing is
// lost, and the API keeps answering reads.
func TestDatabaseLocked(t *testing.T) {
	t.Parallel()
	cfg := apptest.Config(t)
	if cfg.DatabaseURL != "" {
		t.Skip("SQLite locking; the PostgreSQL outage is covered by TestPostgresOutage")
	}
	m := apptest.Start(t, cfg, app.Hooks{})
	c := apptest.Client{Base: m.URL(), TB: t}
	target := apptest.NewTarget(t)
	c.JSON("POST", "/site", `{"url":"`+target.URL+`"}`, nil)
	waitChecked(t, c, "1")

	other, err := sqlOpenSQLite(cfg.DataDir + "/monitor.db")
	if err != nil {
		t.Fatal(err)
	}
	defer other.Close()
	conn, err := other.Conn(t.Context())
	if err != nil {
		t.Fatal(err)
	}
	if _, err := conn.ExecContext(t.Context(), "BEGIN IMMEDIATE"); err != nil {
		t.Fatal(err)
	}
	done := make(chan struct{})
	go func() {
		defer close(done)
		time.Sleep(1500 * time.Millisecond)
		_, _ = conn.ExecContext(t.Context(), "COMMIT")
		conn.Close()
	}()
	start := time.Now()
	var res struct {
		Up bool `json:"up"`
	}
	c.JSON("POST", "/check/1", "", &res) // waits for the lock, then records
	if el := time.Since(start); el < time.Second || !res.Up {
		t.Fatalf("check under a held lock: %+v after %v", res, el)
	}
	<-done
	var n int
	if err := m.Monitor.DB().QueryRow(`SELECT COUNT(*) FROM checks WHERE site_id = 1`).Scan(&n); err != nil || n != 2 {
		t.Fatalf("checks recorded = %d, %v; want 2", n, err)
	}
}
