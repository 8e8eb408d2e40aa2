package site_test

import (
	"slices"
	"testing"
	"time"

	"upmon/site"
)

func TestLocationsAndQuorumSettings(t *testing.T) {
	t.Parallel()
	seen := []string{"mars"} // announced by an agent
	svc := openSitesWith(t, site.Options{
		Defaults:      site.Defaults{Interval: time.Minute, Timeout: time.Second, Locations: []string{"eu", "us", "ap"}},
		LocationKnown: func(n string) bool { return slices.Contains(seen, n) },
	})
	single := openSitesWith(t, site.Options{Defaults: site.Defaults{Interval: time.Minute, Timeout: time.Second}})

	// Defaults: the configured set and a majority of it; without a
	// configured set, ["local"] and 1 (today's behaviour).
	st, err := addJSON(svc, `{"url":"https://a.example"}`)
	if err != nil {
		t.Fatal(err)
	}
	if !slices.Equal(st.Locations, []string{"eu", "us", "ap"}) || st.Quorum != 2 {
		t.Errorf("defaults = %v quorum %d, want [eu us ap] quorum 2", st.Locations, st.Quorum)
	}
	one, err := addJSON(single, `{"url":"https://a.example"}`)
	if err != nil {
		t.Fatal(err)
	}
	if !slices.Equal(one.Locations, []string{"local"}) || one.Quorum != 1 {
		t.Errorf("single-node defaults = %v quorum %d, want [local] quorum 1", one.Locations, one.Quorum)
	}
	// Accepted: a subset, local, a location an agent announced.
	ok, err := addJSON(svc, `{"url":"https://b.example","locations":["local","mars","eu","us"]}`)
	if err != nil {
		t.Fatal(err)
	}
	if ok.Quorum != 3 {
		t.Errorf("quorum of 4 locations = %d, want a majority, 3", ok.Quorum)
	}

	for _, c := range []struct{ body, field string }{
		{`{"url":"https://c.example","locations":["eu","venus"]}`, "locations[1]"},
		{`{"url":"https://c.example","locations":["EU"]}`, "locations[0]"},
		{`{"url":"https://c.example","locations":["eu","eu"]}`, "locations[1]"},
		{`{"url":"https://c.example","locations":["eu","us"],"quorum":3}`, "quorum"},
		{`{"url":"https://c.example","quorum":4}`, "quorum"},
		{`{"url":"https://c.example","quorum":-1}`, "quorum"},
		{`{"url":"https://c.example","locations":[]}`, "locations"},
		{`{"url":"https://c.example","locations":"eu"}`, "locations"},
	} {
		if _, err := addJSON(svc, c.body); fieldOf(err) != c.field {
			t.Errorf("POST %s = %v, want 400 naming %q", c.body, err, c.field)
		}
	}
	if _, err := addJSON(single, `{"url":"https://c.example","locations":["eu"]}`); fieldOf(err) != "locations[0]" {
		t.Errorf("unconfigured eu on a single node = %v, want 400 naming locations[0]", err)
	}

	// PATCH: a smaller set below the stored quorum is refused naming
	// quorum; a site keeps a location that went away while other
	// settings change.
	q, err := patchJSON(svc, ok.ID, `{"quorum":4}`)
	if err != nil || q.Quorum != 4 {
		t.Fatalf("patch quorum 4 = %v, %v", q, err)
	}
	if _, err := patchJSON(svc, ok.ID, `{"locations":["eu","us"]}`); fieldOf(err) != "quorum" {
		t.Errorf("patch to 2 locations with quorum 4 = %v, want 400 naming quorum", err)
	}
	seen = nil
	if _, err := patchJSON(svc, ok.ID, `{"name":"b"}`); err != nil {
		t.Errorf("patch of the name of a site naming a location that went away = %v", err)
	}
	if _, err := patchJSON(svc, ok.ID, `{"locations":["mars"],"quorum":null}`); fieldOf(err) != "locations[0]" {
		t.Errorf("patch to a location no longer known = %v, want 400 naming locations[0]", err)
	}
	back, err := patchJSON(svc, ok.ID, `{"locations":null,"quorum":null}`)
	if err != nil || !slices.Equal(back.Locations, []string{"eu", "us", "ap"}) || back.Quorum != 2 {
		t.Errorf("null resets = %v, %v; want the default set and a majority", back, err)
	}
}
