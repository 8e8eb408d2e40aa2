package catalog

import (
	"encoding/json"
	"time"
)

// Catalog is the description of the running system (GET /admin/catalog).
type Catalog struct {
	// Version is the program's version; Replica names the process that
	// answered.
	Version string `json:"version"`
	Replica string `json:"replica"`
	// Services are every service that owns an endpoint, a topic, a
	// subscription, a job, a database or a secret, sorted by name.
	Services []Service `json:"services"`
	// Topics are the declared topics, sorted by name.
	Topics []Topic `json:"topics"`
	// Calls are the declared calls between services.
	Calls []Call `json:"calls"`
	// Errors lists live figures that could not be read (left null).
	Errors []string `json:"errors,omitempty"`
}

// Service is one service and what it owns.
type Service struct {
	// Name is the service's name.
	Name string `json:"name"`
	// Endpoints are its routes, by path and method.
	Endpoints []Endpoint `json:"endpoints"`
	// Publishes names the topics its outbox relay publishes to.
	Publishes []string `json:"publishes"`
	// Subscriptions are the subscriptions it declared.
	Subscriptions []Subscription `json:"subscriptions"`
	// Jobs are the cron jobs doing its work.
	Jobs []Job `json:"jobs"`
	// Databases are the databases it owns.
	Databases []Database `json:"databases"`
	// Secrets are the secrets it reads.
	Secrets []Secret `json:"secrets"`
	// Calls are the services this one calls.
	Calls []Call `json:"calls"`
}

// Endpoint is one route and method.
type Endpoint struct {
	// Method is the HTTP method.
	Method string `json:"method"`
	// Path is the ServeMux pattern; OpenAPIPath its OpenAPI form.
	Path        string `json:"path"`
	OpenAPIPath string `json:"openapi_path"`
	// Access is none, push, read or write.
	Access string `json:"access"`
	// OperationID is the operation's id in /openapi.json.
	OperationID string `json:"operation_id"`
	// Request and Response name the Go types (components of
	// /openapi.json); empty for pages and streams.
	Request  string `json:"request,omitempty"`
	Response string `json:"response,omitempty"`
}

// Topic is one declared topic.
type Topic struct {
	// Name is the topic's name.
	Name string `json:"name"`
	// MessageType names the Go type of its messages (a component of
	// /openapi.json when an endpoint uses it too).
	MessageType string `json:"message_type"`
	// Delivery is the delivery guarantee (at-least-once); Outbox is true
	// when the publishers write through a transactional outbox.
	Delivery string `json:"delivery"`
	Outbox   bool   `json:"outbox"`
	// Retention is how long the topic keeps messages.
	Retention Duration `json:"retention"`
	// Publishers and Subscriptions name the services that publish to it
	// and the subscriptions that consume it.
	Publishers    []string `json:"publishers"`
	Subscriptions []string `json:"subscriptions"`
}

// Subscription is one durable subscription.
type Subscription struct {
	// Name, Topic and Service say which subscription of which service
	// consumes which topic.
	Name    string `json:"name"`
	Topic   string `json:"topic"`
	Service string `json:"service"`
	// Retry is the effective retry policy, AckDeadline the handler's
	// deadline.
	Retry       RetryPolicy `json:"retry"`
	AckDeadline Duration    `json:"ack_deadline"`
	// Pending counts undelivered and unacknowledged messages; null when
	// the broker could not be asked.
	Pending *uint64 `json:"pending"`
	// DeadLetters counts the subscription's dead letters; null when the
	// broker could not be asked.
	DeadLetters *int `json:"dead_letters"`
}

// RetryPolicy is a subscription's effective retry policy.
type RetryPolicy struct {
	// MinBackoff and MaxBackoff bound the delay between attempts.
	MinBackoff Duration `json:"min_backoff"`
	MaxBackoff Duration `json:"max_backoff"`
	// MaxAttempts counts every attempt before the message is dead-lettered.
	MaxAttempts int `json:"max_attempts"`
}

// Job is one cron job.
type Job struct {
	// Name, Title, Service and Every are the job's declaration.
	Name    string   `json:"name"`
	Title   string   `json:"title"`
	Service string   `json:"service"`
	Every   Duration `json:"every"`
	// NextRun is the next tick; LastTick the latest claimed tick (null if
	// unknown) and LastReplica the replica that claimed it.
	NextRun     time.Time  `json:"next_run"`
	LastTick    *time.Time `json:"last_tick"`
	LastReplica string     `json:"last_replica,omitempty"`
	// LastError is the error of this process's latest run, if it failed.
	LastError string `json:"last_error,omitempty"`
}

// Database is one service's database.
type Database struct {
	// Service owns the database; Engine is sqlite or postgres; Schema is
	// where its tables live.
	Service string `json:"service"`
	Engine  string `json:"engine"`
	Schema  string `json:"schema"`
	// MigrationVersion is the newest applied goose migration; null when
	// the database could not be asked.
	MigrationVersion *int64 `json:"migration_version"`
}

// Secret is a secret a service reads: its name and whether it is set,
// never its value.
type Secret struct {
	// Service reads the secret Name; Set says whether it has a value.
	Service string `json:"service"`
	Name    string `json:"name"`
	Set     bool   `json:"set"`
}

// Call is a declared call from one service to another.
type Call struct {
	// From calls To through the Go interface Via.
	From string `json:"from"`
	To   string `json:"to"`
	Via  string `json:"via"`
}

// Duration is a time.Duration encoded as a Go duration string ("5m0s").
type Duration time.Duration

// MarshalJSON encodes d as a string.
func (d Duration) MarshalJSON() ([]byte, error) { return json.Marshal(time.Duration(d).String()) }

// UnmarshalJSON decodes a duration string.
func (d *Duration) UnmarshalJSON(b []byte) error {
	var s string
	if err := json.Unmarshal(b, &s); err != nil {
		return err
	}
	v, err := time.ParseDuration(s)
	*d = Duration(v)
	return err
}

// OpenAPISchema implements Schemaer.
func (Duration) OpenAPISchema() map[string]any {
	return map[string]any{"type": "string", "description": "a Go duration such as \"5m0s\""}
}
