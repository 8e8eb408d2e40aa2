// Package agent is the probe process of a remote location (upmon agent):
// no database, only the prober and a NATS connection. It receives the
// checks assigned to its location, runs them exactly as serve does, and
// publishes the results and a heartbeat back over the broker.
package agent

import (
	"context"
	"crypto/rand"
	"crypto/tls"
	"encoding/hex"
	"encoding/json"
	"errors"
	"fmt"
	"log/slog"
	"net"
	"os"
	"sync"
	"time"

	"github.com/nats-io/nats.go"

	"upmon/monitor"
	"upmon/site"
)

// Config configures an agent.
type Config struct {
	// NATSURL is the broker (user and password may be in the URL).
	NATSURL string
	// CredsFile is a NATS credentials file (JWT and seed), if used.
	CredsFile string
	// Prefix is the NATS namespace of the serve processes. Default "upmon".
	Prefix string
	// Location is the location this agent checks from.
	Location string
	// SourceAddr, if set, is the local address every check leaves from.
	SourceAddr net.IP
	// Heartbeat is how often it announces itself. Default 5 s.
	Heartbeat time.Duration
	// Concurrency is the most checks running at once. Default 256.
	Concurrency int
	// BufferBytes bounds what is kept, in order, for the broker while it
	// is unreachable (results and heartbeats); beyond it publishing
	// fails and the result is dropped. Default 8 MiB.
	BufferBytes int
	// PingTimeout is the default time limit of one check. Default 10 s.
	PingTimeout time.Duration
	// UserAgent is sent with every HTTP check.
	UserAgent string
	// TLSClientConfig, if set, replaces the checks' TLS configuration
	// (tests).
	TLSClientConfig *tls.Config
	// Logger receives the agent's logs.
	Logger *slog.Logger
}

func (c *Config) fill() error {
	if c.Prefix == "" {
		c.Prefix = "upmon"
	}
	if !site.ValidLocationName(c.Location) {
		return fmt.Errorf("invalid --location %q: 1-32 lower-case letters, digits, '-' or '_'", c.Location)
	}
	if c.NATSURL == "" {
		return errors.New("--nats-url is required")
	}
	if c.Heartbeat <= 0 {
		c.Heartbeat = monitor.DefaultHeartbeat
	}
	if c.Concurrency <= 0 {
		c.Concurrency = 256
	}
	if c.BufferBytes <= 0 {
		c.BufferBytes = 8 << 20
	}
	if c.PingTimeout <= 0 {
		c.PingTimeout = 10 * time.Second
	}
	if c.Logger == nil {
		c.Logger = slog.New(slog.DiscardHandler)
	}
	return nil
}

// Run connects, serves the location's assignments until ctx ends, then
// flushes what is buffered and disconnects.
func Run(ctx context.Context, cfg Config) error {
	if err := cfg.fill(); err != nil {
		return err
	}
	id := agentID(cfg.Location)
	log := cfg.Logger.With("location", cfg.Location, "agent", id)
	opts := []nats.Option{
		nats.Name("upmon-agent " + id),
		nats.MaxReconnects(-1),
		nats.ReconnectWait(250 * time.Millisecond),
		nats.ReconnectBufSize(cfg.BufferBytes),
		nats.RetryOnFailedConnect(true),
		nats.DisconnectErrHandler(func(_ *nats.Conn, err error) { log.Warn("broker disconnected; buffering results", "err", err) }),
		nats.ReconnectHandler(func(*nats.Conn) { log.Info("broker reconnected") }),
	}
	if cfg.CredsFile != "" {
		opts = append(opts, nats.UserCredentials(cfg.CredsFile))
	}
	nc, err := nats.Connect(cfg.NATSURL, opts...)
	if err != nil {
		return fmt.Errorf("connect to the broker: %w", err)
	}
	defer nc.Close()
	a := &agent{cfg: cfg, id: id, nc: nc, log: log,
		prober: monitor.NewProber(monitor.ProberOptions{Timeout: cfg.PingTimeout, UserAgent: cfg.UserAgent,
			SourceAddr: cfg.SourceAddr, TLSClientConfig: cfg.TLSClientConfig}),
		slots: make(chan struct{}, cfg.Concurrency)}
	return a.run(ctx)
}

type agent struct {
	cfg    Config
	id     string
	nc     *nats.Conn
	log    *slog.Logger
	prober *monitor.Prober
	slots  chan struct{}
	wg     sync.WaitGroup
}

func (a *agent) run(ctx context.Context) error {
	checks, cancel := context.WithCancel(context.Background())
	defer cancel()
	sub, err := a.nc.Subscribe(monitor.AssignSubject(a.cfg.Prefix, a.cfg.Location), func(msg *nats.Msg) {
		var as monitor.Assignment
		if json.Unmarshal(msg.Data, &as) != nil {
			return
		}
		select {
		case a.slots <- struct{}{}:
		default:
			a.log.Warn("too many checks at once; assignment dropped", "site", as.SiteID)
			return
		}
		a.wg.Add(1)
		go func() {
			defer a.wg.Done()
			defer func() { <-a.slots }()
			a.check(checks, &as)
		}()
	})
	if err != nil {
		return fmt.Errorf("subscribe to assignments: %w", err)
	}
	a.log.Info("agent started")
	a.heartbeat()
	t := time.NewTicker(a.cfg.Heartbeat)
	defer t.Stop()
	for {
		select {
		case <-ctx.Done():
			// Stop taking work, let running checks end (each within its
			// timeout), and hand what they publish to the broker.
			_ = sub.Unsubscribe()
			a.wg.Wait()
			_ = a.nc.FlushTimeout(5 * time.Second)
			a.log.Info("agent stopped")
			return nil
		case <-t.C:
			a.heartbeat()
		}
	}
}

func (a *agent) heartbeat() {
	b, _ := json.Marshal(monitor.Heartbeat{Agent: a.id, At: time.Now().UTC()})
	if err := a.nc.Publish(monitor.HeartbeatSubject(a.cfg.Prefix, a.cfg.Location), b); err != nil {
		a.log.Warn("cannot send a heartbeat", "err", err)
	}
}

func (a *agent) check(ctx context.Context, as *monitor.Assignment) {
	at := time.Now().UTC()
	res := a.prober.Check(ctx, as.Spec)
	b, err := json.Marshal(monitor.AgentResult{SiteID: as.SiteID, Agent: a.id, At: at, Result: res})
	if err != nil {
		return
	}
	// While the broker is away the client keeps results in order, up to
	// BufferBytes; beyond that Publish fails and the result is lost.
	if err := a.nc.Publish(monitor.ResultSubject(a.cfg.Prefix, a.cfg.Location), b); err != nil {
		a.log.Warn("result dropped", "site", as.SiteID, "err", err)
	}
}

// agentID names one agent process: its location, host and a random
// suffix (unique per start).
func agentID(loc string) string {
	host, _ := os.Hostname()
	var b [4]byte
	_, _ = rand.Read(b[:])
	if len(host) > 40 {
		host = host[:40]
	}
	return loc + "@" + host + "-" + hex.EncodeToString(b[:])
}
