package web

import (
	"context"
	"net/http"
	"strconv"

	"upmon/account"
	"upmon/platform/api"
)

// AccountsSource is what the users, tokens and audit pages use of the
// accounts service; every call is made as the signed-in caller (the
// request's context), so the service records it in the audit log.
type AccountsSource interface {
	// ListUsers lists every user.
	ListUsers(ctx context.Context, p *account.Empty) (*account.Users, error)
	// AddUser creates a user.
	AddUser(ctx context.Context, p *account.AddUserParams) (*account.User, error)
	// PatchUser changes a user.
	PatchUser(ctx context.Context, p *account.PatchUserParams) (*account.User, error)
	// DeleteUser removes a user.
	DeleteUser(ctx context.Context, p *account.UserID) (*account.Empty, error)
	// ListTokens lists the caller's tokens (every user's for an owner
	// asking for all).
	ListTokens(ctx context.Context, p *account.ListTokensParams) (*account.Tokens, error)
	// AddToken creates a personal token for the caller.
	AddToken(ctx context.Context, p *account.AddTokenParams) (*account.Token, error)
	// DeleteToken revokes a token.
	DeleteToken(ctx context.Context, p *account.TokenID) (*account.Empty, error)
	// EndAllSessions ends every session of a user.
	EndAllSessions(ctx context.Context, userID int64) (int64, error)
	// Audit lists audit records.
	Audit(ctx context.Context, p *account.AuditParams) (*account.AuditPage, error)
}

// registerAccounts adds the users (owner), tokens (any signed-in user)
// and audit log (owner) pages. Their rules come from the route registry
// like every other route's.
func (h *Handler) registerAccounts(srv *api.Server) {
	if h.opts.Accounts == nil {
		return
	}
	page := func(access api.Access, method, p string, f http.HandlerFunc) {
		if method == http.MethodPost {
			f = h.form(f)
		}
		srv.Handle(api.Endpoint{Service: ServiceName, Method: method, Path: p, Access: access}, f)
	}
	page(api.OwnerOnly, http.MethodGet, "/frontend/users", h.usersPage)
	page(api.OwnerOnly, http.MethodPost, "/frontend/users", h.addUser)
	page(api.OwnerOnly, http.MethodPost, "/frontend/users/{id}/role", h.setRole)
	page(api.OwnerOnly, http.MethodPost, "/frontend/users/{id}/delete", h.deleteUser)
	page(api.Self, http.MethodGet, "/frontend/tokens", h.tokensPage)
	page(api.Self, http.MethodPost, "/frontend/tokens", h.addToken)
	page(api.Self, http.MethodPost, "/frontend/tokens/{id}/delete", h.deleteToken)
	page(api.Self, http.MethodPost, "/frontend/sessions/end-all", h.endAllSessions)
	page(api.OwnerOnly, http.MethodGet, "/frontend/audit", h.auditPage)
}

type usersData struct {
	pageBase
	Users []*account.User
	Roles []string
	Error string
}

func (h *Handler) usersPage(w http.ResponseWriter, r *http.Request) {
	h.renderUsers(w, r, http.StatusOK, "")
}

func (h *Handler) renderUsers(w http.ResponseWriter, r *http.Request, status int, msg string) {
	list, err := h.opts.Accounts.ListUsers(r.Context(), &account.Empty{})
	if err != nil {
		h.fail(w, r, err)
		return
	}
	d := usersData{pageBase: h.base("Users", "users"), Users: list.Users, Roles: []string{"viewer", "editor", "owner"}, Error: msg}
	d.Flash = flashes[r.URL.Query().Get("msg")]
	h.render(w, r, status, "users", &d)
}

// formError answers a refused form on its page, or as an error page.
func formError(err error) (int, string) {
	e := api.AsError(err)
	if e.Code == api.Internal || e.Code == api.Unknown || e.Code == api.Unavailable {
		return 0, ""
	}
	return e.Status(), e.Message
}

func (h *Handler) addUser(w http.ResponseWriter, r *http.Request) {
	_, err := h.opts.Accounts.AddUser(r.Context(), &account.AddUserParams{Name: r.PostFormValue("name"),
		Email: r.PostFormValue("email"), Role: r.PostFormValue("role"), Password: r.PostFormValue("password")})
	if err != nil {
		if status, msg := formError(err); status != 0 {
			h.renderUsers(w, r, status, msg)
			return
		}
		h.fail(w, r, err)
		return
	}
	http.Redirect(w, r, "/frontend/users?msg=user-added", http.StatusSeeOther)
}

func pathID(r *http.Request) (int64, error) {
	id, err := strconv.ParseInt(r.PathValue("id"), 10, 64)
	if err != nil || id <= 0 {
		return 0, api.FieldError("id", "must be a positive integer")
	}
	return id, nil
}

func (h *Handler) setRole(w http.ResponseWriter, r *http.Request) {
	id, err := pathID(r)
	if err == nil {
		role := r.PostFormValue("role")
		_, err = h.opts.Accounts.PatchUser(r.Context(), &account.PatchUserParams{ID: id, Role: &role})
	}
	if err != nil {
		if status, msg := formError(err); status != 0 {
			h.renderUsers(w, r, status, msg)
			return
		}
		h.fail(w, r, err)
		return
	}
	http.Redirect(w, r, "/frontend/users?msg=role-set", http.StatusSeeOther)
}

func (h *Handler) deleteUser(w http.ResponseWriter, r *http.Request) {
	id, err := pathID(r)
	if err == nil {
		_, err = h.opts.Accounts.DeleteUser(r.Context(), &account.UserID{ID: id})
	}
	if err != nil {
		if status, msg := formError(err); status != 0 {
			h.renderUsers(w, r, status, msg)
			return
		}
		h.fail(w, r, err)
		return
	}
	http.Redirect(w, r, "/frontend/users?msg=user-deleted", http.StatusSeeOther)
}

type tokensData struct {
	pageBase
	Tokens   []*account.Token
	Roles    []string
	NewToken *account.Token
	Error    string
}

func (h *Handler) tokensPage(w http.ResponseWriter, r *http.Request) {
	h.renderTokens(w, r, http.StatusOK, nil, "")
}

func (h *Handler) renderTokens(w http.ResponseWriter, r *http.Request, status int, created *account.Token, msg string) {
	v := viewerOf(r)
	list, err := h.opts.Accounts.ListTokens(r.Context(), &account.ListTokensParams{All: v.IsOwner})
	if err != nil {
		h.fail(w, r, err)
		return
	}
	d := tokensData{pageBase: h.base("Tokens", "tokens"), Tokens: list.Tokens, NewToken: created, Error: msg}
	for _, role := range []string{"viewer", "editor", "owner"} {
		if rl, _ := api.ParseRole(role); rl <= account.PrincipalFrom(r.Context()).Role {
			d.Roles = append(d.Roles, role)
		}
	}
	d.Flash = flashes[r.URL.Query().Get("msg")]
	h.render(w, r, status, "tokens", &d)
}

func (h *Handler) addToken(w http.ResponseWriter, r *http.Request) {
	t, err := h.opts.Accounts.AddToken(r.Context(), &account.AddTokenParams{Name: r.PostFormValue("name"),
		Role: r.PostFormValue("role"), ExpiresIn: r.PostFormValue("expires_in")})
	if err != nil {
		if status, msg := formError(err); status != 0 {
			h.renderTokens(w, r, status, nil, msg)
			return
		}
		h.fail(w, r, err)
		return
	}
	// Shown once, on this answer; never again.
	h.renderTokens(w, r, http.StatusOK, t, "")
}

func (h *Handler) deleteToken(w http.ResponseWriter, r *http.Request) {
	id, err := pathID(r)
	if err == nil {
		_, err = h.opts.Accounts.DeleteToken(r.Context(), &account.TokenID{ID: id})
	}
	if err != nil {
		h.fail(w, r, err)
		return
	}
	http.Redirect(w, r, "/frontend/tokens?msg=token-revoked", http.StatusSeeOther)
}

func (h *Handler) endAllSessions(w http.ResponseWriter, r *http.Request) {
	p := account.PrincipalFrom(r.Context())
	if p.UserID == 0 {
		h.fail(w, r, api.Errorf(api.PermissionDenied, "only a signed-in user has sessions to end"))
		return
	}
	if _, err := h.opts.Accounts.EndAllSessions(r.Context(), p.UserID); err != nil {
		h.fail(w, r, err)
		return
	}
	http.Redirect(w, r, "/login", http.StatusSeeOther)
}

type auditData struct {
	pageBase
	Page    *account.AuditPage
	Filter  account.AuditParams
	NextURL string
}

func (h *Handler) auditPage(w http.ResponseWriter, r *http.Request) {
	q := r.URL.Query()
	f := account.AuditParams{Actor: q.Get("actor"), Action: q.Get("action"), Target: q.Get("target"), Limit: 50}
	f.Before, _ = strconv.ParseInt(q.Get("before"), 10, 64)
	page, err := h.opts.Accounts.Audit(r.Context(), &f)
	if err != nil {
		h.fail(w, r, err)
		return
	}
	d := auditData{pageBase: h.base("Audit log", "audit"), Page: page, Filter: f}
	if page.Next != 0 {
		nq := q
		nq.Set("before", strconv.FormatInt(page.Next, 10))
		d.NextURL = "/frontend/audit?" + nq.Encode()
	}
	h.render(w, r, http.StatusOK, "audit", &d)
}
