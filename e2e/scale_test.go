package e2e

import (
	"encoding/json"
	"fmt"
	"sort"
	"strings"
	"testing"
	"time"

	"upmon/internal/app"
	"upmon/internal/app/apptest"
)

// pageIDs follows the next cursor of a paginated list endpoint from the
// first page and returns the ids seen, in order, and the number of pages.
func pageIDs(t *testing.T, c apptest.Client, path string, limit int, ids func(body []byte) []int64) ([]int64, int) {
	t.Helper()
	var all []int64
	target := fmt.Sprintf("%s?limit=%d", path, limit)
	for pages := 1; pages <= 100; pages++ {
		status, body := c.Do("GET", target, "")
		if status != 200 {
			t.Fatalf("GET %s: %d %s", target, status, body)
		}
		got := ids([]byte(body))
		if len(got) > limit {
			t.Fatalf("GET %s: %d entries, limit %d", target, len(got), limit)
		}
		all = append(all, got...)
		var cur struct {
			Next string `json:"next"`
		}
		_ = json.Unmarshal([]byte(body), &cur)
		if cur.Next == "" {
			return all, pages
		}
		target = fmt.Sprintf("%s?limit=%d&after=%s", path, limit, cur.Next)
	}
	t.Fatalf("GET %s: more than 100 pages", path)
	return nil, 0
}

func TestBulkAddThenPageSitesAndStatus(t *testing.T) {
	t.Parallel()
	m := apptest.Start(t, apptest.Config(t), app.Hooks{})
	c := apptest.Client{Base: m.URL(), TB: t}
	target := apptest.NewTarget(t)

	var entries []string
	for i := range 30 {
		entries = append(entries, fmt.Sprintf(`{"url":"%s/s%d"}`, target.URL, i))
	}
	body := `{"sites":[` + strings.Join(entries, ",") + `]}`
	var added struct {
		Created int `json:"created"`
		Sites   []struct {
			ID int64 `json:"id"`
		} `json:"sites"`
	}
	c.JSON("POST", "/site/bulk", body, &added)
	if added.Created != 30 || len(added.Sites) != 30 {
		t.Fatalf("bulk add: %+v", added)
	}
	// Idempotent by URL: the same request adds nothing.
	c.JSON("POST", "/site/bulk", body, &added)
	if added.Created != 0 {
		t.Fatalf("repeated bulk add created %d", added.Created)
	}
	// A bad entry is named by index and field; nothing is stored.
	status, msg := c.Do("POST", "/site/bulk", `{"sites":[{"url":"`+target.URL+`/new"},{"url":"ftp://x"}]}`)
	if status != 400 || !strings.Contains(msg, `sites[1]: url`) || !strings.Contains(msg, `"index":1`) {
		t.Fatalf("bad entry: %d %s", status, msg)
	}

	siteIDs := func(b []byte) []int64 {
		var l struct {
			Sites []struct {
				ID int64 `json:"id"`
			} `json:"sites"`
		}
		if err := json.Unmarshal(b, &l); err != nil {
			t.Fatal(err)
		}
		var out []int64
		for _, s := range l.Sites {
			out = append(out, s.ID)
		}
		return out
	}
	got, pages := pageIDs(t, c, "/site", 7, siteIDs)
	if len(got) != 30 || pages != 5 || !sort.SliceIsSorted(got, func(i, j int) bool { return got[i] < got[j] }) {
		t.Fatalf("paged /site: %d pages, ids %v", pages, got)
	}
	status, full := c.Do("GET", "/site", "")
	if status != 200 || len(siteIDs([]byte(full))) != 30 || strings.Contains(full, `"next"`) {
		t.Fatalf("unpaginated /site: %d, %d sites", status, len(siteIDs([]byte(full))))
	}

	// Every new site is checked at once (site-added); /status pages
	// show each exactly once.
	statusIDs := func(b []byte) []int64 {
		var st struct {
			Sites map[string]json.RawMessage `json:"sites"`
		}
		if err := json.Unmarshal(b, &st); err != nil {
			t.Fatal(err)
		}
		var out []int64
		for k := range st.Sites {
			var id int64
			fmt.Sscan(k, &id)
			out = append(out, id)
		}
		return out
	}
	apptest.Eventually(t, 30*time.Second, "every bulk-added site checked", func() bool {
		_, b := c.Do("GET", "/status", "")
		return len(statusIDs([]byte(b))) == 30
	})
	got, pages = pageIDs(t, c, "/status", 7, statusIDs)
	seen := map[int64]bool{}
	for _, id := range got {
		seen[id] = true
	}
	if len(got) != 30 || len(seen) != 30 || pages != 5 {
		t.Fatalf("paged /status: %d pages, %d ids (%d distinct)", pages, len(got), len(seen))
	}
}
