package account

import (
	"context"
	"crypto/rand"
	"database/sql"
	"encoding/base64"
	"errors"
	"strconv"
	"strings"
	"time"

	"upmon/platform/api"
)

// Personal API tokens belong to a user. A token is "upm_" and 32 random
// bytes in base64url; only its SHA-256 is stored (the token is shown once,
// at creation), with its first characters to tell tokens apart. Its role
// is at most its owner's at creation, and at use it is capped by the
// owner's role then, so demoting a user demotes their tokens.

// TokenPrefix starts every personal token.
const TokenPrefix = "upm_"

// Token is a personal token as listed.
type Token struct {
	// ID identifies the token.
	ID int64 `json:"id"`
	// UserID is its owner.
	UserID int64 `json:"user_id"`
	// Name describes it.
	Name string `json:"name"`
	// Role is what it may do (at most its owner's role).
	Role string `json:"role"`
	// Prefix is the token's first characters.
	Prefix string `json:"prefix"`
	// CreatedAt is when it was made.
	CreatedAt time.Time `json:"created_at"`
	// ExpiresAt is when it stops working; absent for never.
	ExpiresAt *time.Time `json:"expires_at,omitempty"`
	// LastUsedAt is its last use; absent if never used.
	LastUsedAt *time.Time `json:"last_used_at,omitempty"`
	// Token is the token itself, only in the answer to its creation.
	Token string `json:"token,omitempty"`
}

// AddTokenParams is the body of POST /tokens.
type AddTokenParams struct {
	// Name describes the token; required.
	Name string `json:"name"`
	// Role is the token's role; default and at most the caller's.
	Role string `json:"role,omitempty"`
	// ExpiresIn is a Go duration ("720h"); empty for no expiry.
	ExpiresIn string `json:"expires_in,omitempty"`
}

// StrictJSON marks AddTokenParams as refusing unknown fields.
func (AddTokenParams) StrictJSON() {}

// Tokens is the answer of GET /tokens.
type Tokens struct {
	// Tokens are the caller's tokens (every user's for an owner with
	// ?all=true), newest first.
	Tokens []*Token `json:"tokens"`
}

// ListTokensParams filters GET /tokens.
type ListTokensParams struct {
	// All lists every user's tokens (owners only).
	All bool `query:"all"`
}

// TokenID names a token in a path.
type TokenID struct {
	// ID is the token, from the path.
	ID int64 `json:"-" path:"id"`
}

func itoa(n int64) string { return strconv.FormatInt(n, 10) }

var (
	errSignedInUser = &api.Error{Code: api.PermissionDenied, Message: "only a signed-in user has personal tokens"}
	errRoleTooHigh  = &api.Error{Code: api.PermissionDenied, Message: "a token's role cannot be higher than its owner's"}
)

// AddToken creates a personal token for the caller.
func (s *Service) AddToken(ctx context.Context, p *AddTokenParams) (*Token, error) {
	who := PrincipalFrom(ctx)
	if who.UserID == 0 || who.TokenID != 0 {
		return nil, errSignedInUser
	}
	name := strings.TrimSpace(p.Name)
	if name == "" || len(name) > 64 {
		return nil, api.FieldError("name", "must be 1-64 characters")
	}
	role := who.Role
	if p.Role != "" {
		r, ok := api.ParseRole(p.Role)
		if !ok {
			return nil, api.FieldError("role", "must be owner, editor or viewer")
		}
		if r > who.Role {
			return nil, errRoleTooHigh
		}
		role = r
	}
	now := s.now()
	var expires int64
	if p.ExpiresIn != "" {
		d, err := time.ParseDuration(p.ExpiresIn)
		if err != nil || d < time.Minute {
			return nil, api.FieldError("expires_in", "must be a duration of a minute or more, like 720h")
		}
		expires = now.Add(d).Unix()
	}
	raw := make([]byte, 32)
	_, _ = rand.Read(raw)
	secret := TokenPrefix + base64.RawURLEncoding.EncodeToString(raw)
	t := &Token{UserID: who.UserID, Name: name, Role: role.String(), Prefix: secret[:len(TokenPrefix)+6],
		CreatedAt: time.Unix(now.Unix(), 0).UTC()}
	err := s.db.QueryRowContext(ctx, `INSERT INTO tokens (user_id, name, role, hash, prefix, created_at, expires_at)
		VALUES ($1, $2, $3, $4, $5, $6, $7) RETURNING id`, t.UserID, t.Name, t.Role, hashSecret(secret), t.Prefix, now.Unix(), expires).Scan(&t.ID)
	if err != nil {
		return nil, dbErr("add token", err)
	}
	if expires > 0 {
		e := time.Unix(expires, 0).UTC()
		t.ExpiresAt = &e
	}
	s.Record(ctx, "token.add", "token/"+itoa(t.ID), nil, t)
	t.Token = secret
	return t, nil
}

// ListTokens lists the caller's tokens, or every user's for an owner
// asking for all.
func (s *Service) ListTokens(ctx context.Context, p *ListTokensParams) (*Tokens, error) {
	who := PrincipalFrom(ctx)
	q := `SELECT id, user_id, name, role, prefix, created_at, expires_at, last_used_at FROM tokens`
	var args []any
	if !p.All || who.Role < api.Owner {
		q += ` WHERE user_id = $1`
		args = append(args, who.UserID)
	}
	rows, err := s.db.QueryContext(ctx, q+` ORDER BY id DESC`, args...)
	if err != nil {
		return nil, dbErr("list tokens", err)
	}
	defer rows.Close()
	out := &Tokens{Tokens: []*Token{}}
	for rows.Next() {
		var t Token
		var created, expires, used int64
		if err := rows.Scan(&t.ID, &t.UserID, &t.Name, &t.Role, &t.Prefix, &created, &expires, &used); err != nil {
			return nil, dbErr("list tokens", err)
		}
		t.CreatedAt = time.Unix(created, 0).UTC()
		t.ExpiresAt, t.LastUsedAt = optTime(expires), optTime(used)
		out.Tokens = append(out.Tokens, &t)
	}
	return out, dbErrOrNil("list tokens", rows.Err())
}

func optTime(unix int64) *time.Time {
	if unix == 0 {
		return nil
	}
	t := time.Unix(unix, 0).UTC()
	return &t
}

// DeleteToken revokes a token: the caller's own, or anyone's for an owner.
func (s *Service) DeleteToken(ctx context.Context, p *TokenID) (*Empty, error) {
	who := PrincipalFrom(ctx)
	q, args := `DELETE FROM tokens WHERE id = $1 AND user_id = $2`, []any{p.ID, who.UserID}
	if who.Role >= api.Owner {
		q, args = `DELETE FROM tokens WHERE id = $1`, []any{p.ID}
	}
	res, err := s.db.ExecContext(ctx, q, args...)
	if err != nil {
		return nil, dbErr("delete token", err)
	}
	if n, _ := res.RowsAffected(); n == 0 {
		return nil, api.Errorf(api.NotFound, "no such token")
	}
	s.Record(ctx, "token.revoke", "token/"+itoa(p.ID), nil, nil)
	return &Empty{}, nil
}

// AuthenticateToken returns the caller a personal token names, or nil
// when it names no live token. Its role is capped by its owner's.
func (s *Service) AuthenticateToken(ctx context.Context, secret string) (*Principal, error) {
	if !strings.HasPrefix(secret, TokenPrefix) || len(secret) > 128 {
		return nil, nil
	}
	var id, userID, expires, used int64
	var role, name, userRole string
	err := s.db.QueryRowContext(ctx, `SELECT t.id, t.user_id, t.role, t.expires_at, t.last_used_at, u.name, u.role
		FROM tokens t JOIN users u ON u.id = t.user_id WHERE t.hash = $1`, hashSecret(secret)).
		Scan(&id, &userID, &role, &expires, &used, &name, &userRole)
	if errors.Is(err, sql.ErrNoRows) {
		return nil, nil
	} else if err != nil {
		return nil, dbErr("read token", err)
	}
	now := s.now()
	if expires != 0 && now.Unix() >= expires {
		return nil, nil
	}
	if now.Unix()-used >= 60 { // last use to the minute, not a write per request
		_, _ = s.db.ExecContext(ctx, `UPDATE tokens SET last_used_at = $1 WHERE id = $2`, now.Unix(), id)
	}
	r, _ := api.ParseRole(role)
	ur, _ := api.ParseRole(userRole)
	return &Principal{UserID: userID, Name: name, Role: min(r, ur), TokenID: id}, nil
}
