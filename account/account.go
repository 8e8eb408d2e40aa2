// Package account is the accounts service: users with a role, their
// server-side sessions, personal API tokens and the audit log of every
// change, in a database of its own (tables users, sessions, tokens,
// audit). The HTTP layer (internal/app) authenticates each request
// through it and puts the caller (a Principal) in the request's context;
// the route registry (api.RequiredRole) decides what each role may call.
package account

import (
	"context"
	"embed"
	"io/fs"
	"log/slog"
	"time"

	"upmon/platform/api"
	"upmon/platform/sqldb"
)

// ServiceName is the service's name in the registry.
const ServiceName = "account"

//go:embed migrations/*.sql
var migrations embed.FS

// Migrations returns the service's schema migrations.
func Migrations() fs.FS {
	sub, _ := fs.Sub(migrations, "migrations")
	return sub
}

// Options configures a Service.
type Options struct {
	// Now returns the current time; default time.Now.
	Now func() time.Time
	// SessionIdle ends a session after this long without a request;
	// default 12 h.
	SessionIdle time.Duration
	// SessionLifetime ends a session this long after sign-in; default 7 d.
	SessionLifetime time.Duration
	// AuditRetention is how long audit records are kept; default 365 d.
	AuditRetention time.Duration
	// Logger receives warnings; default discards.
	Logger *slog.Logger
}

// Service is the accounts service.
type Service struct {
	db    *sqldb.DB
	opts  Options
	now   func() time.Time
	log   *slog.Logger
	dummy string // verified when a sign-in names no account
}

// New returns the accounts service over its database.
func New(db *sqldb.DB, opts Options) *Service {
	if opts.Now == nil {
		opts.Now = time.Now
	}
	if opts.SessionIdle <= 0 {
		opts.SessionIdle = 12 * time.Hour
	}
	if opts.SessionLifetime <= 0 {
		opts.SessionLifetime = 7 * 24 * time.Hour
	}
	if opts.AuditRetention <= 0 {
		opts.AuditRetention = 365 * 24 * time.Hour
	}
	if opts.Logger == nil {
		opts.Logger = slog.New(slog.DiscardHandler)
	}
	return &Service{db: db, opts: opts, now: opts.Now, log: opts.Logger,
		dummy: HashPassword("upmon: no such account")}
}

// SetClock replaces the service's clock (tests).
func (s *Service) SetClock(now func() time.Time) { s.now = now }

// Principal is an authenticated caller.
type Principal struct {
	// UserID is the caller's user, 0 for a service token (--api-token,
	// --read-token) and its sessions.
	UserID int64
	// Name names the caller in the audit log: the user's name, or
	// "service token".
	Name string
	// Role is what the caller may do.
	Role api.Role
	// TokenID is the personal token used, 0 otherwise.
	TokenID int64
	// Address is the client's address.
	Address string
}

type principalKey struct{}

// WithPrincipal returns ctx carrying the caller.
func WithPrincipal(ctx context.Context, p *Principal) context.Context {
	return context.WithValue(ctx, principalKey{}, p)
}

// ServiceTokenName is the Name of a caller using a service token
// (--api-token, --read-token).
const ServiceTokenName = "service token"

// PrincipalFromOK returns the caller ctx carries and whether it carries
// one at all.
func PrincipalFromOK(ctx context.Context) (*Principal, bool) {
	p, ok := ctx.Value(principalKey{}).(*Principal)
	return p, ok && p != nil
}

// PrincipalFrom returns the caller ctx carries: an anonymous one (role
// Anonymous, no user) when none is set.
func PrincipalFrom(ctx context.Context) *Principal {
	if p, ok := ctx.Value(principalKey{}).(*Principal); ok && p != nil {
		return p
	}
	return &Principal{Name: "anonymous"}
}

// dbErr turns a database failure into what an endpoint answers.
func dbErr(op string, err error) error { return sqldb.APIError(ServiceName, op, err) }
