package api

import "net/http"

// Role is what a caller may do. Every endpoint needs one (RequiredRole),
// decided by the route registry from the endpoint's declared Access.
type Role int

// Roles, least first: each includes the rights of the ones before it.
const (
	// Anonymous is a caller without credentials.
	Anonymous Role = iota
	// Viewer may read.
	Viewer
	// Editor may also change sites, channels and maintenance windows.
	Editor
	// Owner may also manage users, read the audit log and use the
	// operator endpoints under /admin/.
	Owner
)

// String returns the role's name as users, tokens and claims spell it.
func (r Role) String() string {
	switch r {
	case Viewer:
		return "viewer"
	case Editor:
		return "editor"
	case Owner:
		return "owner"
	}
	return "anonymous"
}

// ParseRole parses "owner", "editor" or "viewer".
func ParseRole(s string) (Role, bool) {
	switch s {
	case "viewer":
		return Viewer, true
	case "editor":
		return Editor, true
	case "owner":
		return Owner, true
	}
	return Anonymous, false
}

// RequiredRole returns the least role a caller needs for ep, from its
// declared Access: Open and Push endpoints need none; Public reads need
// a viewer and Public changes an editor; Self endpoints (a caller's own
// profile, tokens and sessions) any signed-in caller; Admin and
// OwnerOnly endpoints an owner. ok is false for an Access without a rule,
// which the permission table test refuses.
func RequiredRole(ep Endpoint) (role Role, ok bool) {
	switch ep.Access {
	case Open, Push:
		return Anonymous, true
	case Public:
		if ep.Mutating || isMutating(ep.Method) {
			return Editor, true
		}
		return Viewer, true
	case Self:
		return Viewer, true
	case Admin, OwnerOnly:
		return Owner, true
	}
	return Anonymous, false
}

// IsRead reports whether method only reads.
func IsRead(method string) bool {
	return method == http.MethodGet || method == http.MethodHead || method == ""
}
