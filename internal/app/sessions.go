package app

import (
	"context"
	"crypto/hmac"
	"crypto/rand"
	"crypto/sha256"
	"encoding/hex"
	"encoding/json"
	"errors"
	"fmt"
	"strings"
	"sync"
	"time"

	"github.com/nats-io/nats.go/jetstream"
)

// Dashboard sessions live on the server, in two NATS KV buckets that
// every replica shares (the embedded broker keeps them in the data dir):
// <prefix>_session_key holds the random key that signs session cookies,
// <prefix>_sessions one record per signed-in browser. A cookie is
// "<id>.<mac>": a random id and its HMAC, so forged cookies are refused
// without a lookup. A session ends on logout (its record is deleted, so
// a copied cookie stops working on every replica), after SessionIdle
// without a request, after SessionLifetime in any case, and when the
// token it was opened with is no longer configured.

// sessionKeyName is the key of the signing key in its bucket.
const sessionKeyName = "signing-key"

// sessionStoreTimeout bounds one call to the session store, so a request
// does not hang on an unreachable broker.
const sessionStoreTimeout = 3 * time.Second

// sessionRecord is a session as stored.
type sessionRecord struct {
	// Token is the fingerprint of the token the session was opened with.
	Token string `json:"token"`
	// Created and Seen are Unix seconds: the sign-in and the last request.
	Created int64 `json:"created"`
	Seen    int64 `json:"seen"`
}

// sessions opens, checks and ends dashboard sessions.
type sessions struct {
	js        jetstream.JetStream
	bucket    string
	keyBucket string
	replicas  int
	idle      time.Duration
	lifetime  time.Duration
	now       func() time.Time

	mu  sync.Mutex
	kv  jetstream.KeyValue
	key []byte
}

// errNoSession means a cookie names no live session.
var errNoSession = errors.New("no such session")

func newSessions(js jetstream.JetStream, prefix string, replicas int, idle, lifetime time.Duration) *sessions {
	return &sessions{js: js, bucket: prefix + "_sessions", keyBucket: prefix + "_session_key", replicas: max(replicas, 1),
		idle: idle, lifetime: lifetime, now: time.Now}
}

// open returns the sessions bucket and the signing key, creating them on
// first use (a replica that loses the race reads the winner's key). It
// is retried on every call until it succeeds, so an unreachable broker
// at start-up only delays sign-ins.
func (s *sessions) open(ctx context.Context) (jetstream.KeyValue, []byte, error) {
	s.mu.Lock()
	defer s.mu.Unlock()
	if s.kv != nil {
		return s.kv, s.key, nil
	}
	keys, err := s.js.CreateOrUpdateKeyValue(ctx, jetstream.KeyValueConfig{
		Bucket: s.keyBucket, Description: "upmon: the key that signs dashboard session cookies",
		History: 1, Replicas: s.replicas,
	})
	if err != nil {
		return nil, nil, fmt.Errorf("session key bucket: %w", err)
	}
	key := make([]byte, 32)
	_, _ = rand.Read(key)
	if _, err := keys.Create(ctx, sessionKeyName, key); errors.Is(err, jetstream.ErrKeyExists) {
		e, err := keys.Get(ctx, sessionKeyName)
		if err != nil {
			return nil, nil, fmt.Errorf("session key: %w", err)
		}
		key = e.Value()
	} else if err != nil {
		return nil, nil, fmt.Errorf("session key: %w", err)
	}
	kv, err := s.js.CreateOrUpdateKeyValue(ctx, jetstream.KeyValueConfig{
		Bucket: s.bucket, Description: "upmon: dashboard sessions",
		History: 1, TTL: s.lifetime, Replicas: s.replicas,
	})
	if err != nil {
		return nil, nil, fmt.Errorf("session bucket: %w", err)
	}
	s.kv, s.key = kv, key
	return kv, key, nil
}

// mac signs a session id.
func mac(key []byte, id string) string {
	m := hmac.New(sha256.New, key)
	m.Write([]byte("upmon session\x00" + id))
	return hex.EncodeToString(m.Sum(nil))
}

// fingerprint identifies a token without storing it.
func fingerprint(key []byte, token string) string {
	m := hmac.New(sha256.New, key)
	m.Write([]byte("upmon token\x00" + token))
	return hex.EncodeToString(m.Sum(nil)[:16])
}

// create stores a new session for token and returns its cookie value.
func (s *sessions) create(ctx context.Context, token string) (string, error) {
	ctx, cancel := context.WithTimeout(ctx, sessionStoreTimeout)
	defer cancel()
	kv, key, err := s.open(ctx)
	if err != nil {
		return "", err
	}
	raw := make([]byte, 32)
	_, _ = rand.Read(raw)
	id := hex.EncodeToString(raw)
	now := s.now().Unix()
	rec, _ := json.Marshal(sessionRecord{Token: fingerprint(key, token), Created: now, Seen: now})
	if _, err := kv.Create(ctx, id, rec); err != nil {
		return "", fmt.Errorf("store session: %w", err)
	}
	return id + "." + mac(key, id), nil
}

// lookup returns the fingerprint of the token of a live session and
// marks it used; errNoSession when the cookie names none.
func (s *sessions) lookup(ctx context.Context, cookie string) (string, error) {
	id, sig, ok := strings.Cut(cookie, ".")
	if !ok || len(id) != 64 {
		return "", errNoSession
	}
	ctx, cancel := context.WithTimeout(ctx, sessionStoreTimeout)
	defer cancel()
	kv, key, err := s.open(ctx)
	if err != nil {
		return "", err
	}
	if !hmac.Equal([]byte(sig), []byte(mac(key, id))) {
		return "", errNoSession
	}
	e, err := kv.Get(ctx, id)
	if errors.Is(err, jetstream.ErrKeyNotFound) {
		return "", errNoSession
	} else if err != nil {
		return "", fmt.Errorf("read session: %w", err)
	}
	var rec sessionRecord
	if err := json.Unmarshal(e.Value(), &rec); err != nil {
		return "", errNoSession
	}
	now := s.now()
	created, seen := time.Unix(rec.Created, 0), time.Unix(rec.Seen, 0)
	if now.Sub(created) > s.lifetime || now.Sub(seen) > s.idle {
		_ = kv.Delete(ctx, id)
		return "", errNoSession
	}
	// Record the use now and then, not on every request: often enough
	// that idle expiry is off by at most a sixteenth of SessionIdle.
	if now.Sub(seen) > s.idle/16 {
		rec.Seen = now.Unix()
		b, _ := json.Marshal(rec)
		_, _ = kv.Update(ctx, id, b, e.Revision()) // a concurrent update did the same
	}
	return rec.Token, nil
}

// end deletes the session a cookie names, if any.
func (s *sessions) end(ctx context.Context, cookie string) error {
	id, sig, ok := strings.Cut(cookie, ".")
	if !ok {
		return nil
	}
	ctx, cancel := context.WithTimeout(ctx, sessionStoreTimeout)
	defer cancel()
	kv, key, err := s.open(ctx)
	if err != nil {
		return err
	}
	if !hmac.Equal([]byte(sig), []byte(mac(key, id))) {
		return nil
	}
	if err := kv.Delete(ctx, id); err != nil && !errors.Is(err, jetstream.ErrKeyNotFound) {
		return fmt.Errorf("end session: %w", err)
	}
	return nil
}

// tokenFingerprints maps the configured tokens' fingerprints to their
// levels under the signing key.
func (s *sessions) tokenFingerprints(ctx context.Context, write, read [][]byte) (map[string]level, error) {
	_, key, err := s.open(ctx)
	if err != nil {
		return nil, err
	}
	m := make(map[string]level, len(write)+len(read))
	for _, t := range read {
		m[fingerprint(key, string(t))] = levelRead
	}
	for _, t := range write {
		m[fingerprint(key, string(t))] = levelWrite
	}
	return m, nil
}
