package app

import (
	"context"
	"errors"
	"net/http"
	"time"

	"github.com/google/uuid"
	"github.com/prometheus/client_golang/prometheus/promhttp"

	"upmon/platform/api"
	"upmon/platform/pubsub"
)

// HealthResponse is the answer of /healthz.
type HealthResponse struct {
	// Status is "ok" when every dependency answers, else "unavailable".
	Status string `json:"status"`
	// Checks maps each dependency to "ok" or a short reason.
	Checks map[string]string `json:"checks"`
}

// healthz reports the databases, the broker, the outbox relays and the
// hot-path database calls ("stall.<component>" is "stalled" while the
// component's latest call ran past --db-timeout); 200 when all are fine,
// 503 otherwise.
func (m *Main) healthz(w http.ResponseWriter, r *http.Request) {
	ctx, cancel := context.WithTimeout(r.Context(), 3*time.Second)
	defer cancel()
	resp := HealthResponse{Status: "ok", Checks: map[string]string{}}
	set := func(name string, err error) {
		if err != nil {
			resp.Status = "unavailable"
			resp.Checks[name] = "unavailable"
			return
		}
		resp.Checks[name] = "ok"
	}
	set("database.site", m.siteDB.Ping(ctx))
	set("database.monitor", m.monDB.Ping(ctx))
	set("database.channels", m.chanDB.Ping(ctx))
	set("database.account", m.accDB.Ping(ctx))
	set("broker", m.broker.Health(ctx))
	for _, rl := range m.relays {
		set("outbox."+rl.Name(), rl.Err())
	}
	for _, c := range m.stalls.Components() {
		resp.Checks["stall."+c] = "ok"
	}
	for _, c := range m.stalls.Stalled() {
		resp.Status = "unavailable"
		resp.Checks["stall."+c] = "stalled"
	}
	status := http.StatusOK
	if resp.Status != "ok" {
		status = http.StatusServiceUnavailable
	}
	api.WriteJSON(w, status, resp)
}

func (m *Main) metricsHandler() http.Handler {
	return promhttp.HandlerFor(m.registry, promhttp.HandlerOpts{Registry: m.registry})
}

// DeadLettersResponse is the answer of GET /admin/deadletters.
type DeadLettersResponse struct {
	// DeadLetters are the failed messages, oldest first; never nil.
	DeadLetters []pubsub.DeadLetter `json:"deadletters"`
}

// ReplayParams identifies a dead letter.
type ReplayParams struct {
	// ID is the dead letter's id from the path.
	ID string `path:"id"`
}

// adminAPI serves the dead-letter endpoints.
type adminAPI struct{ b *pubsub.Broker }

func registerAdmin(srv *api.Server, b *pubsub.Broker) {
	a := &adminAPI{b: b}
	api.Register(srv, "platform", api.Admin, "GET /admin/deadletters", a.ListDeadLetters)
	api.Register(srv, "platform", api.Admin, "POST /admin/deadletters/{id}/replay", a.ReplayDeadLetter)
}

// ListDeadLetters lists the dead letters (GET /admin/deadletters).
func (a *adminAPI) ListDeadLetters(ctx context.Context, _ *struct{}) (*DeadLettersResponse, error) {
	dls, err := a.b.DeadLetters(ctx)
	if err != nil {
		return nil, &api.Error{Code: api.Unavailable, Message: "the broker is unavailable"}
	}
	if dls == nil {
		dls = []pubsub.DeadLetter{}
	}
	return &DeadLettersResponse{DeadLetters: dls}, nil
}

// ReplayDeadLetter publishes a dead letter again (POST
// /admin/deadletters/{id}/replay).
func (a *adminAPI) ReplayDeadLetter(ctx context.Context, p *ReplayParams) (*struct{}, error) {
	if uuid.Validate(p.ID) != nil {
		return nil, api.Errorf(api.NotFound, "dead letter not found")
	}
	err := a.b.Replay(ctx, p.ID)
	switch {
	case err == nil:
		return nil, nil
	case errors.Is(err, pubsub.ErrNotFound):
		return nil, api.Errorf(api.NotFound, "dead letter not found")
	default:
		return nil, &api.Error{Code: api.Unavailable, Message: "the broker is unavailable"}
	}
}
