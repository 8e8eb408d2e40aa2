//go:build tools

// Package tools pins the module's dependencies before the code that uses them lands.
package tools

import (
	_ "github.com/chromedp/chromedp"
	_ "github.com/go-co-op/gocron/v2"
	_ "github.com/google/uuid"
	_ "github.com/jackc/pgx/v5/stdlib"
	_ "github.com/miekg/dns"
	_ "github.com/nats-io/nats-server/v2/server"
	_ "github.com/nats-io/nats.go/jetstream"
	_ "github.com/pressly/goose/v3"
	_ "github.com/prometheus/client_golang/prometheus"
	_ "go.yaml.in/yaml/v3"
	_ "modernc.org/sqlite"
)
