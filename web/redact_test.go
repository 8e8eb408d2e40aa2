package web

import (
	"encoding/json"
	"strings"
	"testing"

	"upmon/monitor"
	"upmon/site"
)

// TestPagesRedactSecretsByAccess: the dashboard shows header values,
// bodies and URL credentials only to read-write callers; the status page
// and badges never show a URL's credentials or query, whoever asks.
func TestPagesRedactSecretsByAccess(t *testing.T) {
	const secretURL = "https://bob:hunter2@shop.example/health?token=t0k&page=1"
	secrets := []string{"hunter2", "t0k", "Bearer s3cr3t", "b0dy"}
	for _, a := range []site.Access{site.AccessPublic, site.AccessRead, site.AccessWrite} {
		e := newEnv(t, true)
		e.access = a
		s := e.add(secretURL)
		e.sites.settings[s.ID] = SiteSettings{Headers: map[string]string{"Authorization": "Bearer s3cr3t"}, Body: "b0dy"}
		e.mon.set(&SiteOverview{SiteID: s.ID, State: "up", CheckedAt: testNow, Recent: recent(2)})
		for _, p := range []string{"/frontend/", "/frontend/sites/1", "/frontend/sites/1/delete"} {
			body := e.do("GET", p, nil).Body.String()
			for _, secret := range secrets {
				if a != site.AccessWrite && strings.Contains(body, secret) {
					t.Errorf("access %d: %s shows %q", a, p, secret)
				}
			}
		}
		page := e.do("GET", "/frontend/sites/1", nil).Body.String()
		for _, secret := range secrets {
			if a == site.AccessWrite && !strings.Contains(page, secret) {
				t.Errorf("read-write: the site page hides %q", secret)
			}
		}
		if a != site.AccessWrite && !strings.Contains(page, "Authorization: "+site.Redacted) {
			t.Errorf("access %d: the site page does not show the header name with a redacted value", a)
		}
		if a != site.AccessWrite && strings.Contains(e.do("GET", "/frontend/?q=t0k", nil).Body.String(), `href="/frontend/sites/1"`) {
			t.Errorf("access %d: a search for a hidden query value finds the site", a)
		}
		for _, p := range []string{"/status-page", "/badge/1/status.svg", "/badge/1/uptime.svg"} {
			body := e.do("GET", p, nil).Body.String()
			if strings.Contains(body, "bob") || strings.Contains(body, "hunter2") || strings.Contains(body, "token") || strings.Contains(body, "page=1") {
				t.Errorf("access %d: %s shows the URL's credentials or query:\n%s", a, p, body)
			}
			if !strings.Contains(body, "shop.example/health") {
				t.Errorf("access %d: %s does not name the site by host and path", a, p)
			}
		}
	}
}

// TestLiveEventsCarryNoURL: the live feed, which --public-read opens to
// anonymous readers, identifies a site by id only.
func TestLiveEventsCarryNoURL(t *testing.T) {
	ev := EventOf(monitor.Recorded{SiteID: 1, URL: "https://bob:hunter2@shop.example/?token=t0k", State: "down", Error: "HTTP 500"})
	b, err := json.Marshal(ev)
	if err != nil {
		t.Fatal(err)
	}
	if s := string(b); strings.Contains(s, "hunter2") || strings.Contains(s, "t0k") || strings.Contains(s, "shop.example") {
		t.Errorf("live event carries the URL: %s", s)
	}
}
