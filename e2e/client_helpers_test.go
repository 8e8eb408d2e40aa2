package e2e

import (
	"strconv"
	"testing"

	"upmon/client"
	"upmon/internal/app/apptest"
)

// typed returns the generated client (upmon/client) of the server behind
// c; tests call the API through it wherever they send well-formed input.
func typed(c apptest.Client) *client.Client { return client.New(c.Base) }

// mustID parses a site id as returned by addSite.
func mustID(t *testing.T, id string) int64 {
	t.Helper()
	n, err := strconv.ParseInt(id, 10, 64)
	if err != nil {
		t.Fatalf("site id %q: %v", id, err)
	}
	return n
}
