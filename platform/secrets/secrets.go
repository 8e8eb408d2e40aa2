// Package secrets holds the program's secrets (for example the Slack webhook
// URL "SlackWebhookURL"). A secret comes from an environment variable named
// after it in UPPER_SNAKE case (SLACK_WEBHOOK_URL), or else from the file
// secrets.json in the data directory, a JSON object of names to values that
// must not be readable or writable by group or others; `upmon secret set`
// writes it.
//
// Secret values never appear in errors, and a Store prints and logs as its
// path and names only.
package secrets

import (
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"io/fs"
	"log/slog"
	"maps"
	"os"
	"path/filepath"
	"slices"
	"strings"
	"sync"
	"unicode/utf8"
)

const (
	// FileName is the name of the secrets file in the data directory.
	FileName = "secrets.json"
	// MaxValueBytes is the largest secret value ReadValue and Set accept.
	MaxValueBytes = 64 << 10
	// maxFileBytes is the largest secrets file Open accepts.
	maxFileBytes = 16 << 20
)

// Store holds the secrets of one data directory and the environment
// overrides taken at start-up. Get one with Open. It is safe for concurrent
// use.
type Store struct {
	// st is behind a pointer so that Store values can carry the printing
	// methods (value receivers, no lock copied): fmt never reaches the
	// fields of a Store, whether given a Store or a *Store.
	st *state
}

type state struct {
	dir  string
	path string
	env  map[string]string // the environment snapshot; may hold secrets

	mu     sync.Mutex
	values map[string]string // from the file
}

// Open reads <dataDir>/secrets.json if it exists. env is the process
// environment snapshot (os.Environ format, "K=V") taken once at start-up by
// the caller; when a key occurs twice the first one wins, as with os.Getenv.
// Open fails if the file is readable or writable by group or others, or is
// not a JSON object of valid names to strings.
func Open(dataDir string, env []string) (*Store, error) {
	if dataDir == "" {
		return nil, errors.New("secrets: data directory is empty")
	}
	st := &state{
		dir:  dataDir,
		path: filepath.Join(dataDir, FileName),
		env:  make(map[string]string, len(env)),
	}
	for _, kv := range env {
		k, v, ok := strings.Cut(kv, "=")
		if !ok || k == "" {
			continue
		}
		if _, dup := st.env[k]; !dup {
			st.env[k] = v
		}
	}
	values, err := readFile(st.path)
	if err != nil {
		return nil, err
	}
	st.values = values
	return &Store{st: st}, nil
}

// Get returns the secret called name: the environment variable EnvName(name)
// if it is set and not empty, else the value in the file.
func (s *Store) Get(name string) (string, bool) {
	if v := s.st.env[EnvName(name)]; v != "" {
		return v, true
	}
	s.st.mu.Lock()
	defer s.st.mu.Unlock()
	v, ok := s.st.values[name]
	return v, ok
}

// Set stores value as the secret called name in the file, creating the data
// directory (mode 0700) if needed. The name must match
// [A-Za-z][A-Za-z0-9_]*; the value must be non-empty UTF-8 of at most
// MaxValueBytes. The file is re-read first, so entries written meanwhile by
// another process are kept, then rewritten whole and atomically: a 0600
// temporary file in the same directory, synced, renamed over the old one.
// An environment override of the name still takes precedence in Get.
func (s *Store) Set(name, value string) error {
	if err := ValidateName(name); err != nil {
		return err
	}
	switch {
	case value == "":
		return fmt.Errorf("secrets: value of %s is empty", name)
	case len(value) > MaxValueBytes:
		return fmt.Errorf("secrets: value of %s is longer than %d bytes", name, MaxValueBytes)
	case !utf8.ValidString(value):
		return fmt.Errorf("secrets: value of %s is not valid UTF-8", name)
	}

	st := s.st
	st.mu.Lock()
	defer st.mu.Unlock()
	if err := os.MkdirAll(st.dir, 0o700); err != nil {
		return fmt.Errorf("secrets: creating data directory: %w", err)
	}
	current, err := readFile(st.path)
	if err != nil {
		return err
	}
	next := maps.Clone(current)
	if next == nil {
		next = make(map[string]string)
	}
	next[name] = value
	if err := writeFile(st.dir, st.path, next); err != nil {
		return err
	}
	st.values = next
	return nil
}

// Names returns the names of the secrets stored in the file, sorted.
// Secrets given only through the environment are not listed.
func (s *Store) Names() []string {
	s.st.mu.Lock()
	defer s.st.mu.Unlock()
	return slices.Sorted(maps.Keys(s.st.values))
}

// Path returns the path of the secrets file.
func (s *Store) Path() string { return s.st.path }

// String describes the store by its path and names, never its values.
func (s Store) String() string {
	if s.st == nil {
		return "secrets.Store{}"
	}
	return fmt.Sprintf("secrets.Store{path: %q, names: %q}", s.st.path, s.Names())
}

// GoString is String: a Store never prints its values, even with %#v.
func (s Store) GoString() string { return s.String() }

// Format prints String for every verb, so no fmt verb reveals a value.
func (s Store) Format(f fmt.State, _ rune) { _, _ = io.WriteString(f, s.String()) }

// LogValue logs the store as its path and names, never its values.
func (s Store) LogValue() slog.Value {
	if s.st == nil {
		return slog.GroupValue()
	}
	return slog.GroupValue(slog.String("path", s.st.path), slog.Any("names", s.Names()))
}

// ValidateName reports whether name is a valid secret name:
// [A-Za-z][A-Za-z0-9_]*, at most 128 characters.
func ValidateName(name string) error {
	if name == "" || len(name) > 128 {
		return fmt.Errorf("secrets: invalid name %q: must be 1 to 128 characters", name)
	}
	for i, c := range name {
		letter := c >= 'a' && c <= 'z' || c >= 'A' && c <= 'Z'
		if !letter && (i == 0 || !(c >= '0' && c <= '9' || c == '_')) {
			return fmt.Errorf("secrets: invalid name %q: must be a letter followed by letters, digits or '_'", name)
		}
	}
	return nil
}

// EnvName returns the environment variable that overrides the secret called
// name: name in UPPER_SNAKE case. SlackWebhookURL becomes SLACK_WEBHOOK_URL,
// apiKey2 becomes API_KEY2, and a name already in snake case is only
// upper-cased.
func EnvName(name string) string {
	r := []rune(name)
	var b strings.Builder
	for i, c := range r {
		if isUpper(c) && i > 0 && r[i-1] != '_' {
			prev := r[i-1]
			nextLower := i+1 < len(r) && isLower(r[i+1])
			// A word starts at an upper-case letter after a lower-case
			// letter or digit, or at the last capital of an acronym
			// followed by lower case (URLPath: URL_PATH).
			if isLower(prev) || isDigit(prev) || isUpper(prev) && nextLower {
				b.WriteByte('_')
			}
		}
		if isLower(c) {
			c -= 'a' - 'A'
		}
		b.WriteRune(c)
	}
	return b.String()
}

func isUpper(c rune) bool { return c >= 'A' && c <= 'Z' }
func isLower(c rune) bool { return c >= 'a' && c <= 'z' }
func isDigit(c rune) bool { return c >= '0' && c <= '9' }

// ReadValue reads a secret value from r (for example stdin of
// `upmon secret set`): all of it, at most MaxValueBytes, less exactly one
// trailing "\n" or "\r\n". It fails if the result is empty.
func ReadValue(r io.Reader) (string, error) {
	b, err := io.ReadAll(io.LimitReader(r, MaxValueBytes+1))
	if err != nil {
		return "", fmt.Errorf("secrets: reading value: %w", err)
	}
	if len(b) > MaxValueBytes {
		return "", fmt.Errorf("secrets: value is longer than %d bytes", MaxValueBytes)
	}
	v := string(b)
	if s, ok := strings.CutSuffix(v, "\r\n"); ok {
		v = s
	} else {
		v = strings.TrimSuffix(v, "\n")
	}
	if v == "" {
		return "", errors.New("secrets: value is empty")
	}
	return v, nil
}

// readFile reads and checks the secrets file; a missing file is empty.
func readFile(path string) (map[string]string, error) {
	f, err := os.Open(path)
	if errors.Is(err, fs.ErrNotExist) {
		return map[string]string{}, nil
	}
	if err != nil {
		return nil, fmt.Errorf("secrets: %w", err)
	}
	defer f.Close()
	// Check the mode of the file we opened, not of whatever the path names
	// by now.
	fi, err := f.Stat()
	if err != nil {
		return nil, fmt.Errorf("secrets: %w", err)
	}
	if !fi.Mode().IsRegular() {
		return nil, fmt.Errorf("secrets file %s is not a regular file", path)
	}
	if perm := fi.Mode().Perm(); perm&0o077 != 0 {
		return nil, fmt.Errorf("secrets file %s has mode %o; it must be 0600 (chmod 600 %s)", path, perm, path)
	}
	data, err := io.ReadAll(io.LimitReader(f, maxFileBytes+1))
	if err != nil {
		return nil, fmt.Errorf("secrets: reading %s: %w", path, err)
	}
	if len(data) > maxFileBytes {
		return nil, fmt.Errorf("secrets file %s is larger than %d bytes", path, maxFileBytes)
	}
	var values map[string]string
	if err := json.Unmarshal(data, &values); err != nil {
		// The decoder's message may quote part of the content; say where
		// instead.
		msg := fmt.Sprintf("secrets file %s is not a JSON object of names to string values", path)
		if se, ok := errors.AsType[*json.SyntaxError](err); ok {
			msg += fmt.Sprintf(" (syntax error at byte %d)", se.Offset)
		}
		return nil, errors.New(msg)
	}
	if values == nil { // the file held "null"
		values = map[string]string{}
	}
	for name := range values {
		if err := ValidateName(name); err != nil {
			return nil, fmt.Errorf("secrets file %s: %w", path, err)
		}
	}
	return values, nil
}

// writeFile replaces path with values atomically.
func writeFile(dir, path string, values map[string]string) (err error) {
	data, err := json.MarshalIndent(values, "", "  ")
	if err != nil {
		return errors.New("secrets: encoding the secrets file failed")
	}
	data = append(data, '\n')
	tmp, err := os.CreateTemp(dir, "."+FileName+".*.tmp") // mode 0600
	if err != nil {
		return fmt.Errorf("secrets: %w", err)
	}
	defer func() {
		if err != nil {
			_ = tmp.Close()
			_ = os.Remove(tmp.Name())
		}
	}()
	if err := tmp.Chmod(0o600); err != nil {
		return fmt.Errorf("secrets: %w", err)
	}
	if _, err := tmp.Write(data); err != nil {
		return fmt.Errorf("secrets: writing %s: %w", tmp.Name(), err)
	}
	if err := tmp.Sync(); err != nil {
		return fmt.Errorf("secrets: syncing %s: %w", tmp.Name(), err)
	}
	if err := tmp.Close(); err != nil {
		return fmt.Errorf("secrets: closing %s: %w", tmp.Name(), err)
	}
	if err := os.Rename(tmp.Name(), path); err != nil {
		return fmt.Errorf("secrets: %w", err)
	}
	// Make the rename durable; not every platform can sync a directory.
	if d, err := os.Open(dir); err == nil {
		_ = d.Sync()
		_ = d.Close()
	}
	return nil
}
