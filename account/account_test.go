package account_test

import (
	"context"
	"encoding/json"
	"strings"
	"sync/atomic"
	"testing"
	"time"

	"upmon/account"
	"upmon/platform/api"
	"upmon/platform/sqldb"
	"upmon/platform/sqldb/sqldbtest"
)

type clock struct{ ns atomic.Int64 }

func (c *clock) now() time.Time          { return time.Unix(0, c.ns.Load()).UTC() }
func (c *clock) advance(d time.Duration) { c.ns.Add(int64(d)) }

// MustService opens the accounts service on a private database (SQLite,
// or PostgreSQL when UPMON_TEST_POSTGRES_URL is set) with a fake clock.
func MustService(tb testing.TB) (*account.Service, *clock) {
	tb.Helper()
	db, err := sqldb.Open(context.Background(), sqldbtest.Config(tb), "account", account.Migrations())
	if err != nil {
		tb.Fatal(err)
	}
	tb.Cleanup(func() { db.Close() })
	c := &clock{}
	c.ns.Store(time.Date(2026, 1, 1, 0, 0, 0, 0, time.UTC).UnixNano())
	return account.New(db, account.Options{Now: c.now, SessionIdle: time.Hour, SessionLifetime: 24 * time.Hour,
		AuditRetention: 48 * time.Hour}), c
}

func as(role api.Role, id int64) context.Context {
	return account.WithPrincipal(context.Background(), &account.Principal{UserID: id, Name: "u" + role.String(), Role: role, Address: "127.0.0.1"})
}

func mustAdd(t *testing.T, s *account.Service, name, role, pw string) *account.User {
	t.Helper()
	u, err := s.AddUser(as(api.Owner, 0), &account.AddUserParams{Name: name, Email: name + "@example.com", Role: role, Password: pw})
	if err != nil {
		t.Fatal(err)
	}
	return u
}

func TestUsersAndPasswords(t *testing.T) {
	s, _ := MustService(t)
	ctx := as(api.Owner, 0)
	ada := mustAdd(t, s, "ada", "owner", "correct horse battery")
	if _, err := s.AddUser(ctx, &account.AddUserParams{Name: "ada2", Email: "ADA@example.com", Role: "viewer"}); err == nil {
		// the email differs only in case
	} else if !api.IsCode(err, api.InvalidArgument) && !api.IsCode(err, api.AlreadyExists) {
		t.Fatalf("duplicate email: %v", err)
	}
	for _, bad := range []account.AddUserParams{
		{Name: "bob", Email: "bob@example.com", Role: "admin"},
		{Name: "b o b", Email: "bob@example.com", Role: "viewer"},
		{Name: "bob", Email: "not-an-email", Role: "viewer"},
		{Name: "bob", Email: "bob@example.com", Role: "viewer", Password: "short"},
	} {
		if _, err := s.AddUser(ctx, &bad); !api.IsCode(err, api.InvalidArgument) {
			t.Errorf("AddUser(%+v) = %v, want invalid_argument", bad, err)
		}
	}
	if _, err := s.AddUser(ctx, &account.AddUserParams{Name: "ada", Email: "other@example.com", Role: "viewer"}); !api.IsCode(err, api.AlreadyExists) {
		t.Fatalf("duplicate name: %v", err)
	}
	for _, login := range []string{"ada", "ada@example.com", "ADA@EXAMPLE.COM"} {
		if u, err := s.Authenticate(ctx, login, "correct horse battery"); err != nil || u == nil || u.ID != ada.ID {
			t.Errorf("Authenticate(%q) = %v, %v", login, u, err)
		}
	}
	for _, c := range [][2]string{{"ada", "wrong horse battery"}, {"nobody", "correct horse battery"}, {"ada", ""}} {
		if u, err := s.Authenticate(ctx, c[0], c[1]); err != nil || u != nil {
			t.Errorf("Authenticate(%q, %q) = %v, %v, want refused", c[0], c[1], u, err)
		}
	}
	// The last owner can be neither demoted nor deleted.
	viewer := "viewer"
	if _, err := s.PatchUser(ctx, &account.PatchUserParams{ID: ada.ID, Role: &viewer}); !api.IsCode(err, api.FailedPrecondition) {
		t.Fatalf("demote the last owner: %v", err)
	}
	if _, err := s.DeleteUser(ctx, &account.UserID{ID: ada.ID}); !api.IsCode(err, api.FailedPrecondition) {
		t.Fatalf("delete the last owner: %v", err)
	}
	bob := mustAdd(t, s, "bob", "owner", "")
	if _, err := s.PatchUser(ctx, &account.PatchUserParams{ID: ada.ID, Role: &viewer}); err != nil {
		t.Fatalf("demote with another owner: %v", err)
	}
	if u, _ := s.Authenticate(ctx, "bob", ""); u != nil {
		t.Fatal("a user without a password signed in with an empty one")
	}
	if _, err := s.DeleteUser(ctx, &account.UserID{ID: bob.ID}); !api.IsCode(err, api.FailedPrecondition) {
		t.Fatalf("delete the last owner (bob): %v", err)
	}
}

func TestPasswordHashFormat(t *testing.T) {
	h := account.HashPassword("correct horse battery")
	if !strings.HasPrefix(h, "$argon2id$v=19$m=19456,t=2,p=1$") {
		t.Fatalf("hash %q is not PHC argon2id with the documented parameters", h)
	}
	if h == account.HashPassword("correct horse battery") {
		t.Fatal("two hashes of one password are equal: no salt")
	}
	if !account.VerifyPassword(h, "correct horse battery") || account.VerifyPassword(h, "correct horse batterx") {
		t.Fatal("verify")
	}
	for _, bad := range []string{"", "$argon2i$v=19$m=19456,t=2,p=1$c2FsdHNhbHRzYWx0$a2V5a2V5a2V5a2V5a2V5a2V5",
		strings.Replace(h, "m=19456", "m=99999999", 1), strings.Replace(h, "t=2", "t=0", 1), h[:len(h)-20]} {
		if account.VerifyPassword(bad, "correct horse battery") {
			t.Errorf("malformed hash %q verified", bad)
		}
	}
}

func TestSessions(t *testing.T) {
	s, c := MustService(t)
	ada := mustAdd(t, s, "ada", "owner", "correct horse battery")
	ctx := as(api.Owner, ada.ID)
	a, err := s.OpenSession(ctx, ada.ID, "", "127.0.0.1", "test")
	if err != nil {
		t.Fatal(err)
	}
	b, _ := s.OpenSession(ctx, ada.ID, "", "127.0.0.2", "test")
	if ss, err := s.LookupSession(ctx, a); err != nil || ss.UserID != ada.ID {
		t.Fatalf("lookup: %v %v", ss, err)
	}
	if _, err := s.LookupSession(ctx, strings.Repeat("0", 64)); err != account.ErrNoSession {
		t.Fatalf("unknown cookie: %v", err)
	}
	list, _ := s.ListSessions(ctx, ada.ID)
	if len(list) != 2 {
		t.Fatalf("listed %d sessions, want 2", len(list))
	}
	// Idle expiry: 59 minutes pass, a is used, b is not; 2 more minutes.
	c.advance(59 * time.Minute)
	if _, err := s.LookupSession(ctx, a); err != nil {
		t.Fatalf("after 59 idle minutes: %v", err)
	}
	c.advance(2 * time.Minute)
	if _, err := s.LookupSession(ctx, b); err != account.ErrNoSession {
		t.Fatalf("b after 61 idle minutes: %v", err)
	}
	if _, err := s.LookupSession(ctx, a); err != nil {
		t.Fatalf("a, used 2 minutes ago: %v", err)
	}
	// Absolute expiry, however busy the session.
	for range 24 {
		c.advance(59 * time.Minute)
		_, _ = s.LookupSession(ctx, a)
	}
	if _, err := s.LookupSession(ctx, a); err != account.ErrNoSession {
		t.Fatalf("a after its lifetime: %v", err)
	}
	// Log out everywhere.
	x, _ := s.OpenSession(ctx, ada.ID, "", "", "")
	y, _ := s.OpenSession(ctx, ada.ID, "", "", "")
	if n, err := s.EndAllSessions(ctx, ada.ID); err != nil || n != 2 {
		t.Fatalf("EndAllSessions = %d, %v", n, err)
	}
	for _, ck := range []string{x, y} {
		if _, err := s.LookupSession(ctx, ck); err != account.ErrNoSession {
			t.Fatalf("after log out everywhere: %v", err)
		}
	}
	// A new password ends the sessions too.
	z, _ := s.OpenSession(ctx, ada.ID, "", "", "")
	pw := "another long password"
	if _, err := s.PatchUser(ctx, &account.PatchUserParams{ID: ada.ID, Password: &pw}); err != nil {
		t.Fatal(err)
	}
	if _, err := s.LookupSession(ctx, z); err != account.ErrNoSession {
		t.Fatalf("after a password change: %v", err)
	}
}

func TestTokens(t *testing.T) {
	s, c := MustService(t)
	ed := mustAdd(t, s, "ed", "editor", "")
	_ = mustAdd(t, s, "own", "owner", "")
	ctx := as(api.Editor, ed.ID)
	if _, err := s.AddToken(ctx, &account.AddTokenParams{Name: "ci", Role: "owner"}); !api.IsCode(err, api.PermissionDenied) {
		t.Fatalf("a token above its owner's role: %v", err)
	}
	tok, err := s.AddToken(ctx, &account.AddTokenParams{Name: "ci", ExpiresIn: "2h"})
	if err != nil || !strings.HasPrefix(tok.Token, account.TokenPrefix) || tok.Role != "editor" {
		t.Fatalf("AddToken = %+v, %v", tok, err)
	}
	p, err := s.AuthenticateToken(ctx, tok.Token)
	if err != nil || p == nil || p.UserID != ed.ID || p.Role != api.Editor {
		t.Fatalf("AuthenticateToken = %+v, %v", p, err)
	}
	list, _ := s.ListTokens(ctx, &account.ListTokensParams{})
	if len(list.Tokens) != 1 || list.Tokens[0].Token != "" || list.Tokens[0].LastUsedAt == nil {
		t.Fatalf("listed %+v: want one token, secret absent, last use set", list.Tokens)
	}
	// Demoting the owner demotes the token.
	viewer := "viewer"
	if _, err := s.PatchUser(as(api.Owner, 0), &account.PatchUserParams{ID: ed.ID, Role: &viewer}); err != nil {
		t.Fatal(err)
	}
	if p, _ := s.AuthenticateToken(ctx, tok.Token); p == nil || p.Role != api.Viewer {
		t.Fatalf("after demotion: %+v", p)
	}
	c.advance(2 * time.Hour)
	if p, _ := s.AuthenticateToken(ctx, tok.Token); p != nil {
		t.Fatalf("an expired token authenticated: %+v", p)
	}
	// Another user cannot revoke it; its owner can.
	other := mustAdd(t, s, "vi", "viewer", "")
	if _, err := s.DeleteToken(as(api.Viewer, other.ID), &account.TokenID{ID: tok.ID}); !api.IsCode(err, api.NotFound) {
		t.Fatalf("another user's revoke: %v", err)
	}
	if _, err := s.DeleteToken(ctx, &account.TokenID{ID: tok.ID}); err != nil {
		t.Fatal(err)
	}
}

func TestAuditMasksAndPages(t *testing.T) {
	s, c := MustService(t)
	ctx := as(api.Owner, 7)
	s.Record(ctx, "site.update", "site/1",
		map[string]any{"url": "https://bob:hunter2@example.com/?token=abc", "headers": map[string]string{"Authorization": "Bearer x"}},
		map[string]any{"push_token": "p0sh", "name": "shop", "password": "pw", "routing_key": "rk-s3cret", "keyword": "ok",
			"channel": map[string]any{"webhook_url": "https://hooks.example/abc", "Authorization": "Bearer zz"}})
	for i := range 5 {
		c.advance(time.Hour)
		s.Record(ctx, "user.add", "user/u"+string(rune('a'+i)), nil, nil)
	}
	page, err := s.Audit(ctx, &account.AuditParams{Action: "site"})
	if err != nil || len(page.Entries) != 1 {
		t.Fatalf("filter by action: %+v %v", page, err)
	}
	e := page.Entries[0]
	all := string(e.Before) + string(e.After)
	for _, secret := range []string{"hunter2", "abc", "Bearer", "p0sh", `"pw"`, "rk-s3cret", "hooks.example"} {
		if strings.Contains(all, secret) {
			t.Errorf("audit record holds %q: %s", secret, all)
		}
	}
	var after map[string]any
	_ = json.Unmarshal(e.After, &after)
	if after["name"] != "shop" || after["keyword"] != "ok" || e.Actor != "uowner" || e.ActorID != 7 || e.Address != "127.0.0.1" {
		t.Fatalf("record %+v after %v", e, after)
	}
	p1, _ := s.Audit(ctx, &account.AuditParams{Limit: 4})
	p2, _ := s.Audit(ctx, &account.AuditParams{Limit: 4, Before: p1.Next})
	if len(p1.Entries) != 4 || len(p2.Entries) != 2 || p2.Next != 0 || p1.Entries[3].ID <= p2.Entries[0].ID {
		t.Fatalf("pages: %d then %d (next %d)", len(p1.Entries), len(p2.Entries), p2.Next)
	}
	// Retention 48 h: at t0+50 h the records of t0 and t0+1 h go.
	c.advance(45 * time.Hour)
	if err := s.PruneAudit(ctx); err != nil {
		t.Fatal(err)
	}
	left, _ := s.Audit(ctx, &account.AuditParams{})
	if len(left.Entries) != 4 {
		t.Fatalf("after pruning: %d records, want 4", len(left.Entries))
	}
}
