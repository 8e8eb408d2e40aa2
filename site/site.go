// Package site is the site service: it owns the list of monitored sites
// (the sites table) and publishes site-added and site-deleted events
// through its own transactional outbox.
package site

import (
	"context"
	"embed"
	"io/fs"
	"strconv"
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
	TopicSiteUpdated = "site-updated"
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

// Site is a monitored site with its settings, defaults filled in.
type Site struct {
	// ID identifies the site.
	ID int64 `json:"id"`
	// URL is the address as the user gave it (surrounding space trimmed);
	// push monitors have push:<name>.
	URL string `json:"url"`
	// Name is a display name (may be empty).
	Name string `json:"name"`
	// Kind is http, tcp, dns or push.
	Kind string `json:"kind"`
	Settings
	// PushToken is the secret a push monitor's pings carry.
	PushToken string `json:"push_token,omitempty"`
	// PushURL is where a push monitor's job POSTs.
	PushURL string `json:"push_url,omitempty"`
}

// Ref returns the site's identity without its settings (for events).
func (s *Site) Ref() *Ref { return &Ref{ID: s.ID, URL: s.URL, Name: s.Name} }

// Ref identifies a site in events: never its settings, whose headers may
// carry credentials.
type Ref struct {
	// ID identifies the site.
	ID int64 `json:"id"`
	// URL is the site's URL.
	URL string `json:"url"`
	// Name is its display name.
	Name string `json:"name,omitempty"`
}

// AddParams are the parameters of Add: the URL (or kind push with a
// name) and any settings.
type AddParams struct {
	// URL is the site's address; see ValidateURL.
	URL string `json:"url"`
	// Name is a display name.
	Name string `json:"name"`
	// Kind is "push" for a push monitor; otherwise derived from the URL.
	Kind string `json:"kind"`
	Settings

	present map[string]bool // keys in the body
	given   map[string]bool // keys in the body with a value other than null
}

// PatchParams change some of a site's settings: fields absent from the
// body keep their value; null resets a setting to its default.
type PatchParams struct {
	// ID is the site id from the path.
	ID int64 `path:"siteID"`
	// URL, if present, replaces the site's URL.
	URL string `json:"url"`
	// Name, if present, replaces the display name.
	Name string `json:"name"`
	// Kind may be given but must not change.
	Kind string `json:"kind"`
	Settings

	present map[string]bool // keys in the body
	given   map[string]bool // keys in the body with a value other than null
}

// GetParams identifies one site.
type GetParams struct {
	// ID is the site id from the path.
	ID int64 `path:"siteID"`
}

// ListParams page through the sites. Without limit and after, List
// answers every site (the tutorial's GET /site, O(number of sites): fine
// for small lists; page large ones).
type ListParams struct {
	// Limit is the page size: 1 to MaxPageSize; DefaultPageSize when
	// only After is given.
	Limit int `query:"limit"`
	// After is a cursor: the Next of the previous page (the last id it
	// held); the page holds the sites with larger ids.
	After string `query:"after"`
}

// Page sizes of a paginated List.
const (
	DefaultPageSize = 100
	MaxPageSize     = 1000
)

// Page returns the page bounds p asks for: ok is false for the
// unpaginated form (no limit, no after).
func (p *ListParams) Page() (after int64, limit int, ok bool, err error) {
	if p == nil || (p.Limit == 0 && p.After == "") {
		return 0, 0, false, nil
	}
	limit = p.Limit
	if limit == 0 {
		limit = DefaultPageSize
	}
	if limit < 1 || limit > MaxPageSize {
		return 0, 0, false, api.FieldError("limit", "must be between 1 and %d", MaxPageSize)
	}
	if p.After != "" {
		after, err = strconv.ParseInt(p.After, 10, 64)
		if err != nil || after < 0 {
			return 0, 0, false, api.FieldError("after", "must be the next cursor of a previous page")
		}
	}
	return after, limit, true, nil
}

// ListResponse is the answer of List.
type ListResponse struct {
	// Sites are the sites (all, or one page) ordered by id; never nil.
	// Their settings may be shared between sites: treat them as
	// read-only.
	Sites []*Site `json:"sites"`
	// Next is the cursor of the next page (pass it as after); absent
	// on the last page and in the unpaginated answer.
	Next string `json:"next,omitempty"`

	encoded  [][]byte // each site's settings as JSON members, from the memo
	redacted [][]byte // the same with secrets redacted
}

// Empty is the answer of endpoints with an empty body.
type Empty struct{}

// AddedEvent is published on the site-added topic.
type AddedEvent struct {
	// ID is the event's globally unique id.
	ID string `json:"id"`
	// Site is the site that was added.
	Site *Ref `json:"site"`
	// AddedAt is when it was added.
	AddedAt time.Time `json:"added_at"`
}

// UpdatedEvent is published on the site-updated topic when a site's URL
// or settings change.
type UpdatedEvent struct {
	// ID is the event's globally unique id.
	ID string `json:"id"`
	// SiteID is the id of the changed site.
	SiteID int64 `json:"site_id"`
	// UpdatedAt is when it changed.
	UpdatedAt time.Time `json:"updated_at"`
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
	memo    settingsMemo
	db      *sqldb.DB
	now     func() time.Time
	onEvent func()
	opts    Options
}

// Options configures a Service.
type Options struct {
	// Now returns the current time; default time.Now.
	Now func() time.Time
	// OnEvent is called after a transaction that wrote an outbox event
	// commits (it wakes the relay).
	OnEvent func()
	// Defaults fill in the settings a site leaves unset.
	Defaults Defaults
	// PublicURL is the base URL push monitors are told to POST to.
	PublicURL string
	// MaxSites caps the number of sites; 0 means unlimited.
	MaxSites int
	// DenyPrivate refuses URLs whose host is a loopback, private,
	// link-local, multicast or unspecified IP literal.
	DenyPrivate bool
	// LocationKnown, if set, says whether a location has been seen (an
	// agent connected from it); besides those, a site may name only
	// "local" and the locations in Defaults.Locations.
	LocationKnown func(name string) bool
}

// New returns the site service over its database.
func New(db *sqldb.DB, opts Options) *Service {
	if opts.Now == nil {
		opts.Now = time.Now
	}
	if opts.OnEvent == nil {
		opts.OnEvent = func() {}
	}
	if opts.Defaults.Interval <= 0 {
		opts.Defaults.Interval = 5 * time.Minute
	}
	if opts.Defaults.Timeout <= 0 {
		opts.Defaults.Timeout = 10 * time.Second
	}
	return &Service{db: db, now: opts.Now, onEvent: opts.OnEvent, opts: opts}
}

// DB returns the service's database (for its outbox relay).
func (s *Service) DB() *sqldb.DB { return s.db }

// Register adds the service's public endpoints to srv.
func (s *Service) Register(srv *api.Server) {
	api.Register(srv, ServiceName, api.Public, "POST /site", s.addHTTP)
	api.Register(srv, ServiceName, api.Public, "GET /site", s.listHTTP)
	api.Register(srv, ServiceName, api.Public, "POST /site/bulk", s.BulkAdd)
	api.Register(srv, ServiceName, api.Public, "GET /site/{siteID}", s.getHTTP)
	api.Register(srv, ServiceName, api.Public, "PATCH /site/{siteID}", s.patchHTTP)
	api.Register(srv, ServiceName, api.Public, "DELETE /site/{siteID}", s.Delete)
}

// Defaults returns the defaults unset settings take.
func (s *Service) Defaults() Defaults { return s.opts.Defaults }

// Add validates and stores a new site, and publishes site-added.
func (s *Service) Add(ctx context.Context, p *AddParams) (*Site, error) {
	st, err := s.newSite(p)
	if err != nil {
		return nil, err
	}
	return s.store(ctx, st)
}

// AddResponse is the answer of POST /site: the tutorial's {"id", "url"},
// plus what a push monitor's job needs. GET /site/{id} has every setting.
type AddResponse struct {
	// ID identifies the new site.
	ID int64 `json:"id"`
	// URL is its URL (push:<name> for a push monitor).
	URL string `json:"url"`
	// Name is its display name, when it has one.
	Name string `json:"name,omitempty"`
	// Kind is set for kinds other than http.
	Kind string `json:"kind,omitempty"`
	// PushToken and PushURL are set for push monitors.
	PushToken string `json:"push_token,omitempty"`
	PushURL   string `json:"push_url,omitempty"`
}

func (s *Service) addHTTP(ctx context.Context, p *AddParams) (*AddResponse, error) {
	st, err := s.Add(ctx, p)
	if err != nil {
		return nil, err
	}
	r := &AddResponse{ID: st.ID, URL: st.URL, Name: st.Name, PushToken: st.PushToken, PushURL: st.PushURL}
	if st.Kind != KindHTTP {
		r.Kind = st.Kind
	}
	return r, nil
}

// The HTTP answers show a site's secrets only to callers that may see
// them (AccessFrom); the Go methods, which the monitor and the dashboard
// call, answer everything.

func (s *Service) listHTTP(ctx context.Context, p *ListParams) (*ListResponse, error) {
	list, err := s.List(ctx, p)
	if err != nil {
		return nil, err
	}
	a := AccessFrom(ctx)
	if a.SeesSecrets() {
		return list, nil
	}
	// The settings are written from the memo's redacted encoding.
	out := &ListResponse{Sites: make([]*Site, len(list.Sites)), Next: list.Next, encoded: list.redacted}
	for i, st := range list.Sites {
		r := *st
		r.URL = RedactURL(st.URL)
		r.PushToken, r.PushURL = "", ""
		r.Settings = st.Settings.redacted()
		out.Sites[i] = &r
	}
	return out, nil
}

func (s *Service) getHTTP(ctx context.Context, p *GetParams) (*Site, error) {
	st, err := s.Get(ctx, p)
	if err != nil {
		return nil, err
	}
	return st.RedactedFor(AccessFrom(ctx)), nil
}

func (s *Service) patchHTTP(ctx context.Context, p *PatchParams) (*Site, error) {
	st, err := s.Patch(ctx, p)
	if err != nil {
		return nil, err
	}
	return st.RedactedFor(AccessFrom(ctx)), nil
}

// Patch changes some of a site's settings and publishes site-updated.
func (s *Service) Patch(ctx context.Context, p *PatchParams) (*Site, error) {
	return s.patch(ctx, p)
}

// Get returns one site, or not_found.
func (s *Service) Get(ctx context.Context, p *GetParams) (*Site, error) {
	return s.get(ctx, p.ID)
}

// List returns every site ordered by id, or one page of them (see
// ListParams).
func (s *Service) List(ctx context.Context, p *ListParams) (*ListResponse, error) {
	after, limit, paged, err := p.Page()
	if err != nil {
		return nil, err
	}
	if !paged {
		return s.list(ctx, 0, -1)
	}
	out, err := s.list(ctx, after, limit+1)
	if err != nil {
		return nil, err
	}
	if len(out.Sites) > limit {
		out.Sites, out.encoded, out.redacted = out.Sites[:limit], out.encoded[:limit], out.redacted[:limit]
		out.Next = strconv.FormatInt(out.Sites[limit-1].ID, 10)
	}
	return out, nil
}

// Delete removes a site (absent ids are not an error) and publishes
// site-deleted when one was removed.
func (s *Service) Delete(ctx context.Context, p *GetParams) (*Empty, error) {
	return nil, s.delete(ctx, p.ID)
}
