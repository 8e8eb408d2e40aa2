package e2e

import (
	"fmt"
	"net/http"
	"net/url"
	"testing"

	"upmon/internal/app"
	"upmon/internal/app/apptest"
)

// TestExplicitZeroSettingsOverHTTP: a setting sent as its zero value is
// refused naming the field when zero is outside its documented range; it
// never silently becomes the default. null still resets.
func TestExplicitZeroSettingsOverHTTP(t *testing.T) {
	t.Parallel()
	m := apptest.Start(t, quickConfig(t), app.Hooks{})
	c := apptest.Client{Base: m.URL(), TB: t}
	target := apptest.NewTarget(t)

	id := addSite(t, c, `{"url":"`+target.URL+`","interval":"30s","timeout":"5s","failure_threshold":3,"success_threshold":2}`)
	before := getSite(t, c, id)
	for field, zero := range map[string]string{
		"interval": `"0s"`, "timeout": `"0s"`, "failure_threshold": `0`, "success_threshold": `0`,
		"method": `""`, "keyword_mode": `""`, "expected_status": `[]`,
	} {
		requireFieldError(t, c, "POST", "/site", fmt.Sprintf(`{"url":"%s/%s","%s":%s}`, target.URL, field, field, zero), field)
		requireFieldError(t, c, "PATCH", "/site/"+id, fmt.Sprintf(`{"%s":%s}`, field, zero), field)
	}
	if after := getSite(t, c, id); fmt.Sprint(after) != fmt.Sprint(before) {
		t.Errorf("refused PATCHes changed the site:\n got %v\nwant %v", after, before)
	}
	var list struct{ Sites []siteSettings }
	c.JSON("GET", "/site", "", &list)
	if len(list.Sites) != 1 {
		t.Errorf("refused POSTs added sites: %v", list.Sites)
	}

	// Zero within the range is kept; null resets to the default.
	c.JSON("PATCH", "/site/"+id, `{"retries":0,"max_latency":"0s","grace":"0s"}`, nil)
	c.JSON("PATCH", "/site/"+id, `{"interval":null,"failure_threshold":null}`, nil)
	got := getSite(t, c, id)
	if got["interval"] != "1h" || got["failure_threshold"] != 1.0 || got["timeout"] != "5s" || got["success_threshold"] != 2.0 {
		t.Errorf("after null: %v", got)
	}
}

// TestDashboardFormRefusesTypedZero: the dashboard's settings form
// refuses a 0 typed where the range excludes it, like the API.
func TestDashboardFormRefusesTypedZero(t *testing.T) {
	t.Parallel()
	m := apptest.Start(t, quickConfig(t), app.Hooks{})
	c := apptest.Client{Base: m.URL(), TB: t}
	target := apptest.NewTarget(t)
	id := addSite(t, c, `{"url":"`+target.URL+`","interval":"30s"}`)
	resp, err := http.PostForm(m.URL()+"/frontend/sites/"+id+"/settings", url.Values{"interval": {"0s"}})
	if err != nil {
		t.Fatal(err)
	}
	resp.Body.Close()
	if resp.StatusCode != http.StatusBadRequest {
		t.Errorf("form with interval 0s: %d, want 400", resp.StatusCode)
	}
	if got := getSite(t, c, id); got["interval"] != "30s" {
		t.Errorf("interval after the refused form: %v, want 30s", got["interval"])
	}
}
