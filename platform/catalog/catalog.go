// Package catalog describes the running system from the platform's
// registries: the endpoints of the api.Server, the topics and
// subscriptions of the pubsub.Broker, the jobs of the cron.Scheduler, the
// databases, the secrets the services declared, and the calls between
// services declared at wiring time (Registry.Uses). The catalog, the
// OpenAPI document and the architecture picture are all built from it, so
// nothing is listed twice by hand.
package catalog

import (
	"context"
	"maps"
	"slices"
	"strings"
	"sync"
	"time"

	"upmon/platform/api"
	"upmon/platform/cron"
	"upmon/platform/outbox"
	"upmon/platform/pubsub"
	"upmon/platform/sqldb"
)

// DeliveryGuarantee is the delivery guarantee of every topic.
const DeliveryGuarantee = "at-least-once"

// SecretStore answers whether a secret is set.
type SecretStore interface {
	// Get returns the secret's value and whether it is set.
	Get(name string) (string, bool)
}

// Registry holds the declarations only the wiring knows: which service
// calls which (through which Go interface) and which secrets each service
// reads. Everything else is read from the platform's own registries.
type Registry struct {
	mu      sync.Mutex
	calls   []Call
	secrets []secretDecl
}

type secretDecl struct {
	service, name string
	store         SecretStore
}

// Uses declares that service from calls service to through the Go
// interface via (e.g. "monitor" uses "site" via "monitor.Sites").
func (r *Registry) Uses(from, to, via string) {
	r.mu.Lock()
	defer r.mu.Unlock()
	r.calls = append(r.calls, Call{From: from, To: to, Via: via})
}

// Secret reads the secret name for service from store and declares it, so
// the catalog lists it (never its value).
func (r *Registry) Secret(store SecretStore, service, name string) (string, bool) {
	r.mu.Lock()
	r.secrets = append(r.secrets, secretDecl{service: service, name: name, store: store})
	r.mu.Unlock()
	return store.Get(name)
}

// Sources are the registries a catalog is built from.
type Sources struct {
	// API serves the endpoints.
	API *api.Server
	// Requires names the access an endpoint needs (RequiresNone, …).
	Requires func(api.Endpoint) string
	// Broker holds the topics and subscriptions.
	Broker *pubsub.Broker
	// Relays publish the services' outboxes to their topics.
	Relays []*outbox.Relay
	// Scheduler runs the cron jobs.
	Scheduler *cron.Scheduler
	// Databases are the services' databases.
	Databases []*sqldb.DB
	// Registry holds the wiring's declarations.
	Registry *Registry
	// Replica names this process.
	Replica string
	// Version is the program's version.
	Version string
}

// Endpoints returns the endpoints served, sorted by path and method.
func (src Sources) Endpoints() []api.Endpoint {
	eps := src.API.Endpoints()
	slices.SortStableFunc(eps, func(a, b api.Endpoint) int {
		if c := strings.Compare(a.Path, b.Path); c != 0 {
			return c
		}
		return strings.Compare(a.Method, b.Method)
	})
	return eps
}

// statusTimeout bounds each live lookup (pending counts, dead letters,
// cron claims, migration versions) of one Build.
const statusTimeout = 3 * time.Second

// Build assembles the catalog. Live figures that cannot be read (the
// broker or a database is down) are left null and counted in Errors.
func Build(ctx context.Context, src Sources) *Catalog {
	ctx, cancel := context.WithTimeout(ctx, statusTimeout)
	defer cancel()
	c := &Catalog{Version: src.Version, Replica: src.Replica}
	b := &builder{c: c, services: map[string]*Service{}}
	b.endpoints(src)
	b.topics(ctx, src)
	b.jobs(ctx, src)
	b.databases(ctx, src)
	b.declared(src)
	for _, name := range slices.Sorted(maps.Keys(b.services)) {
		c.Services = append(c.Services, *b.services[name])
	}
	return c
}

// builder accumulates a Catalog.
type builder struct {
	c        *Catalog
	services map[string]*Service
}

func (b *builder) service(name string) *Service {
	s := b.services[name]
	if s == nil {
		s = &Service{Name: name, Endpoints: []Endpoint{}, Publishes: []string{}, Subscriptions: []Subscription{},
			Jobs: []Job{}, Databases: []Database{}, Secrets: []Secret{}, Calls: []Call{}}
		b.services[name] = s
	}
	return s
}

func (b *builder) fail(what string, err error) {
	b.c.Errors = append(b.c.Errors, what+": "+err.Error())
}

func (b *builder) endpoints(src Sources) {
	for _, ep := range src.Endpoints() {
		for _, m := range Methods(ep) {
			e := Endpoint{
				Method: m, Path: ep.Path, OpenAPIPath: OpenAPIPath(ep.Path), Access: src.Requires(ep),
				OperationID: OperationID(ep, m), Request: TypeName(ep.Request), Response: TypeName(ep.Response),
			}
			s := b.service(ep.Service)
			s.Endpoints = append(s.Endpoints, e)
		}
	}
}
