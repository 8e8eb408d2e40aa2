package pubsub

import (
	"errors"
	"fmt"
	"log/slog"
	"path/filepath"
	"time"

	"github.com/nats-io/nats-server/v2/server"
)

// startEmbedded starts an in-process nats-server with JetStream storing under
// dataDir/nats. It listens on no port: only this process can reach it.
func startEmbedded(dataDir string, log *slog.Logger) (*server.Server, error) {
	opts := &server.Options{
		ServerName: "upmon-embedded",
		DontListen: true,
		JetStream:  true,
		StoreDir:   filepath.Join(dataDir, "nats"),
		NoSigs:     true,
	}
	srv, err := server.NewServer(opts)
	if err != nil {
		return nil, fmt.Errorf("pubsub: embedded nats: %w", err)
	}
	srv.SetLoggerV2(serverLogger{log.With("component", "nats-server")}, false, false, false)
	srv.Start()
	if !srv.ReadyForConnections(30 * time.Second) {
		srv.Shutdown()
		return nil, errors.New("pubsub: embedded nats did not become ready")
	}
	if !srv.JetStreamEnabled() {
		srv.Shutdown()
		return nil, errors.New("pubsub: embedded nats started without JetStream")
	}
	return srv, nil
}

// serverLogger adapts slog to the nats-server logger interface. Notices are
// logged at debug level: the embedded server is an implementation detail.
type serverLogger struct{ log *slog.Logger }

func (l serverLogger) Noticef(format string, v ...any) { l.log.Debug(fmt.Sprintf(format, v...)) }
func (l serverLogger) Warnf(format string, v ...any)   { l.log.Warn(fmt.Sprintf(format, v...)) }
func (l serverLogger) Fatalf(format string, v ...any)  { l.log.Error(fmt.Sprintf(format, v...)) }
func (l serverLogger) Errorf(format string, v ...any)  { l.log.Error(fmt.Sprintf(format, v...)) }
func (l serverLogger) Debugf(format string, v ...any)  { l.log.Debug(fmt.Sprintf(format, v...)) }
func (l serverLogger) Tracef(format string, v ...any)  {}
