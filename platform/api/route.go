package api

import (
	"net/http"
	"strings"
)

// Route returns the registered endpoint that would serve r, resolved the
// way ServeHTTP resolves it (path prefixes first, then the ServeMux), or
// false when r would get the catch-all JSON 404. It runs no handler and no
// guard, so it lets tests and tools walk the routes actually served.
func (s *Server) Route(r *http.Request) (Endpoint, bool) {
	for _, p := range s.prefixes {
		if strings.HasPrefix(r.URL.Path, p.prefix) {
			return s.endpointFor(p.prefix, true)
		}
	}
	_, pattern := s.mux.Handler(r)
	if pattern == "" || pattern == "/" {
		return Endpoint{}, false
	}
	return s.endpointFor(pattern, false)
}

// endpointFor finds the endpoint registered under a mux pattern (or a
// HandlePrefix prefix).
func (s *Server) endpointFor(pattern string, prefix bool) (Endpoint, bool) {
	s.mu.Lock()
	defer s.mu.Unlock()
	for _, ep := range s.eps {
		switch {
		case prefix && ep.Method == "" && strings.HasPrefix(ep.Path, pattern):
			return ep, true
		case !prefix && ep.Method != "" && ep.Method+" "+ep.Path == pattern:
			return ep, true
		case !prefix && ep.Method == "" && ep.Path == pattern:
			return ep, true
		}
	}
	return Endpoint{}, false
}
