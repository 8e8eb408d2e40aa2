package monitor

import (
	"context"
	"fmt"
	"net/http"
	"net/http/httptest"
	"testing"
	"time"

	"upmon/platform/api"
	"upmon/site"
)

// TestUrgentChecksDoNotWaitForABatch: with a batch delay of an hour, a
// check someone waits for alone (CheckSite, as the API's and the
// dashboard's "check now"; a push) is committed at once, and so is a
// scheduled-style check already waiting in the batch it joins. Without
// the urgent flag each would wait the hour (the test's 30 s bound).
func TestUrgentChecksDoNotWaitForABatch(t *testing.T) {
	s, sites := openRecorder(t, Options{BatchDelay: time.Hour})
	target := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, _ *http.Request) {}))
	defer target.Close()
	p := &site.AddParams{URL: target.URL}
	st, err := sites.Add(context.Background(), p)
	if err != nil {
		t.Fatal(err)
	}
	// A background check on the same writer queue as st (PostgreSQL runs
	// several writers, one per partition of the site ids).
	var other *site.Site
	for i := 0; other == nil || other.ID%int64(len(s.recq)) != st.ID%int64(len(s.recq)); i++ {
		if other, err = sites.Add(context.Background(), &site.AddParams{URL: fmt.Sprintf("%s/other/%d", target.URL, i)}); err != nil {
			t.Fatal(err)
		}
	}
	within := func(what string, fn func() error) {
		t.Helper()
		done := make(chan error, 1)
		go func() { done <- fn() }()
		select {
		case err := <-done:
			if err != nil {
				t.Fatalf("%s: %v", what, err)
			}
		case <-time.After(30 * time.Second):
			t.Fatalf("%s waited for the hour-long batch delay", what)
		}
	}

	// A background check is queued first, so the writer takes it before
	// the urgent one (the queue is FIFO) and waits the hour for more…
	bg := &pending{st: other, at: time.Now().UTC(), res: Result{Up: true, Attempts: 1}, done: make(chan error, 1)}
	s.recq[other.ID%int64(len(s.recq))] <- bg
	// …until an urgent one joins it: both are committed.
	within("CheckSite", func() error {
		r, err := s.CheckSite(context.Background(), st)
		if err == nil && !r.Up {
			t.Errorf("CheckSite: down, want up")
		}
		return err
	})
	within("the background check in the same batch", func() error { return <-bg.done })

	push, err := sites.Add(context.Background(), &site.AddParams{Kind: site.KindPush, Name: "job"})
	if err != nil {
		t.Fatal(err)
	}
	if err := s.SyncSite(context.Background(), push); err != nil {
		t.Fatal(err)
	}
	srv := api.NewServer(nil)
	s.Register(srv)
	hs := httptest.NewServer(srv)
	defer hs.Close()
	within("a push", func() error {
		resp, err := http.Post(hs.URL+"/push/"+push.PushToken, "text/plain", nil)
		if err != nil {
			return err
		}
		resp.Body.Close()
		if resp.StatusCode != http.StatusOK {
			t.Errorf("push: HTTP %d", resp.StatusCode)
		}
		return nil
	})
}
