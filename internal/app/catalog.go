package app

import (
	"context"
	"crypto/rand"
	"encoding/hex"
	"encoding/json"
	"fmt"
	"net/http"
	"os"

	"upmon/internal/version"
	"upmon/platform/api"
	"upmon/platform/catalog"
	"upmon/platform/sqldb"
)

// replicaID names this replica in the catalog and in cron claims: the
// host name, the process id and a random suffix (tests run several
// replicas in one process).
func replicaID() string {
	host, err := os.Hostname()
	if err != nil || host == "" {
		host = "upmon"
	}
	var b [3]byte
	_, _ = rand.Read(b[:])
	return fmt.Sprintf("%s-%d-%s", host, os.Getpid(), hex.EncodeToString(b[:]))
}

// catalogSources are the registries the catalog, the OpenAPI document and
// the architecture picture are drawn from.
func (m *Main) catalogSources() catalog.Sources {
	return catalog.Sources{
		API:       m.api,
		Requires:  requires,
		Broker:    m.broker,
		Relays:    m.relays,
		Scheduler: m.sched,
		Databases: []*sqldb.DB{m.siteDB, m.monDB, m.chanDB, m.accDB},
		Registry:  m.declared,
		Replica:   m.replica,
		Version:   version.String(),
	}
}

// Catalog describes the running system (GET /admin/catalog).
func (m *Main) Catalog(ctx context.Context) *catalog.Catalog {
	return catalog.Build(ctx, m.catalogSources())
}

// OpenAPI returns the OpenAPI document of the routes served (after Open).
func (m *Main) OpenAPI() map[string]any { return m.openapi }

// buildOpenAPI generates the OpenAPI document once every route is
// registered; a type it cannot describe fails start-up.
func (m *Main) buildOpenAPI() error {
	src := m.catalogSources()
	doc, err := catalog.OpenAPI(src.Endpoints(), requires, src.Version)
	if err != nil {
		return fmt.Errorf("openapi: %w", err)
	}
	m.openapi = doc
	return nil
}

// catalogHTTP answers GET /admin/catalog.
func (m *Main) catalogHTTP(ctx context.Context, _ *struct{}) (*catalog.Catalog, error) {
	return m.Catalog(ctx), nil
}

// registerCatalog adds GET /admin/catalog (read access) and GET
// /openapi.json (open: the API's shape is no secret).
func (m *Main) registerCatalog() {
	api.Register(m.api, "platform", api.Public, "GET /admin/catalog", m.catalogHTTP)
	m.api.Handle(api.Endpoint{Service: "platform", Method: http.MethodGet, Path: "/openapi.json", Access: api.Open},
		http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
			api.WriteJSON(w, http.StatusOK, m.OpenAPI())
		}))
}

// requires names what an endpoint needs, from the same rule the guard
// enforces (api.RequiredRole): nothing, the push token, or a role
// (viewer, editor, owner) carried by a service token, a personal token or
// a session.
func requires(ep api.Endpoint) string {
	role, ok := api.RequiredRole(ep)
	switch {
	case !ok:
		return catalog.RequiresNobody
	case ep.Access == api.Push:
		return catalog.RequiresPush
	case role == api.Anonymous:
		return catalog.RequiresNone
	}
	return role.String()
}

// ArchitectureSVG starts the program on the default configuration in a
// temporary data directory (embedded broker, SQLite, a loopback port),
// draws the architecture from its catalog and stops it. The picture holds
// no live figure, so it changes only when the wiring does.
func ArchitectureSVG(ctx context.Context) ([]byte, error) {
	var svg []byte
	err := withDefaultMain(ctx, func(m *Main) error {
		svg = catalog.Diagram(m.Catalog(ctx), catalog.DiagramOptions{})
		return nil
	})
	return svg, err
}

// OpenAPIJSON starts the program like ArchitectureSVG and returns its
// OpenAPI document (GET /openapi.json), which the client generators read.
func OpenAPIJSON(ctx context.Context) ([]byte, error) {
	var doc []byte
	err := withDefaultMain(ctx, func(m *Main) error {
		var err error
		doc, err = json.Marshal(m.OpenAPI())
		return err
	})
	return doc, err
}

// withDefaultMain runs fn on the program opened on the default
// configuration in a temporary data directory.
func withDefaultMain(ctx context.Context, fn func(*Main) error) error {
	dir, err := os.MkdirTemp("", "upmon-describe-")
	if err != nil {
		return err
	}
	defer os.RemoveAll(dir)
	cfg := DefaultConfig()
	cfg.Addr = "127.0.0.1:0"
	cfg.DataDir = dir
	m := New(cfg, nil)
	if err := m.Open(ctx); err != nil {
		return err
	}
	defer m.Close()
	return fn(m)
}

// liveDiagram draws the architecture page's picture, with empty counter
// labels on its arrows for the "flows" live events.
func (m *Main) liveDiagram(ctx context.Context) ([]byte, error) {
	return catalog.Diagram(m.Catalog(ctx), catalog.DiagramOptions{Live: true}), nil
}
