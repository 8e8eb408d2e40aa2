package site_test

import (
	"context"
	"encoding/json"
	"testing"
	"time"

	"upmon/platform/api"
	"upmon/site"
)

// TestStoredSettings checks that StoredSettings answers what a site set,
// without the defaults Get fills in.
func TestStoredSettings(t *testing.T) {
	ctx := context.Background()
	svc := MustOpen(t)
	a, err := svc.Add(ctx, &site.AddParams{URL: "https://a.example", Settings: site.Settings{Timeout: site.Duration(3 * time.Second), Tags: []string{"eu"}}})
	if err != nil {
		t.Fatal(err)
	}
	// Get fills the defaults in; StoredSettings does not.
	if a.Interval.D() != 5*time.Minute || a.Method != "GET" || a.FollowRedirects == nil {
		t.Fatalf("Add answered %+v, want defaults filled in", a.Settings)
	}
	st, err := svc.StoredSettings(ctx, a.ID)
	if err != nil {
		t.Fatal(err)
	}
	want := site.Settings{Timeout: site.Duration(3 * time.Second), Tags: []string{"eu"}}
	if got, _ := json.Marshal(st); string(got) != string(mustJSON(t, want)) {
		t.Errorf("StoredSettings = %s, want %s", got, mustJSON(t, want))
	}
	if _, err := svc.StoredSettings(ctx, 99); !api.IsCode(err, api.NotFound) {
		t.Errorf("StoredSettings(99) = %v, want not_found", err)
	}

	// An unset interval follows the defaults of the service reading it.
	other := site.New(svc.DB(), site.Options{Defaults: site.Defaults{Interval: 2 * time.Minute}})
	got, err := other.Get(ctx, &site.GetParams{ID: a.ID})
	if err != nil || got.Interval.D() != 2*time.Minute || got.Timeout.D() != 3*time.Second {
		t.Errorf("Get with other defaults = %+v, %v", got, err)
	}
}
