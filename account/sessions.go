package account

import (
	"context"
	"crypto/rand"
	"crypto/sha256"
	"database/sql"
	"encoding/hex"
	"errors"
	"time"

	"upmon/platform/api"
)

// Sessions live in the accounts database, which every replica shares
// (PostgreSQL) or the single node keeps (SQLite). A session cookie holds
// 32 random bytes; the table keeps only their SHA-256, so a copy of the
// table opens no session. A session belongs to a user, or, for a
// dashboard sign-in with a service token (--api-token, --read-token), to
// that token's fingerprint, and lasts while the token is configured. It
// ends on logout, after SessionIdle without a request, after
// SessionLifetime in any case, when its user is deleted or their
// password changes, and on "log out everywhere".

// ErrNoSession means a cookie names no live session.
var ErrNoSession = errors.New("account: no such session")

// Session is a signed-in browser.
type Session struct {
	// ID identifies the session (not its cookie).
	ID string `json:"id"`
	// UserID is its user, 0 for a service-token session.
	UserID int64 `json:"user_id"`
	// CreatedAt and SeenAt are the sign-in and the last request.
	CreatedAt time.Time `json:"created_at"`
	SeenAt    time.Time `json:"seen_at"`
	// Address and UserAgent are those of the sign-in.
	Address   string `json:"address"`
	UserAgent string `json:"user_agent"`
	// Current is true for the session the request came with.
	Current bool `json:"current,omitempty"`

	serviceFP string
}

// Sessions is the answer of GET /me/sessions.
type Sessions struct {
	// Sessions are the caller's live sessions, newest first.
	Sessions []*Session `json:"sessions"`
}

// SessionID names a session in a path.
type SessionID struct {
	// ID is the session, from the path.
	ID string `json:"-" path:"id"`
}

func hashSecret(secret string) string {
	h := sha256.Sum256([]byte(secret))
	return hex.EncodeToString(h[:])
}

// ServiceFingerprint identifies a service token in the sessions table
// without storing it.
func ServiceFingerprint(token string) string { return hashSecret("upmon service token\x00" + token) }

// OpenSession stores a new session for a user (userID > 0) or a service
// token (serviceFP) and returns its cookie value.
func (s *Service) OpenSession(ctx context.Context, userID int64, serviceFP, address, userAgent string) (string, error) {
	raw := make([]byte, 32)
	_, _ = rand.Read(raw)
	cookie := hex.EncodeToString(raw)
	now := s.now().Unix()
	if len(userAgent) > 256 {
		userAgent = userAgent[:256]
	}
	_, err := s.db.ExecContext(ctx, `INSERT INTO sessions (id_hash, user_id, service_fp, created_at, seen_at, address, user_agent)
		VALUES ($1, $2, $3, $4, $4, $5, $6)`, hashSecret(cookie), userID, serviceFP, now, address, userAgent)
	if err != nil {
		return "", dbErr("open session", err)
	}
	return cookie, nil
}

// LookupSession returns the live session a cookie names, marking it
// used; ErrNoSession when there is none.
func (s *Service) LookupSession(ctx context.Context, cookie string) (*Session, error) {
	if len(cookie) != 64 {
		return nil, ErrNoSession
	}
	id := hashSecret(cookie)
	var ss Session
	var created, seen int64
	err := s.db.QueryRowContext(ctx, `SELECT user_id, service_fp, created_at, seen_at, address, user_agent FROM sessions WHERE id_hash = $1`, id).
		Scan(&ss.UserID, &ss.serviceFP, &created, &seen, &ss.Address, &ss.UserAgent)
	if errors.Is(err, sql.ErrNoRows) {
		return nil, ErrNoSession
	} else if err != nil {
		return nil, dbErr("read session", err)
	}
	ss.ID, ss.CreatedAt, ss.SeenAt = id, time.Unix(created, 0).UTC(), time.Unix(seen, 0).UTC()
	now := s.now()
	if now.Sub(ss.CreatedAt) > s.opts.SessionLifetime || now.Sub(ss.SeenAt) > s.opts.SessionIdle {
		_, _ = s.db.ExecContext(ctx, `DELETE FROM sessions WHERE id_hash = $1`, id)
		return nil, ErrNoSession
	}
	// Record the use now and then, not on every request: often enough
	// that idle expiry is off by at most a sixteenth of SessionIdle.
	if now.Sub(ss.SeenAt) > s.opts.SessionIdle/16 {
		_, _ = s.db.ExecContext(ctx, `UPDATE sessions SET seen_at = $1 WHERE id_hash = $2`, now.Unix(), id)
	}
	return &ss, nil
}

// ServiceFP returns the service-token fingerprint of a service session.
func (ss *Session) ServiceFP() string { return ss.serviceFP }

// EndSession deletes the session a cookie names, if any.
func (s *Service) EndSession(ctx context.Context, cookie string) error {
	if _, err := s.db.ExecContext(ctx, `DELETE FROM sessions WHERE id_hash = $1`, hashSecret(cookie)); err != nil {
		return dbErr("end session", err)
	}
	return nil
}

// ListSessions returns a user's live sessions, newest first.
func (s *Service) ListSessions(ctx context.Context, userID int64) ([]*Session, error) {
	now := s.now()
	rows, err := s.db.QueryContext(ctx, `SELECT id_hash, created_at, seen_at, address, user_agent FROM sessions
		WHERE user_id = $1 AND created_at >= $2 AND seen_at >= $3 ORDER BY created_at DESC, id_hash`,
		userID, now.Add(-s.opts.SessionLifetime).Unix(), now.Add(-s.opts.SessionIdle).Unix())
	if err != nil {
		return nil, dbErr("list sessions", err)
	}
	defer rows.Close()
	out := []*Session{}
	for rows.Next() {
		ss := &Session{UserID: userID}
		var created, seen int64
		if err := rows.Scan(&ss.ID, &created, &seen, &ss.Address, &ss.UserAgent); err != nil {
			return nil, dbErr("list sessions", err)
		}
		ss.CreatedAt, ss.SeenAt = time.Unix(created, 0).UTC(), time.Unix(seen, 0).UTC()
		out = append(out, ss)
	}
	return out, dbErrOrNil("list sessions", rows.Err())
}

// EndSessionByID ends one of a user's sessions.
func (s *Service) EndSessionByID(ctx context.Context, userID int64, id string) error {
	res, err := s.db.ExecContext(ctx, `DELETE FROM sessions WHERE id_hash = $1 AND user_id = $2`, id, userID)
	if err != nil {
		return dbErr("end session", err)
	}
	if n, _ := res.RowsAffected(); n == 0 {
		return api.Errorf(api.NotFound, "no such session")
	}
	s.Record(ctx, "session.revoke", "user/"+itoa(userID), nil, nil)
	return nil
}

// EndAllSessions ends every session of a user ("log out everywhere") and
// returns how many ended.
func (s *Service) EndAllSessions(ctx context.Context, userID int64) (int64, error) {
	res, err := s.db.ExecContext(ctx, `DELETE FROM sessions WHERE user_id = $1`, userID)
	if err != nil {
		return 0, dbErr("end sessions", err)
	}
	n, _ := res.RowsAffected()
	s.Record(ctx, "session.revoke-all", "user/"+itoa(userID), nil, map[string]int64{"ended": n})
	return n, nil
}

// PruneSessions deletes sessions past their expiry.
func (s *Service) PruneSessions(ctx context.Context) error {
	now := s.now()
	_, err := s.db.ExecContext(ctx, `DELETE FROM sessions WHERE created_at < $1 OR seen_at < $2`,
		now.Add(-s.opts.SessionLifetime).Unix(), now.Add(-s.opts.SessionIdle).Unix())
	return dbErrOrNil("prune sessions", err)
}

func dbErrOrNil(op string, err error) error {
	if err == nil {
		return nil
	}
	return dbErr(op, err)
}
