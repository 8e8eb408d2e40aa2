package outbox_test

import (
	"context"
	"database/sql"
	"errors"
	"fmt"
	"sync"
	"testing"
	"testing/fstest"
	"time"

	"upmon/platform/outbox"
	"upmon/platform/sqldb"
	"upmon/platform/sqldb/sqldbtest"
	"upmon/platform/stall"
)

var migrations = fstest.MapFS{"00001_outbox.sql": {Data: []byte(`-- +goose Up
CREATE TABLE outbox (id {{ID}}, event_id TEXT NOT NULL UNIQUE,
	topic TEXT NOT NULL, payload TEXT NOT NULL, created_at BIGINT NOT NULL);
-- +goose Down
DROP TABLE outbox;
`)}}

// openDB opens a private database with an outbox table (SQLite, or
// PostgreSQL when UPMON_TEST_POSTGRES_URL is set).
func openDB(t testing.TB, cfg sqldb.Config) *sqldb.DB {
	t.Helper()
	db, err := sqldb.Open(context.Background(), cfg, "svc", migrations)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { db.Close() })
	return db
}

// published is one call of a publish function.
type published struct {
	topic, id, payload string
}

// broker records publishes, in order, and can fail or block them.
type broker struct {
	mu   sync.Mutex
	got  []published
	fail func(n int, id string) error // n counts calls from 0
	n    int
}

func (b *broker) pub(topic string) outbox.PublishFunc {
	return func(_ context.Context, id string, payload []byte) error {
		b.mu.Lock()
		n := b.n
		b.n++
		fail := b.fail
		b.mu.Unlock()
		if fail != nil {
			if err := fail(n, id); err != nil {
				return err
			}
		}
		b.mu.Lock()
		b.got = append(b.got, published{topic, id, string(payload)})
		b.mu.Unlock()
		return nil
	}
}

func (b *broker) published() []published {
	b.mu.Lock()
	defer b.mu.Unlock()
	return append([]published(nil), b.got...)
}

func newRelay(db *sqldb.DB, b *broker, cfg outbox.Config) *outbox.Relay {
	cfg.DB = db
	cfg.Publishers = map[string]outbox.PublishFunc{"a": b.pub("a"), "b": b.pub("b")}
	return outbox.NewRelay(cfg)
}

// insert commits events in one transaction and returns their ids.
func insert(t testing.TB, db *sqldb.DB, topic string, n int) []string {
	t.Helper()
	var ids []string
	err := db.InTx(context.Background(), func(tx *sql.Tx) error {
		for range n {
			id, err := outbox.InsertEvent(context.Background(), tx, topic, time.Now(), func(id string) any {
				return map[string]string{"id": id, "topic": topic}
			})
			if err != nil {
				return err
			}
			ids = append(ids, id)
		}
		return nil
	})
	if err != nil {
		t.Fatal(err)
	}
	return ids
}

func backlog(t testing.TB, r *outbox.Relay) int64 {
	t.Helper()
	n, err := r.Backlog(context.Background())
	if err != nil {
		t.Fatal(err)
	}
	return n
}

// drain runs passes until one relays nothing; it fails on an error.
func drain(t testing.TB, r *outbox.Relay) int {
	t.Helper()
	total := 0
	for range 1000 {
		n, err := r.RelayOnce(context.Background())
		if err != nil {
			t.Fatal(err)
		}
		if n == 0 {
			return total
		}
		total += n
	}
	t.Fatal("the relay never ran out of rows")
	return 0
}

func TestInsertIsPartOfTheTransaction(t *testing.T) {
	db := openDB(t, sqldbtest.Config(t))
	b := &broker{}
	r := newRelay(db, b, outbox.Config{})
	errRollback := errors.New("rollback")
	err := db.InTx(context.Background(), func(tx *sql.Tx) error {
		if err := outbox.Insert(context.Background(), tx, "a", "ev-1", []byte(`{}`), time.Now()); err != nil {
			return err
		}
		return errRollback
	})
	if !errors.Is(err, errRollback) {
		t.Fatal(err)
	}
	if n := backlog(t, r); n != 0 {
		t.Fatalf("a rolled-back insert left %d rows", n)
	}
	err = db.InTx(context.Background(), func(tx *sql.Tx) error {
		return outbox.Insert(context.Background(), tx, "a", "ev-1", []byte(`{}`), time.Now())
	})
	if err != nil {
		t.Fatal(err)
	}
	if n := backlog(t, r); n != 1 {
		t.Fatalf("backlog %d after one committed insert, want 1", n)
	}
	// An event id is unique: the same event cannot be queued twice.
	err = db.InTx(context.Background(), func(tx *sql.Tx) error {
		return outbox.Insert(context.Background(), tx, "a", "ev-1", []byte(`{}`), time.Now())
	})
	if err == nil {
		t.Fatal("a second insert of one event id was accepted")
	}
}

func TestRelayPublishesInOrderWithEventIDThenDeletes(t *testing.T) {
	db := openDB(t, sqldbtest.Config(t))
	b := &broker{}
	r := newRelay(db, b, outbox.Config{Batch: 7})
	var want []string
	for i := range 12 {
		topic := []string{"a", "b"}[i%2]
		want = append(want, insert(t, db, topic, 1+i%3)...)
	}
	if got := drain(t, r); got != len(want) {
		t.Fatalf("relayed %d, want %d", got, len(want))
	}
	got := b.published()
	if len(got) != len(want) {
		t.Fatalf("published %d events, want %d", len(got), len(want))
	}
	for i, p := range got {
		if p.id != want[i] {
			t.Fatalf("publish %d has id %s, want %s (insertion order)", i, p.id, want[i])
		}
		if wantPayload := fmt.Sprintf(`{"id":%q,"topic":%q}`, p.id, p.topic); p.payload != wantPayload {
			t.Fatalf("publish %d: payload %s, want %s", i, p.payload, wantPayload)
		}
	}
	if n := backlog(t, r); n != 0 {
		t.Fatalf("%d rows left after every event was published", n)
	}
}

func TestRelaySurvivesPublishFailure(t *testing.T) {
	db := openDB(t, sqldbtest.Config(t))
	errDown := errors.New("broker down")
	b := &broker{fail: func(n int, _ string) error {
		if n == 3 {
			return errDown
		}
		return nil
	}}
	r := newRelay(db, b, outbox.Config{})
	want := insert(t, db, "a", 6)
	n, err := r.RelayOnce(context.Background())
	if !errors.Is(err, errDown) || n != 3 {
		t.Fatalf("pass with a failing publish: %d relayed, err %v; want 3 and the broker's error", n, err)
	}
	if left := backlog(t, r); left != 3 {
		t.Fatalf("%d rows left after 3 of 6 were published, want 3", left)
	}
	if got := drain(t, r); got != 3 {
		t.Fatalf("next passes relayed %d, want the 3 left", got)
	}
	var ids []string
	for _, p := range b.published() {
		ids = append(ids, p.id)
	}
	if fmt.Sprint(ids) != fmt.Sprint(want) {
		t.Fatalf("published %v, want each event once in order %v", ids, want)
	}
}

func TestRelayHookAbortKeepsBatch(t *testing.T) {
	db := openDB(t, sqldbtest.Config(t))
	b := &broker{}
	crash := errors.New("crash")
	armed := true
	r := newRelay(db, b, outbox.Config{Hooks: outbox.Hooks{AfterPublish: func(string) error {
		if armed {
			return crash
		}
		return nil
	}}})
	want := insert(t, db, "b", 2)
	if _, err := r.RelayOnce(context.Background()); !errors.Is(err, crash) {
		t.Fatalf("pass: %v, want the hook's error", err)
	}
	if left := backlog(t, r); left != 2 {
		t.Fatalf("%d rows left after a crash past a publish, want 2", left)
	}
	armed = false
	drain(t, r)
	// The event published before the crash is published again with the
	// same id: the broker's dedup window drops the copy.
	got := b.published()
	if len(got) != 3 || got[0].id != want[0] || got[1].id != want[0] || got[2].id != want[1] {
		t.Fatalf("published %v, want %s again then %s", got, want[0], want[1])
	}
}

// A slow broker never holds the database: while the relay is publishing,
// another transaction commits (on SQLite it would wait for the write lock
// if the relay published inside its transaction).
func TestRelayPublishesOutsideTransaction(t *testing.T) {
	db := openDB(t, sqldbtest.Config(t))
	publishing := make(chan struct{})
	release := make(chan struct{})
	b := &broker{fail: func(n int, _ string) error {
		if n == 0 {
			close(publishing)
			<-release
		}
		return nil
	}}
	r := newRelay(db, b, outbox.Config{})
	insert(t, db, "a", 2)
	done := make(chan error, 1)
	go func() {
		_, err := r.RelayOnce(context.Background())
		done <- err
	}()
	<-publishing
	err := db.InTx(context.Background(), func(tx *sql.Tx) error {
		return outbox.Insert(context.Background(), tx, "a", "during-publish", []byte(`{}`), time.Now())
	})
	close(release)
	if err != nil {
		t.Fatalf("a commit while the relay was publishing failed: %v", err)
	}
	if err := <-done; err != nil {
		t.Fatal(err)
	}
	if got := drain(t, r); got != 1 {
		t.Fatalf("the event committed during the publish: relayed %d, want 1", got)
	}
}

func TestRelayStartPublishesOnWake(t *testing.T) {
	db := openDB(t, sqldbtest.Config(t))
	got := make(chan string, 10)
	r := outbox.NewRelay(outbox.Config{DB: db, Poll: time.Hour, Publishers: map[string]outbox.PublishFunc{
		"a": func(_ context.Context, id string, _ []byte) error { got <- id; return nil },
	}})
	r.Start(context.Background())
	defer r.Stop()
	want := insert(t, db, "a", 1)
	r.Wake()
	select {
	case id := <-got:
		if id != want[0] {
			t.Fatalf("published %s, want %s", id, want[0])
		}
	case <-time.After(30 * time.Second):
		t.Fatal("a woken relay did not publish")
	}
}

// holdLock blocks the outbox table from another transaction: SQLite's
// write lock, or PostgreSQL's table lock. It returns the release.
func holdLock(t *testing.T, db *sqldb.DB) func() {
	t.Helper()
	tx, err := db.BeginTx(context.Background(), nil)
	if err != nil {
		t.Fatal(err)
	}
	q := `INSERT INTO outbox (event_id, topic, payload, created_at) VALUES ('lock', 'a', '{}', 0)`
	if db.Dialect == sqldb.Postgres {
		q = `LOCK TABLE outbox IN ACCESS EXCLUSIVE MODE`
	}
	if _, err := tx.Exec(q); err != nil {
		t.Fatal(err)
	}
	return func() { _ = tx.Rollback() }
}

// A database call that hangs is cut off by the deadline, reported as a
// stall, and the next pass after the database answers clears it; no event
// is lost.
func TestRelayDatabaseCallsHaveDeadline(t *testing.T) {
	db := openDB(t, sqldbtest.Config(t))
	b := &broker{}
	set := stall.NewSet(100*time.Millisecond, nil)
	w := set.Watch("outbox.svc")
	r := newRelay(db, b, outbox.Config{Stall: w})
	want := insert(t, db, "a", 1)
	release := holdLock(t, db)
	_, err := r.RelayOnce(context.Background())
	if err == nil || !w.Stalled() {
		release()
		t.Fatalf("pass against a locked database: err %v, stalled %v; want an error and a stall", err, w.Stalled())
	}
	if fmt.Sprint(set.Stalled()) != "[outbox.svc]" {
		t.Fatalf("stalled components %v", set.Stalled())
	}
	release()
	drain(t, r)
	if w.Stalled() {
		t.Fatal("still stalled after a pass that succeeded")
	}
	got := b.published()
	if len(got) == 0 || got[len(got)-1].id != want[0] {
		t.Fatalf("published %v, want %s", got, want[0])
	}
}

// On PostgreSQL one relay at a time runs a pass: a second relay over the
// same database publishes nothing while the first is publishing, and leads
// once the first is done.
func TestRelayOneAtATimeOnPostgres(t *testing.T) {
	cfg := sqldb.Config{DataDir: t.TempDir(), DatabaseURL: sqldbtest.NewPostgresDatabase(t, sqldbtest.RequirePostgres(t))}
	db1, db2 := openDB(t, cfg), openDB(t, cfg)
	publishing := make(chan struct{})
	release := make(chan struct{})
	b1 := &broker{fail: func(n int, _ string) error {
		if n == 0 {
			close(publishing)
			<-release
		}
		return nil
	}}
	b2 := &broker{}
	r1, r2 := newRelay(db1, b1, outbox.Config{}), newRelay(db2, b2, outbox.Config{})
	insert(t, db1, "a", 3)
	done := make(chan error, 1)
	go func() {
		_, err := r1.RelayOnce(context.Background())
		done <- err
	}()
	<-publishing
	n, err := r2.RelayOnce(context.Background())
	close(release)
	if err != nil || n != 0 || len(b2.published()) != 0 {
		t.Fatalf("second relay during the first's pass: %d relayed, err %v", n, err)
	}
	if err := <-done; err != nil {
		t.Fatal(err)
	}
	want := insert(t, db1, "b", 1)
	if got := drain(t, r2); got != 1 || b2.published()[0].id != want[0] {
		t.Fatalf("second relay after the first's pass relayed %d", got)
	}
	if len(b1.published()) != 3 {
		t.Fatalf("first relay published %d, want 3", len(b1.published()))
	}
}
