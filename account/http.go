package account

import (
	"context"

	"upmon/platform/api"
)

// Register adds the service's endpoints to srv. /login and /logout,
// which set cookies, are the HTTP layer's (internal/app).
func (s *Service) Register(srv *api.Server) {
	api.Register(srv, ServiceName, api.OwnerOnly, "GET /users", s.ListUsers)
	api.Register(srv, ServiceName, api.OwnerOnly, "POST /users", s.AddUser)
	api.Register(srv, ServiceName, api.OwnerOnly, "GET /users/{id}", s.GetUser)
	api.Register(srv, ServiceName, api.OwnerOnly, "PATCH /users/{id}", s.PatchUser)
	api.Register(srv, ServiceName, api.OwnerOnly, "DELETE /users/{id}", s.DeleteUser)
	api.Register(srv, ServiceName, api.OwnerOnly, "GET /users/{id}/sessions", s.userSessions)
	api.Register(srv, ServiceName, api.OwnerOnly, "DELETE /users/{id}/sessions", s.endUserSessions)
	api.Register(srv, ServiceName, api.Self, "GET /me", s.Me)
	api.Register(srv, ServiceName, api.Self, "GET /me/sessions", s.mySessions)
	api.Register(srv, ServiceName, api.Self, "DELETE /me/sessions", s.endMySessions)
	api.Register(srv, ServiceName, api.Self, "DELETE /me/sessions/{id}", s.endMySession)
	api.Register(srv, ServiceName, api.Self, "GET /tokens", s.ListTokens)
	api.Register(srv, ServiceName, api.Self, "POST /tokens", s.AddToken)
	api.Register(srv, ServiceName, api.Self, "DELETE /tokens/{id}", s.DeleteToken)
	api.Register(srv, ServiceName, api.OwnerOnly, "GET /audit", s.Audit)
}

// Me is the answer of GET /me.
type Me struct {
	// User is the signed-in user; absent for a service token.
	User *User `json:"user,omitempty"`
	// Name names the caller.
	Name string `json:"name"`
	// Role is the caller's role now.
	Role string `json:"role"`
	// Via is how the caller authenticated: session, token, service-token
	// or none (an installation without accounts or tokens).
	Via string `json:"via"`
}

type viaKey struct{}

// WithVia returns ctx noting how the caller authenticated (for GET /me).
func WithVia(ctx context.Context, via string) context.Context {
	return context.WithValue(ctx, viaKey{}, via)
}

// Me describes the caller.
func (s *Service) Me(ctx context.Context, _ *Empty) (*Me, error) {
	who := PrincipalFrom(ctx)
	via, _ := ctx.Value(viaKey{}).(string)
	me := &Me{Name: who.Name, Role: who.Role.String(), Via: via}
	if who.UserID != 0 {
		u, err := s.GetUser(ctx, &UserID{ID: who.UserID})
		if err != nil {
			return nil, err
		}
		me.User = u
	}
	return me, nil
}

func (s *Service) mySessions(ctx context.Context, _ *Empty) (*Sessions, error) {
	who := PrincipalFrom(ctx)
	if who.UserID == 0 {
		return &Sessions{Sessions: []*Session{}}, nil
	}
	list, err := s.ListSessions(ctx, who.UserID)
	if err != nil {
		return nil, err
	}
	cur, _ := ctx.Value(sessionKey{}).(string)
	for _, ss := range list {
		ss.Current = ss.ID == cur
	}
	return &Sessions{Sessions: list}, nil
}

type sessionKey struct{}

// WithSessionID returns ctx noting the id of the session the request
// came with (GET /me/sessions marks it current).
func WithSessionID(ctx context.Context, id string) context.Context {
	return context.WithValue(ctx, sessionKey{}, id)
}

// Ended is the answer of "log out everywhere".
type Ended struct {
	// Ended is how many sessions ended.
	Ended int64 `json:"ended"`
}

func (s *Service) endMySessions(ctx context.Context, _ *Empty) (*Ended, error) {
	who := PrincipalFrom(ctx)
	if who.UserID == 0 {
		return nil, errSignedInUser
	}
	n, err := s.EndAllSessions(ctx, who.UserID)
	return &Ended{Ended: n}, err
}

func (s *Service) endMySession(ctx context.Context, p *SessionID) (*Empty, error) {
	who := PrincipalFrom(ctx)
	if who.UserID == 0 {
		return nil, errSignedInUser
	}
	return &Empty{}, s.EndSessionByID(ctx, who.UserID, p.ID)
}

func (s *Service) userSessions(ctx context.Context, p *UserID) (*Sessions, error) {
	if _, err := s.GetUser(ctx, p); err != nil {
		return nil, err
	}
	list, err := s.ListSessions(ctx, p.ID)
	if err != nil {
		return nil, err
	}
	return &Sessions{Sessions: list}, nil
}

func (s *Service) endUserSessions(ctx context.Context, p *UserID) (*Ended, error) {
	if _, err := s.GetUser(ctx, p); err != nil {
		return nil, err
	}
	n, err := s.EndAllSessions(ctx, p.ID)
	return &Ended{Ended: n}, err
}
