package site_test

import (
	"context"
	"encoding/json"
	"testing"

	"upmon/site"
)

// The hand-written list encoding must be byte-for-byte what encoding/json
// writes for the same sites.
func TestListEncodingMatchesEncodingJSON(t *testing.T) {
	ctx := context.Background()
	svc := MustOpen(t)
	for _, p := range []*site.AddParams{
		{URL: "https://a.example/<x>&y", Name: "A \"quoted\" <b>"},
		{URL: "tcp://db.example:5432", Settings: site.Settings{Interval: site.Duration(30e9), Tags: []string{"prod"}}},
		{Kind: site.KindPush, Name: "backup", Settings: site.Settings{Grace: site.Duration(60e9)}},
		{URL: "example.com", Settings: site.Settings{Headers: map[string]string{"X-B": "2", "X-A": "1"}, JSONPath: []site.Assertion{{Path: "$.s", Op: "==", Value: json.RawMessage(`"UP"`)}}}},
	} {
		if _, err := svc.Add(ctx, p); err != nil {
			t.Fatal(err)
		}
	}
	list, err := svc.List(ctx, &site.ListParams{})
	if err != nil {
		t.Fatal(err)
	}
	got, err := json.Marshal(list)
	if err != nil {
		t.Fatal(err)
	}
	want, err := json.Marshal(struct {
		Sites []*site.Site `json:"sites"`
	}{list.Sites})
	if err != nil {
		t.Fatal(err)
	}
	if string(got) != string(want) {
		t.Fatalf("list encoding differs:\n got %s\nwant %s", got, want)
	}
	var back struct{ Sites []map[string]any }
	if err := json.Unmarshal(got, &back); err != nil || len(back.Sites) != 4 {
		t.Fatalf("not valid JSON: %v", err)
	}
}
