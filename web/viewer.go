package web

import (
	"net/http"

	"upmon/account"
	"upmon/platform/api"
)

// viewer is who is looking at a page, so templates show only the
// controls their role can use (the server refuses the others anyway:
// api.RequiredRole).
type viewer struct {
	// ViewerName names the signed-in caller.
	ViewerName string
	// Role is their role's name.
	Role string
	// SignedIn is true for a user or service-token session (not for an
	// installation without access control).
	SignedIn bool
	// CanEdit shows the controls that change sites; IsOwner the users
	// and audit pages.
	CanEdit, IsOwner bool
}

// setViewer fills the page's viewer from the request's caller. Without
// an accounts service (tests of the dashboard alone) every control shows.
func (b *pageBase) setViewer(r *http.Request) {
	b.viewer = viewerOf(r)
}

func viewerOf(r *http.Request) viewer {
	p, ok := account.PrincipalFromOK(r.Context())
	if !ok {
		return viewer{CanEdit: true, IsOwner: true}
	}
	return viewer{ViewerName: p.Name, Role: p.Role.String(), SignedIn: p.UserID != 0 || p.Name == account.ServiceTokenName,
		CanEdit: p.Role >= api.Editor, IsOwner: p.Role >= api.Owner}
}
