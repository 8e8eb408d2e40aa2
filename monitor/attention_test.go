package monitor

import (
	"context"
	"net/http"
	"net/http/httptest"
	"reflect"
	"slices"
	"strings"
	"sync/atomic"
	"testing"
	"time"

	"upmon/platform/sqldb/sqldbtest"
	"upmon/site"
)

// summaryFromStates computes the overview summary the way it was computed
// before the attention tables: straight from every site_state row.
func summaryFromStates(t *testing.T, mon *Service) *StateSummary {
	t.Helper()
	ctx := context.Background()
	out := &StateSummary{NotUp: map[int64]string{}}
	if err := mon.db.QueryRowContext(ctx, `SELECT COUNT(*) FROM site_state`).Scan(&out.Rows); err != nil {
		t.Fatal(err)
	}
	rows, err := mon.db.QueryContext(ctx, `SELECT site_id, state, checked_at, paused FROM site_state`)
	if err != nil {
		t.Fatal(err)
	}
	defer rows.Close()
	for rows.Next() {
		var (
			id, at int64
			state  string
			paused bool
		)
		if err := rows.Scan(&id, &state, &at, &paused); err != nil {
			t.Fatal(err)
		}
		if at == 0 {
			state = StateUnknown
		}
		if state != StateUp {
			out.NotUp[id] = state
		}
		if paused {
			out.Paused = append(out.Paused, id)
		}
	}
	if err := rows.Err(); err != nil {
		t.Fatal(err)
	}
	slices.Sort(out.Paused)
	return out
}

// requireSummary checks that StateSummary, read from the attention
// tables, is what every state row says, and is want (rows, not-up states
// and paused sites).
func requireSummary(t *testing.T, mon *Service, step string, want *StateSummary) {
	t.Helper()
	got, err := mon.StateSummary(context.Background())
	if err != nil {
		t.Fatalf("%s: %v", step, err)
	}
	slices.Sort(got.Paused)
	if len(got.Paused) == 0 {
		got.Paused = nil
	}
	scan := summaryFromStates(t, mon)
	if got.Rows != scan.Rows || !reflect.DeepEqual(got.NotUp, scan.NotUp) || !slices.Equal(got.Paused, scan.Paused) {
		t.Fatalf("%s: summary %d rows, not up %v, paused %v; the state rows say %d, %v, %v",
			step, got.Rows, got.NotUp, got.Paused, scan.Rows, scan.NotUp, scan.Paused)
	}
	if got.Rows != want.Rows || !reflect.DeepEqual(got.NotUp, want.NotUp) || !slices.Equal(got.Paused, want.Paused) {
		t.Fatalf("%s: summary %d rows, not up %v, paused %v; want %d, %v, %v",
			step, got.Rows, got.NotUp, got.Paused, want.Rows, want.NotUp, want.Paused)
	}
}

// TestStateSummaryFollowsStates drives sites through every change the
// overview's summary shows (created, first check, down, degraded, back
// up, paused, unpaused, deleted by the sweep, forgotten) and checks after
// each that the summary read from the attention tables equals the one
// computed from every state row. It then runs the migration's down and up
// steps, which rebuild the tables from site_state, and checks again.
func TestStateSummaryFollowsStates(t *testing.T) {
	ctx := context.Background()
	sites, mon := newSitesAndMonitor(t)

	var status, delayMS atomic.Int32
	status.Store(200)
	target := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		if strings.HasPrefix(r.URL.Path, "/slow") {
			time.Sleep(time.Duration(delayMS.Load()) * time.Millisecond)
		}
		if strings.HasPrefix(r.URL.Path, "/flip") {
			w.WriteHeader(int(status.Load()))
		}
	}))
	t.Cleanup(target.Close)
	add := func(path string, set site.Settings) *site.Site {
		t.Helper()
		st, err := sites.Add(ctx, &site.AddParams{URL: target.URL + path, Settings: set})
		if err != nil {
			t.Fatal(err)
		}
		if err := mon.SyncSite(ctx, st); err != nil {
			t.Fatal(err)
		}
		return st
	}
	check := func(sts ...*site.Site) {
		t.Helper()
		for _, st := range sts {
			if _, err := mon.CheckSite(ctx, st); err != nil {
				t.Fatal(err)
			}
		}
	}
	resync := func(st *site.Site, paused bool) {
		t.Helper()
		c := *st
		c.Paused = paused
		if err := mon.SyncSite(ctx, &c); err != nil {
			t.Fatal(err)
		}
	}

	flip := add("/flip", site.Settings{})
	slow := add("/slow", site.Settings{MaxLatency: site.Duration(30 * time.Millisecond)})
	steady := add("/steady", site.Settings{})
	never := add("/never", site.Settings{})
	held := add("/held", site.Settings{Paused: true})
	ids := func(sts ...*site.Site) []int64 {
		var out []int64
		for _, st := range sts {
			out = append(out, st.ID)
		}
		slices.Sort(out)
		return out
	}
	unknown := func(sts ...*site.Site) map[int64]string {
		m := map[int64]string{}
		for _, st := range sts {
			m[st.ID] = StateUnknown
		}
		return m
	}
	requireSummary(t, mon, "added", &StateSummary{Rows: 5, NotUp: unknown(flip, slow, steady, never, held), Paused: ids(held)})

	check(flip, slow, steady)
	requireSummary(t, mon, "first checks", &StateSummary{Rows: 5, NotUp: unknown(never, held), Paused: ids(held)})

	status.Store(503)
	delayMS.Store(200)
	check(flip, slow, steady)
	want := unknown(never, held)
	want[flip.ID] = StateDown
	want[slow.ID] = StateDegraded
	requireSummary(t, mon, "down and degraded", &StateSummary{Rows: 5, NotUp: want, Paused: ids(held)})

	check(flip, slow) // still down, still degraded: the summary is unchanged
	requireSummary(t, mon, "unchanged", &StateSummary{Rows: 5, NotUp: want, Paused: ids(held)})

	status.Store(200)
	delayMS.Store(0)
	check(flip, slow)
	requireSummary(t, mon, "back up", &StateSummary{Rows: 5, NotUp: unknown(never, held), Paused: ids(held)})

	resync(steady, true)
	resync(held, false)
	want = unknown(never, held)
	requireSummary(t, mon, "paused and unpaused", &StateSummary{Rows: 5, NotUp: want, Paused: ids(steady)})

	if _, err := sites.Delete(ctx, &site.GetParams{ID: never.ID}); err != nil {
		t.Fatal(err)
	}
	if err := mon.Sync(ctx); err != nil {
		t.Fatal(err)
	}
	// The sweep also brings the other rows back to the site list's
	// settings: held is paused there, steady is not.
	requireSummary(t, mon, "deleted by the sweep", &StateSummary{Rows: 4, NotUp: unknown(held), Paused: ids(held)})

	if err := mon.Forget(ctx, steady.ID); err != nil {
		t.Fatal(err)
	}
	if err := mon.Forget(ctx, steady.ID); err != nil { // twice: the count must not go down again
		t.Fatal(err)
	}
	requireSummary(t, mon, "forgotten", &StateSummary{Rows: 3, NotUp: unknown(held), Paused: ids(held)})

	// A check of a site the monitor never synced creates its state row.
	fresh, err := sites.Add(ctx, &site.AddParams{URL: target.URL + "/fresh"})
	if err != nil {
		t.Fatal(err)
	}
	check(fresh)
	requireSummary(t, mon, "created by its first check", &StateSummary{Rows: 4, NotUp: unknown(held), Paused: ids(held)})

	// The migration rebuilds both tables from site_state.
	status.Store(503)
	check(flip)
	sqldbtest.RerunMigration(t, mon.db, Migrations(), "00015_attention_table.sql")
	want = unknown(held)
	want[flip.ID] = StateDown
	requireSummary(t, mon, "after the migration ran again", &StateSummary{Rows: 4, NotUp: want, Paused: ids(held)})
}
