package web

import (
	"context"
	"encoding/json"
	"net/http"
	"strconv"

	"upmon/platform/api"
)

// ArchitectureSource draws the live architecture picture: an SVG whose
// arrows carry empty counter labels (<text class="counter"
// data-edge="…">) that the page fills from "flows" events.
type ArchitectureSource func(ctx context.Context) ([]byte, error)

// FlowsEvent is the payload of a "flows" live event: a short label per
// arrow of the architecture picture, keyed by its data-edge id.
type FlowsEvent struct {
	// Edges maps an edge id ("pub:site:site-added", "sub:check-site") to
	// its label ("12/min · 1 failed · 2 dead").
	Edges map[string]string `json:"edges"`
}

type architectureData struct {
	pageBase
	ArchJS string
}

// registerArchitecture adds the architecture page and its picture when
// the handler has an ArchitectureSource.
func (h *Handler) registerArchitecture(srv *api.Server) {
	if h.opts.Architecture == nil {
		return
	}
	get := func(p string, f http.HandlerFunc) {
		srv.Handle(api.Endpoint{Service: ServiceName, Method: http.MethodGet, Path: p}, f)
	}
	get("/frontend/architecture", func(w http.ResponseWriter, r *http.Request) {
		h.render(w, r, http.StatusOK, "architecture",
			architectureData{pageBase: h.base("Architecture", "architecture"), ArchJS: h.assetURL("arch.js")})
	})
	get("/frontend/architecture.svg", func(w http.ResponseWriter, r *http.Request) {
		svg, err := h.opts.Architecture(r.Context())
		if err != nil {
			h.fail(w, r, err)
			return
		}
		hd := w.Header()
		hd.Set("Content-Type", "image/svg+xml")
		hd.Set("Content-Security-Policy", "default-src 'none'; style-src 'unsafe-inline'")
		hd.Set("X-Content-Type-Options", "nosniff")
		hd.Set("Cache-Control", "no-store")
		hd.Set("Content-Length", strconv.Itoa(len(svg)))
		_, _ = w.Write(svg)
	})
}

// PublishFlows sends the arrows' counters to every open stream as a
// "flows" event, without waiting for any client.
func (h *Hub) PublishFlows(ev FlowsEvent) {
	data, err := json.Marshal(ev) // escapes <, > and &
	if err != nil {
		return
	}
	frame := make([]byte, 0, len(data)+24)
	frame = append(frame, "event: flows\ndata: "...)
	frame = append(frame, data...)
	frame = append(frame, "\n\n"...)
	h.mu.Lock()
	defer h.mu.Unlock()
	for c := range h.clients {
		select {
		case c.ch <- frame:
		default:
			h.dropped.Add(1) // the next flows event carries the same counters
		}
	}
}
