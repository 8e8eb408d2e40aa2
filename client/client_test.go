package client_test

import (
	"bytes"
	"context"
	"errors"
	"os"
	"strconv"
	"testing"
	"time"

	"upmon/client"
	"upmon/internal/app"
	"upmon/internal/app/apptest"
	"upmon/internal/cli"
)

// TestGeneratedClientIsCurrent regenerates the Go client from the
// program's OpenAPI document and compares it with client_gen.go: a new or
// changed endpoint without `upmon gen client --lang go` fails here.
func TestGeneratedClientIsCurrent(t *testing.T) {
	ctx, cancel := context.WithTimeout(context.Background(), time.Minute)
	defer cancel()
	got, err := cli.GenerateClient(ctx, "go")
	if err != nil {
		t.Fatal(err)
	}
	committed, err := os.ReadFile("client_gen.go")
	if err != nil {
		t.Fatal(err)
	}
	if !bytes.Equal(got, committed) {
		t.Fatal("client/client_gen.go is stale: run `go run ./cmd/upmon gen client --lang go` and commit it")
	}
}

// TestClientCallsTheAPI drives a real server through the typed methods:
// path and body parameters, PATCH fields, empty answers, the bearer
// token, and errors decoded into *client.Error.
func TestClientCallsTheAPI(t *testing.T) {
	cfg := apptest.Config(t)
	cfg.APITokens = []string{"rw-secret-token"}
	m := apptest.Start(t, cfg, app.Hooks{})
	target := apptest.NewTarget(t)
	ctx := context.Background()

	var e *client.Error
	anon := client.New(m.URL())
	if _, err := anon.Site.List(ctx); !errors.As(err, &e) || e.Status != 401 || e.Code != "unauthenticated" {
		t.Fatalf("List without a token = %v, want *Error 401 unauthenticated", err)
	}

	c := client.New(m.URL(), client.WithToken("rw-secret-token"))
	added, err := c.Site.Add(ctx, &client.SiteAddParams{URL: target.URL, Name: "target"})
	if err != nil {
		t.Fatal(err)
	}
	if added.ID == 0 || added.URL != target.URL || added.Name != "target" {
		t.Fatalf("Add = %+v", added)
	}
	paused := true
	if st, err := c.Site.Patch(ctx, added.ID, &client.SitePatchParams{Paused: &paused}); err != nil || !st.Paused || st.Name != "target" {
		t.Fatalf("Patch(paused) = %+v, %v: want paused, name kept", st, err)
	}
	unpaused := false
	if st, err := c.Site.Patch(ctx, added.ID, &client.SitePatchParams{Paused: &unpaused}); err != nil || st.Paused {
		t.Fatalf("Patch(paused=false) = %+v, %v: want unpaused (a zero value sent, not dropped)", st, err)
	}
	res, err := c.Monitor.Check(ctx, added.ID)
	if err != nil || !res.Up || res.SiteID != added.ID {
		t.Fatalf("Check = %+v, %v", res, err)
	}
	status, err := c.Monitor.Status(ctx)
	if err != nil || !status.Sites[itoa(added.ID)].Up {
		t.Fatalf("Status = %+v, %v", status, err)
	}
	list, err := c.Site.List(ctx)
	if err != nil || len(list.Sites) != 1 || list.Sites[0].ID != added.ID {
		t.Fatalf("List = %+v, %v", list, err)
	}
	checks, err := c.Monitor.SiteChecks(ctx, added.ID, client.MonitorSiteChecksQuery{Limit: 1})
	if err != nil || len(checks.Checks) != 1 {
		t.Fatalf("SiteChecks(limit 1) = %+v, %v", checks, err)
	}
	if err := c.Site.Delete(ctx, added.ID); err != nil {
		t.Fatal(err)
	}
	_, err = c.Site.Get(ctx, added.ID)
	if !errors.As(err, &e) || e.Status != 404 || e.Code != "not_found" || e.Message == "" {
		t.Fatalf("Get after Delete = %v, want *Error 404 not_found", err)
	}
	_, err = c.Site.Add(ctx, &client.SiteAddParams{URL: "ftp://nope"})
	if !errors.As(err, &e) || e.Status != 400 || e.Code != "invalid_argument" {
		t.Fatalf("Add(ftp) = %v, want *Error 400 invalid_argument", err)
	}
}

func itoa(n int64) string { return strconv.FormatInt(n, 10) }
