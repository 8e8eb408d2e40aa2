package account

import (
	"context"
	"crypto/sha256"
	"database/sql"
	"encoding/hex"
	"errors"
	"strings"
	"time"

	"upmon/platform/api"
)

// A single sign-on login in progress is kept server-side, in the accounts
// database every replica shares, under the hash of its state: the nonce
// and PKCE verifier never leave the server, and the callback takes the
// row (delete and return), so a state works once.

// OIDCLoginTTL is how long a sign-on may take from redirect to callback.
const OIDCLoginTTL = 10 * time.Minute

// ErrNoOIDCLogin means a callback's state names no login in progress (a
// replay, a forgery, or one that took too long).
var ErrNoOIDCLogin = errors.New("account: no such sign-on in progress")

// OIDCLogin is a single sign-on login in progress.
type OIDCLogin struct {
	// Nonce goes into the authorization request and must come back in
	// the ID token.
	Nonce string
	// Verifier is the PKCE code verifier.
	Verifier string
	// Next is where to go after signing in.
	Next string
}

// StartOIDCLogin stores a login in progress under its state.
func (s *Service) StartOIDCLogin(ctx context.Context, state string, l OIDCLogin) error {
	now := s.now()
	if _, err := s.db.ExecContext(ctx, `DELETE FROM oidc_logins WHERE created_at < $1`, now.Add(-OIDCLoginTTL).Unix()); err != nil {
		return dbErr("start sign-on", err)
	}
	_, err := s.db.ExecContext(ctx, `INSERT INTO oidc_logins (state_hash, nonce, verifier, next, created_at) VALUES ($1, $2, $3, $4, $5)`,
		hashSecret(state), l.Nonce, l.Verifier, l.Next, now.Unix())
	return dbErrOrNil("start sign-on", err)
}

// TakeOIDCLogin removes and returns the login in progress under state;
// ErrNoOIDCLogin when there is none or it is too old.
func (s *Service) TakeOIDCLogin(ctx context.Context, state string) (*OIDCLogin, error) {
	var l OIDCLogin
	var created int64
	err := s.db.QueryRowContext(ctx, `DELETE FROM oidc_logins WHERE state_hash = $1 RETURNING nonce, verifier, next, created_at`,
		hashSecret(state)).Scan(&l.Nonce, &l.Verifier, &l.Next, &created)
	if errors.Is(err, sql.ErrNoRows) {
		return nil, ErrNoOIDCLogin
	} else if err != nil {
		return nil, dbErr("take sign-on", err)
	}
	if s.now().Sub(time.Unix(created, 0)) > OIDCLoginTTL {
		return nil, ErrNoOIDCLogin
	}
	return &l, nil
}

// OIDCIdentity is what a verified ID token says about its user.
type OIDCIdentity struct {
	// Issuer and Subject identify the user at the provider.
	Issuer, Subject string
	// Email, if the provider verified it, links an existing account.
	Email         string
	EmailVerified bool
	// Name is the preferred user name, if any.
	Name string
	// Role is the role the claim gives, Anonymous when the token has no
	// valid one.
	Role api.Role
}

// SignInOIDC returns the user an identity belongs to: the one linked to
// it, else the one with its verified email (which is linked now), else a
// new user with defaultRole. A role claim sets the user's role on every
// sign-on.
func (s *Service) SignInOIDC(ctx context.Context, id OIDCIdentity, defaultRole api.Role) (*User, error) {
	subject := id.Issuer + " " + id.Subject
	u, err := scanUser(s.db.QueryRowContext(ctx, `SELECT `+userColumns+` FROM users WHERE oidc_subject = $1`, subject))
	if errors.Is(err, sql.ErrNoRows) && id.EmailVerified && id.Email != "" {
		u, err = scanUser(s.db.QueryRowContext(ctx, `SELECT `+userColumns+` FROM users WHERE email = $1 AND oidc_subject = ''`, strings.ToLower(id.Email)))
		if err == nil {
			if _, err = s.db.ExecContext(ctx, `UPDATE users SET oidc_subject = $1 WHERE id = $2`, subject, u.ID); err != nil {
				return nil, dbErr("link sign-on", err)
			}
			s.Record(ctx, "user.link-sso", userTarget(u), nil, map[string]string{"issuer": id.Issuer})
		}
	}
	if errors.Is(err, sql.ErrNoRows) {
		role := defaultRole
		if id.Role != api.Anonymous {
			role = id.Role
		}
		email, eerr := normEmail(id.Email)
		if eerr != nil || !id.EmailVerified {
			email = "sso-" + hashSecret(subject)[:12] + "@sso.invalid"
		}
		return s.insertUser(ctx, ssoName(id, subject), email, role.String(), "", subject)
	}
	if err != nil {
		return nil, dbErr("sign-on user", err)
	}
	if id.Role != api.Anonymous && id.Role.String() != u.Role {
		r := id.Role.String()
		return s.PatchUser(ctx, &PatchUserParams{ID: u.ID, Role: &r})
	}
	return u, nil
}

// ssoName derives a unique, valid user name from an identity.
func ssoName(id OIDCIdentity, subject string) string {
	n := id.Name
	if n == "" {
		n, _, _ = strings.Cut(id.Email, "@")
	}
	n = strings.Map(func(r rune) rune {
		if r == ' ' || r == '\t' || r == '@' || r < 0x20 {
			return '-'
		}
		return r
	}, n)
	if len(n) > 40 {
		n = n[:40]
	}
	sum := sha256.Sum256([]byte(subject))
	if n == "" {
		n = "sso"
	}
	return n + "-" + hex.EncodeToString(sum[:3])
}
