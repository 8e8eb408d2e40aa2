package site_test

import (
	"context"
	"encoding/json"
	"fmt"
	"sync"
	"testing"

	"upmon/platform/sqldb/sqldbtest"
	"upmon/site"
)

// requireCount checks that Count, read from the counter table, is want
// and is what a scan of the sites says.
func requireCount(t *testing.T, svc *site.Service, step string, want int) {
	t.Helper()
	got, err := svc.Count(context.Background())
	if err != nil {
		t.Fatalf("%s: %v", step, err)
	}
	var scan int
	if err := svc.DB().QueryRowContext(context.Background(), `SELECT COUNT(*) FROM sites`).Scan(&scan); err != nil {
		t.Fatal(err)
	}
	if got != scan || got != want {
		t.Fatalf("%s: Count is %d, the sites table holds %d, want %d", step, got, scan, want)
	}
}

// TestCountFollowsInsertsAndDeletes checks the counter table through
// every way a site is created or deleted: concurrent single adds, a
// rejected duplicate, a bulk add with entries that exist already or
// repeat, deletes (one of them twice), and the migration that fills the
// table from the sites.
func TestCountFollowsInsertsAndDeletes(t *testing.T) {
	svc := MustOpen(t)
	ctx := context.Background()
	requireCount(t, svc, "empty", 0)

	var (
		wg  sync.WaitGroup
		mu  sync.Mutex
		ids []int64
	)
	for i := range 40 {
		wg.Go(func() {
			st, err := svc.Add(ctx, &site.AddParams{URL: fmt.Sprintf("https://c%d.example", i)})
			if err != nil {
				t.Error(err)
				return
			}
			mu.Lock()
			ids = append(ids, st.ID)
			mu.Unlock()
		})
	}
	wg.Wait()
	if t.Failed() {
		t.FailNow()
	}
	requireCount(t, svc, "concurrent adds", 40)

	if _, err := svc.Add(ctx, &site.AddParams{URL: "https://c1.example"}); err == nil {
		t.Fatal("a duplicate URL was added")
	}
	requireCount(t, svc, "rejected duplicate", 40)

	var entries []json.RawMessage
	for _, u := range []string{"https://c2.example", "https://b1.example", "https://b2.example", "https://b1.example", "https://b3.example"} {
		entries = append(entries, json.RawMessage(fmt.Sprintf(`{"url":%q}`, u)))
	}
	res, err := svc.BulkAdd(ctx, &site.BulkAddParams{Sites: entries})
	if err != nil {
		t.Fatal(err)
	}
	if res.Created != 3 {
		t.Fatalf("bulk add created %d, want 3", res.Created)
	}
	requireCount(t, svc, "bulk add", 43)

	for _, id := range ids[:5] {
		if _, err := svc.Delete(ctx, &site.GetParams{ID: id}); err != nil {
			t.Fatal(err)
		}
	}
	_, _ = svc.Delete(ctx, &site.GetParams{ID: ids[0]}) // gone already: the count must not go down again
	requireCount(t, svc, "deletes", 38)

	sqldbtest.RerunMigration(t, svc.DB(), site.Migrations(), "00005_site_count.sql")
	requireCount(t, svc, "after the migration ran again", 38)
}
