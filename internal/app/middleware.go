package app

import (
	"errors"
	"log/slog"
	"net"
	"net/http"
	"os"
	"time"

	"github.com/prometheus/client_golang/prometheus"

	"upmon/platform/api"
)

// recorder remembers a response's status and whether a write missed its
// deadline, and sets the write deadline when the response starts: the
// time a handler computes is not counted, the time its client takes to
// read is. Unwrap lets http.ResponseController reach the connection.
type recorder struct {
	http.ResponseWriter
	timeout  time.Duration
	now      func() time.Time
	started  bool
	status   int
	timedOut bool
}

func (w *recorder) start(status int) {
	if !w.started {
		w.started = true
		w.status = status
		_ = http.NewResponseController(w.ResponseWriter).SetWriteDeadline(w.now().Add(w.timeout))
	}
}

// WriteHeader implements http.ResponseWriter.
func (w *recorder) WriteHeader(code int) {
	w.start(code)
	w.ResponseWriter.WriteHeader(code)
}

// Write implements http.ResponseWriter.
func (w *recorder) Write(b []byte) (int, error) {
	w.start(http.StatusOK)
	n, err := w.ResponseWriter.Write(b)
	if err != nil && errors.Is(err, os.ErrDeadlineExceeded) {
		w.timedOut = true
	}
	return n, err
}

// Unwrap returns the server's ResponseWriter.
func (w *recorder) Unwrap() http.ResponseWriter { return w.ResponseWriter }

// httpMiddleware gives every response a write deadline and logs every
// request at debug level with its path redacted.
type httpMiddleware struct {
	writeTimeout time.Duration
	log          *slog.Logger
	timeouts     prometheus.Counter
	now          func() time.Time
}

func newHTTPMiddleware(writeTimeout time.Duration, log *slog.Logger, reg prometheus.Registerer) *httpMiddleware {
	m := &httpMiddleware{writeTimeout: writeTimeout, log: log, now: time.Now,
		timeouts: prometheus.NewCounter(prometheus.CounterOpts{
			Name: "upmon_http_write_timeouts_total",
			Help: "Responses cut off because the client did not read them within --write-timeout.",
		})}
	if reg != nil {
		reg.MustRegister(m.timeouts)
	}
	return m
}

// wrap returns next with a write deadline on every response: a client
// that never reads cannot pin a handler past it. Streams (SSE) set their
// own deadline on every write and so stay open. The server clears the
// deadline when the connection goes idle (clearDeadline).
func (m *httpMiddleware) wrap(next http.Handler) http.Handler {
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		start := m.now()
		rec := &recorder{ResponseWriter: w, timeout: m.writeTimeout, now: m.now}
		next.ServeHTTP(rec, r)
		if rec.timedOut {
			m.timeouts.Inc()
		}
		if rec.status == 0 {
			rec.status = http.StatusOK // nothing written: net/http answers 200
		}
		if m.log.Enabled(r.Context(), slog.LevelDebug) {
			m.log.Debug("http request", "method", r.Method, "path", api.RedactRequest(r),
				"status", rec.status, "duration", m.now().Sub(start), "write_timeout", rec.timedOut)
		}
	})
}

// clearDeadline is the server's ConnState hook: a kept-alive connection
// waits for its next request without the last response's write deadline.
func clearDeadline(c net.Conn, s http.ConnState) {
	if s == http.StateIdle {
		_ = c.SetWriteDeadline(time.Time{})
	}
}
