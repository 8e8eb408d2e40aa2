// Package site is the site service: it owns the list of monitored sites
// (the sites table) and publishes site-added and site-deleted events
// through its own transactional outbox.
package site

import (
	"context"
	"embed"
	"io/fs"
	"time"

	"upmon/platform/api"
	"upmon/platform/sqldb"
)

// ServiceName is the name the service registers its endpoints under.
const ServiceName = "site"

// Topic names of the events the service publishes.
const (
	TopicSiteAdded   = "site-added"
	TopicSiteDeleted = "site-deleted"
)

//go:embed migrations/*.sql
var migrationFiles embed.FS

// Migrations returns the service's database migrations.
func Migrations() fs.FS {
	sub, err := fs.Sub(migrationFiles, "migrations")
	if err != nil {
		panic(err) // the embedded directory always exists
	}
	return sub
}

// Site is a monitored site.
type Site struct {
	// ID identifies the site.
	ID int64 `json:"id"`
	// URL is the address as the user gave it (surrounding space trimmed).
	URL string `json:"url"`
}

// AddParams are the parameters of Add.
type AddParams struct {
	// URL is the site's address; see ValidateURL.
	URL string `json:"url"`
}

// GetParams identifies one site.
type GetParams struct {
	// ID is the site id from the path.
	ID int64 `path:"siteID"`
}

// ListParams are the (empty) parameters of List.
type ListParams struct{}

// ListResponse is the answer of List.
type ListResponse struct {
	// Sites are all sites ordered by id; never nil.
	Sites []*Site `json:"sites"`
}

// Empty is the answer of endpoints with an empty body.
type Empty struct{}

// AddedEvent is published on the site-added topic.
type AddedEvent struct {
	// ID is the event's globally unique id.
	ID string `json:"id"`
	// Site is the site that was added.
	Site *Site `json:"site"`
	// AddedAt is when it was added.
	AddedAt time.Time `json:"added_at"`
}

// DeletedEvent is published on the site-deleted topic.
type DeletedEvent struct {
	// ID is the event's globally unique id.
	ID string `json:"id"`
	// SiteID is the id of the deleted site.
	SiteID int64 `json:"site_id"`
	// DeletedAt is when it was deleted.
	DeletedAt time.Time `json:"deleted_at"`
}

// Service is the site service.
type Service struct {
	db      *sqldb.DB
	now     func() time.Time
	onEvent func()
}

// Options configures a Service.
type Options struct {
	// Now returns the current time; default time.Now.
	Now func() time.Time
	// OnEvent is called after a transaction that wrote an outbox event
	// commits (it wakes the relay).
	OnEvent func()
}

// New returns the site service over its database.
func New(db *sqldb.DB, opts Options) *Service {
	if opts.Now == nil {
		opts.Now = time.Now
	}
	if opts.OnEvent == nil {
		opts.OnEvent = func() {}
	}
	return &Service{db: db, now: opts.Now, onEvent: opts.OnEvent}
}

// DB returns the service's database (for its outbox relay).
func (s *Service) DB() *sqldb.DB { return s.db }

// Register adds the service's public endpoints to srv.
func (s *Service) Register(srv *api.Server) {
	api.Register(srv, ServiceName, api.Public, "POST /site", s.Add)
	api.Register(srv, ServiceName, api.Public, "GET /site", s.List)
	api.Register(srv, ServiceName, api.Public, "GET /site/{siteID}", s.Get)
	api.Register(srv, ServiceName, api.Public, "DELETE /site/{siteID}", s.Delete)
}

// Add validates and stores a new site, and publishes site-added.
func (s *Service) Add(ctx context.Context, p *AddParams) (*Site, error) {
	u, err := ValidateURL(p.URL)
	if err != nil {
		return nil, err
	}
	return s.store(ctx, u)
}

// Get returns one site, or not_found.
func (s *Service) Get(ctx context.Context, p *GetParams) (*Site, error) {
	return s.get(ctx, p.ID)
}

// List returns every site ordered by id.
func (s *Service) List(ctx context.Context, _ *ListParams) (*ListResponse, error) {
	sites, err := s.list(ctx)
	if err != nil {
		return nil, err
	}
	return &ListResponse{Sites: sites}, nil
}

// Delete removes a site (absent ids are not an error) and publishes
// site-deleted when one was removed.
func (s *Service) Delete(ctx context.Context, p *GetParams) (*Empty, error) {
	return nil, s.delete(ctx, p.ID)
}
