package channels

import (
	"context"
	"database/sql"
	"encoding/json"
	"errors"
	"fmt"
	"time"

	"upmon/platform/api"
	"upmon/platform/sqldb"
)

// record is a channel's row. Settings hold the secrets in clear in
// memory; in the database they are encrypted (seal.go), and they never
// leave the service except to the sender (see doc.go).
type record struct {
	ID            int64
	Name, Kind    string
	Settings      []byte
	Events, Tags  []string
	Default       bool
	Enabled       bool
	GroupAfter    int
	Concurrency   int
	RemindEvery   time.Duration
	Template      string
	CreatedAt     time.Time
	UpdatedAt     time.Time
	LastSuccessAt *time.Time
	LastError     string
	LastErrorAt   *time.Time
	// ManagedBy names what owns the name and settings ("" for none; see
	// implicit.go).
	ManagedBy string
}

const recordCols = `id, name, kind, settings, events, tags, is_default, enabled, group_after, concurrency,
	remind_every, template, created_at, updated_at, last_success_at, last_error, last_error_at, managed_by`

type scanner interface{ Scan(dest ...any) error }

func (s *Service) scanRecord(sc scanner) (*record, error) {
	var r record
	var settings, events, tags string
	var def, en int
	var remind, created, updated int64
	var success, errAt sql.NullInt64
	if err := sc.Scan(&r.ID, &r.Name, &r.Kind, &settings, &events, &tags, &def, &en, &r.GroupAfter, &r.Concurrency,
		&remind, &r.Template, &created, &updated, &success, &r.LastError, &errAt, &r.ManagedBy); err != nil {
		return nil, err
	}
	plain, err := s.seal.open(r.ID, settings)
	if err != nil {
		return nil, err
	}
	r.Settings = plain
	if err := json.Unmarshal([]byte(events), &r.Events); err != nil {
		return nil, err
	}
	if err := json.Unmarshal([]byte(tags), &r.Tags); err != nil {
		return nil, err
	}
	r.Default, r.Enabled = def != 0, en != 0
	r.RemindEvery = time.Duration(remind)
	r.CreatedAt, r.UpdatedAt = time.UnixMilli(created).UTC(), time.UnixMilli(updated).UTC()
	r.LastSuccessAt, r.LastErrorAt = msTime(success), msTime(errAt)
	return &r, nil
}

func msTime(v sql.NullInt64) *time.Time {
	if !v.Valid {
		return nil
	}
	t := time.UnixMilli(v.Int64).UTC()
	return &t
}

func b2i(b bool) int {
	if b {
		return 1
	}
	return 0
}

func mustJSON(v any) string {
	b, err := json.Marshal(v)
	if err != nil {
		panic(err) // only plain strings and lists are marshalled here
	}
	return string(b)
}

func dbError(what string, err error) error {
	if err == nil {
		return nil
	}
	if api.IsCode(err, api.FailedPrecondition) {
		return err // undecryptable settings: the message says why
	}
	if sqldb.IsUnavailable(err) || errors.Is(err, context.DeadlineExceeded) {
		return api.Errorf(api.Unavailable, "channels database unavailable (%s)", what)
	}
	return fmt.Errorf("channels: %s: %w", what, err)
}

type queryer interface {
	QueryContext(ctx context.Context, q string, args ...any) (*sql.Rows, error)
}

func (s *Service) loadRecords(ctx context.Context, q queryer, where string, args ...any) ([]*record, error) {
	rows, err := q.QueryContext(ctx, `SELECT `+recordCols+` FROM channels `+where+` ORDER BY id`, args...)
	if err != nil {
		return nil, err
	}
	defer rows.Close()
	var out []*record
	for rows.Next() {
		r, err := s.scanRecord(rows)
		if err != nil {
			return nil, err
		}
		out = append(out, r)
	}
	return out, rows.Err()
}

func (s *Service) loadAll(ctx context.Context) ([]*record, error) {
	return s.loadRecords(ctx, s.db, "")
}

func (s *Service) load(ctx context.Context, id int64) (*record, error) {
	rs, err := s.loadRecords(ctx, s.db, "WHERE id = $1", id)
	if api.IsCode(err, api.FailedPrecondition) {
		return nil, err
	}
	if err != nil {
		return nil, dbError("get", err)
	}
	if len(rs) == 0 {
		return nil, api.Errorf(api.NotFound, "channel %d not found", id)
	}
	return rs[0], nil
}

func (s *Service) insert(ctx context.Context, r *record) (int64, error) {
	id, err := s.insertRow(ctx, r)
	if sqldb.IsUniqueViolation(err) {
		return 0, api.FieldError("name", "a channel with this name exists")
	}
	if err != nil {
		return 0, dbError("create", err)
	}
	return id, nil
}

// insertRow inserts r and returns the database's error as it is.
func (s *Service) insertRow(ctx context.Context, r *record) (int64, error) {
	now := s.now().UnixMilli()
	var id int64
	err := s.db.QueryRowContext(ctx, `INSERT INTO channels (name, kind, settings, events, tags, is_default, enabled,
		group_after, concurrency, remind_every, template, created_at, updated_at, managed_by)
		VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9, $10, $11, $12, $12, $13) RETURNING id`,
		r.Name, r.Kind, s.seal.seal(r.Settings), mustJSON(r.Events), mustJSON(r.Tags), b2i(r.Default), b2i(r.Enabled),
		r.GroupAfter, r.Concurrency, int64(r.RemindEvery), r.Template, now, r.ManagedBy).Scan(&id)
	return id, err
}

func (s *Service) save(ctx context.Context, r *record) error {
	// updated_at must change on every save: workers rebuild on it.
	now := max(s.now().UnixMilli(), r.UpdatedAt.UnixMilli()+1)
	_, err := s.db.ExecContext(ctx, `UPDATE channels SET name = $1, settings = $2, events = $3, tags = $4,
		is_default = $5, enabled = $6, group_after = $7, concurrency = $8, remind_every = $9, template = $10,
		updated_at = $11 WHERE id = $12`,
		r.Name, s.seal.seal(r.Settings), mustJSON(r.Events), mustJSON(r.Tags), b2i(r.Default), b2i(r.Enabled),
		r.GroupAfter, r.Concurrency, int64(r.RemindEvery), r.Template, now, r.ID)
	if sqldb.IsUniqueViolation(err) {
		return api.FieldError("name", "a channel with this name exists")
	}
	if err != nil {
		return dbError("update", err)
	}
	return nil
}

func (s *Service) remove(ctx context.Context, id int64) error {
	// Rows are locked in the order a worker's settle locks them (the
	// channel's deliveries, then the channel): the reverse order
	// deadlocked on PostgreSQL with a send settling at that moment.
	return s.db.InTx(ctx, func(tx *sql.Tx) error {
		if _, err := tx.ExecContext(ctx, `DELETE FROM deliveries WHERE channel_id = $1`, id); err != nil {
			return err
		}
		if _, err := tx.ExecContext(ctx, `DELETE FROM alerts WHERE channel_id = $1`, id); err != nil {
			return err
		}
		res, err := tx.ExecContext(ctx, `DELETE FROM channels WHERE id = $1`, id)
		if err != nil {
			return err
		}
		if n, _ := res.RowsAffected(); n == 0 {
			return api.Errorf(api.NotFound, "channel %d not found", id)
		}
		return nil
	})
}

// counts returns the pending and dead deliveries of a channel.
func (s *Service) counts(ctx context.Context, id int64) (pending, dead int, err error) {
	rows, err := s.db.QueryContext(ctx, `SELECT status, COUNT(*) FROM deliveries WHERE channel_id = $1 GROUP BY status`, id)
	if err != nil {
		return 0, 0, dbError("status", err)
	}
	defer rows.Close()
	for rows.Next() {
		var st string
		var n int
		if err := rows.Scan(&st, &n); err != nil {
			return 0, 0, dbError("status", err)
		}
		switch st {
		case statusPending:
			pending = n
		case statusDead:
			dead = n
		}
	}
	return pending, dead, dbError("status", rows.Err())
}

// recordResult stores a channel's last success or last error.
func (s *Service) recordResult(ctx context.Context, id int64, at time.Time, errText string) {
	var err error
	if errText == "" {
		_, err = s.db.ExecContext(ctx, `UPDATE channels SET last_success_at = $1 WHERE id = $2`, at.UnixMilli(), id)
	} else {
		_, err = s.db.ExecContext(ctx, `UPDATE channels SET last_error = $1, last_error_at = $2 WHERE id = $3`, errText, at.UnixMilli(), id)
	}
	if err != nil && ctx.Err() == nil {
		s.log.Warn("channels: cannot record a delivery result", "channel", id, "err", err)
	}
}
