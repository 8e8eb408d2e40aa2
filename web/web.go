package web

import (
	"bytes"
	"crypto/sha256"
	"embed"
	"encoding/hex"
	"errors"
	"html/template"
	"io/fs"
	"log/slog"
	"net/http"
	"path"
	"strconv"
	"strings"
	"time"

	"upmon/platform/api"
)

// ServiceName is the name the dashboard registers its routes under.
const ServiceName = "web"

//go:embed templates/*.html templates/*.svg
var templateFiles embed.FS

//go:embed static
var staticFiles embed.FS

// Options configures a Handler.
type Options struct {
	// Sites is the site service. Required.
	Sites SiteSource
	// Monitor is the monitor service. Required.
	Monitor MonitorSource
	// Settings stores per-site settings; nil hides the settings forms.
	Settings SettingsSource
	// Live fans out check results to open pages; nil makes a new Hub.
	Live *Hub
	// CORSOrigins are the origins trusted by Handler.Protect.
	CORSOrigins []string
	// Logger receives failures; default discards.
	Logger *slog.Logger
	// Now returns the current time; default time.Now.
	Now func() time.Time
	// PageSize is how many sites one overview page shows. Default 100.
	PageSize int
	// Accounts serves the users, tokens and audit pages; nil leaves
	// them out.
	Accounts AccountsSource
	// Architecture draws the picture of /frontend/architecture; nil
	// leaves the page out.
	Architecture ArchitectureSource
	// Alerts shows and acknowledges open incidents (the channels
	// service); nil hides the acknowledge button.
	Alerts AlertSource
	// Traces is the recorder of recent traces; nil (tracing off) makes
	// the trace page say how to turn tracing on.
	Traces TraceSource
	// OpenAPI returns the API's OpenAPI document, from which the API
	// explorer (/frontend/api) builds its forms; nil leaves it out.
	OpenAPI OpenAPISource
	// Channels serves the channels page (/frontend/channels) and the
	// channel choice of the site page; nil leaves them out.
	Channels ChannelSource
}

// Handler serves the dashboard (/frontend/), the public status page
// (/status-page), the badges (/badge/…) and the live event stream.
type Handler struct {
	opts   Options
	hub    *Hub
	log    *slog.Logger
	now    func() time.Time
	pages  map[string]*template.Template
	badge  *template.Template
	assets map[string]asset
	// kinds describe the channel kinds' forms, by name and in order.
	kinds    map[string]*kindSpec
	kindList []*kindSpec
}

type asset struct {
	body  []byte
	ctype string
	hash  string
}

// New returns a Handler. It panics if the embedded templates do not
// parse (a build defect, caught by every test).
func New(opts Options) *Handler {
	if opts.Logger == nil {
		opts.Logger = slog.New(slog.DiscardHandler)
	}
	if opts.Now == nil {
		opts.Now = time.Now
	}
	if opts.PageSize <= 0 {
		opts.PageSize = 100
	}
	if opts.Live == nil {
		opts.Live = NewHub(HubOptions{})
	}
	h := &Handler{opts: opts, hub: opts.Live, log: opts.Logger, now: opts.Now}
	h.loadAssets()
	h.parseTemplates()
	h.loadKinds()
	return h
}

// Hub returns the hub that feeds the live event stream.
func (h *Handler) Hub() *Hub { return h.hub }

// Protect wraps next with Protect and the handler's CORS origins.
func (h *Handler) Protect(next http.Handler) http.Handler {
	return Protect(h.opts.CORSOrigins, next)
}

// Register adds the dashboard's routes to srv.
func (h *Handler) Register(srv *api.Server) {
	get := func(p string, f http.HandlerFunc) {
		srv.Handle(api.Endpoint{Service: ServiceName, Method: http.MethodGet, Path: p}, f)
	}
	// Public pages: no token needed even when access tokens are set.
	open := func(p string, f http.HandlerFunc) {
		srv.Handle(api.Endpoint{Service: ServiceName, Method: http.MethodGet, Path: p, Access: api.Open}, f)
	}
	post := func(p string, f http.HandlerFunc) {
		srv.Handle(api.Endpoint{Service: ServiceName, Method: http.MethodPost, Path: p}, h.form(f))
	}
	open("/{$}", redirectTo("/frontend/"))
	open("/frontend", redirectTo("/frontend/"))
	get("/frontend/{$}", h.overview)
	get("/frontend/", h.notFound)
	open("/frontend/static/{file}", h.static)
	srv.Handle(api.Endpoint{Service: ServiceName, Method: http.MethodGet, Path: "/frontend/events"}, h.hub)
	get("/frontend/state.json", h.liveState)
	post("/frontend/sites", h.addSite)
	get("/frontend/sites/{siteID}", h.sitePage)
	get("/frontend/sites/{siteID}/delete", h.confirmDelete)
	post("/frontend/sites/{siteID}/delete", h.deleteSite)
	post("/frontend/sites/{siteID}/check", h.checkSite)
	post("/frontend/sites/{siteID}/settings", h.saveSettings)
	post("/frontend/sites/{siteID}/ack", h.ackIncident)
	open("/status-page", h.statusPage)
	open("/badge/{siteID}/status.svg", h.statusBadge)
	open("/badge/{siteID}/uptime.svg", h.uptimeBadge)
	h.registerAccounts(srv)
	h.registerArchitecture(srv)
	h.registerTraces(srv)
	h.registerExplorer(srv)
	h.registerChannels(srv)
}

// form caps a form's body like the API's (api.MaxBodyBytes) and parses
// it before f runs: a larger body is answered 413 without being read.
func (h *Handler) form(f http.HandlerFunc) http.HandlerFunc {
	return func(w http.ResponseWriter, r *http.Request) {
		r.Body = http.MaxBytesReader(w, r.Body, api.MaxBodyBytes)
		if err := r.ParseForm(); err != nil {
			var tooBig *http.MaxBytesError
			if errors.As(err, &tooBig) {
				h.fail(w, r, api.ErrBodyTooLarge)
				return
			}
			h.fail(w, r, api.Errorf(api.InvalidArgument, "could not read the form"))
			return
		}
		f(w, r)
	}
}

func redirectTo(target string) http.HandlerFunc {
	return func(w http.ResponseWriter, r *http.Request) {
		http.Redirect(w, r, target, http.StatusFound)
	}
}

// contentSecurityPolicy allows only the dashboard's own script, style
// and connections: no inline script or style, no plugins, no framing.
const contentSecurityPolicy = "default-src 'none'; script-src 'self'; style-src 'self'; img-src 'self'; " +
	"connect-src 'self'; form-action 'self'; frame-ancestors 'none'; base-uri 'none'"

func setPageHeaders(w http.ResponseWriter) {
	hd := w.Header()
	hd.Set("Content-Type", "text/html; charset=utf-8")
	hd.Set("Content-Security-Policy", contentSecurityPolicy)
	hd.Set("X-Content-Type-Options", "nosniff")
	hd.Set("Referrer-Policy", "same-origin")
	hd.Set("X-Frame-Options", "DENY")
	hd.Set("Cache-Control", "no-store")
}

// pageBase is what every page template reads.
type pageBase struct {
	// Title is the page's <title>, before " · upmon".
	Title string
	// Nav names the active navigation entry.
	Nav string
	// Flash is a one-line notice at the top.
	Flash string
	// Public pages have no navigation to the dashboard.
	Public bool
	// JS and CSS are the asset URLs.
	JS, CSS string
	// HasChannels shows the channels page in the navigation.
	HasChannels bool
	viewer
}

func (h *Handler) base(title, nav string) pageBase {
	return pageBase{Title: title, Nav: nav, JS: h.assetURL("app.js"), CSS: h.assetURL("app.css"), HasChannels: h.opts.Channels != nil}
}

// render executes a page template into a buffer first, so a template
// failure is answered as a clean 500.
func (h *Handler) render(w http.ResponseWriter, r *http.Request, status int, name string, data any) {
	t, ok := h.pages[name]
	if !ok {
		panic("web: no page template " + name)
	}
	if v, ok := data.(interface{ setViewer(*http.Request) }); ok {
		v.setViewer(r)
	}
	var buf bytes.Buffer
	if err := t.ExecuteTemplate(&buf, "layout", data); err != nil {
		h.log.Error("render page", "page", name, "path", api.RedactRequest(r), "err", err)
		setPageHeaders(w)
		w.WriteHeader(http.StatusInternalServerError)
		_, _ = w.Write([]byte("<!doctype html><title>Error · upmon</title><p>internal error</p>"))
		return
	}
	setPageHeaders(w)
	w.Header().Set("Content-Length", strconv.Itoa(buf.Len()))
	w.WriteHeader(status)
	_, _ = w.Write(buf.Bytes())
}

type errorData struct {
	pageBase
	Status  int
	Message string
}

// fail answers err as an HTML error page with the API's status code.
func (h *Handler) fail(w http.ResponseWriter, r *http.Request, err error) {
	e := api.AsError(err)
	if e.Code == api.Internal || e.Code == api.Unknown || e.Code == api.DataLoss {
		h.log.Error("page failed", "method", r.Method, "path", api.RedactRequest(r), "err", err)
	}
	status := e.Status()
	api.SetRetryAfter(w, e)
	d := errorData{pageBase: h.base(http.StatusText(status), ""), Status: status, Message: e.Message}
	if d.Title == "" {
		d.Title = "Error"
	}
	h.render(w, r, status, "error", &d)
}

func (h *Handler) notFound(w http.ResponseWriter, r *http.Request) {
	h.fail(w, r, api.Errorf(api.NotFound, "page not found"))
}

// siteID parses the {siteID} path parameter.
func siteID(r *http.Request) (int64, error) {
	id, err := strconv.ParseInt(r.PathValue("siteID"), 10, 64)
	if err != nil || id <= 0 {
		return 0, api.FieldError("siteID", "must be a positive integer")
	}
	return id, nil
}

var funcs = template.FuncMap{
	"stateText": stateText,
	"pct":       fmtPct,
	"ms":        fmtMS,
	"exact":     exactTime,
	"iso":       isoTime,
	"seconds":   fmtSeconds,
	"num":       num,
	"join":      strings.Join,
}

func (h *Handler) parseTemplates() {
	layout := template.Must(template.New("layout").Funcs(funcs).ParseFS(templateFiles, "templates/layout.html", "templates/parts.html"))
	h.pages = map[string]*template.Template{}
	for _, name := range []string{"overview", "site", "confirm", "status", "error", "architecture", "traces", "trace", "apiexplorer", "users", "tokens", "audit",
		"channels", "channel", "channelconfirm"} {
		t := template.Must(template.Must(layout.Clone()).ParseFS(templateFiles, "templates/"+name+".html"))
		h.pages[name] = t
	}
	h.badge = template.Must(template.New("badge.svg").Funcs(funcs).ParseFS(templateFiles, "templates/badge.svg"))
}

func (h *Handler) loadAssets() {
	h.assets = map[string]asset{}
	_ = fs.WalkDir(staticFiles, "static", func(p string, d fs.DirEntry, err error) error {
		if err != nil || d.IsDir() {
			return err
		}
		body, err := staticFiles.ReadFile(p)
		if err != nil {
			return err
		}
		sum := sha256.Sum256(body)
		ctype := "application/octet-stream"
		switch path.Ext(p) {
		case ".js":
			ctype = "text/javascript; charset=utf-8"
		case ".css":
			ctype = "text/css; charset=utf-8"
		case ".svg":
			ctype = "image/svg+xml"
		}
		h.assets[path.Base(p)] = asset{body: body, ctype: ctype, hash: hex.EncodeToString(sum[:6])}
		return nil
	})
}

func (h *Handler) assetURL(name string) string {
	return "/frontend/static/" + name + "?v=" + h.assets[name].hash
}

// static serves an embedded asset; a URL carrying the asset's current
// hash is cached for a year.
func (h *Handler) static(w http.ResponseWriter, r *http.Request) {
	a, ok := h.assets[r.PathValue("file")]
	if !ok {
		http.NotFound(w, r)
		return
	}
	hd := w.Header()
	hd.Set("Content-Type", a.ctype)
	hd.Set("X-Content-Type-Options", "nosniff")
	hd.Set("ETag", `"`+a.hash+`"`)
	if r.URL.Query().Get("v") == a.hash {
		hd.Set("Cache-Control", "public, max-age=31536000, immutable")
	} else {
		hd.Set("Cache-Control", "no-cache")
	}
	if r.Header.Get("If-None-Match") == `"`+a.hash+`"` {
		w.WriteHeader(http.StatusNotModified)
		return
	}
	hd.Set("Content-Length", strconv.Itoa(len(a.body)))
	_, _ = w.Write(a.body)
}
