package notify

import (
	"bytes"
	"crypto/tls"
	"encoding/json"
	"errors"
	"fmt"
	"net/url"
	"sort"
	"strings"
	"time"
)

// SecretForm says how a secret setting is shown masked.
type SecretForm int

// The forms of secrets.
const (
	// SecretToken is a token or password: shown as ••••, plus its last
	// four characters when it is long.
	SecretToken SecretForm = iota
	// SecretURL is a URL whose path or query is the credential.
	SecretURL
	// SecretMap is an object whose every value is secret (custom
	// headers).
	SecretMap
)

// Secret names a secret setting of a kind.
type Secret struct {
	// Name is the setting's JSON name.
	Name string
	// Form is how it is masked.
	Form SecretForm
}

// Env is what a channel gets from the program: shared clients and the
// clock. The zero value is usable.
type Env struct {
	// HTTP is the shared HTTP helper; default NewHTTPClient(HTTPOptions{}).
	HTTP *HTTPClient
	// Now is the clock; default time.Now.
	Now func() time.Time
	// TLS is the base TLS configuration of non-HTTP kinds (email), for
	// private CAs; nil means the system roots.
	TLS *tls.Config
	// Hostname names this host in SMTP greetings and Message-IDs;
	// default "localhost".
	Hostname string
}

// WithDefaults returns e with its defaults filled in.
func (e Env) WithDefaults() Env {
	if e.HTTP == nil {
		e.HTTP = NewHTTPClient(HTTPOptions{})
	}
	if e.Now == nil {
		e.Now = time.Now
	}
	if e.Hostname == "" {
		e.Hostname = "localhost"
	}
	return e
}

// Kind is one kind of channel: its name, settings, secrets, constructor
// and URL form. Build one with Define.
type Kind struct {
	// Name is the kind's name in the API ("slack", "telegram", …).
	Name string
	// Title is its human name ("Slack", "Telegram", …).
	Title string
	// Secrets lists its secret settings.
	Secrets []Secret
	// Schemes are the URL schemes of its URL form (may be empty).
	Schemes []string

	newSettings func() Settings
	build       func(Settings, Env) (Channel, error)
	fromURL     func(*url.URL) (Settings, error)
}

// Spec describes a kind whose settings are S (a pointer to a struct).
type Spec[S Settings] struct {
	// Name, Title, Secrets and Schemes are copied to the Kind.
	Name, Title string
	// Secrets lists the secret settings.
	Secrets []Secret
	// Schemes are the URL schemes of FromURL.
	Schemes []string
	// Defaults returns new settings holding the defaults.
	Defaults func() S
	// New builds a channel from validated settings.
	New func(S, Env) (Channel, error)
	// FromURL parses the URL form into settings (optional).
	FromURL func(*url.URL) (S, error)
}

// Define turns a Spec into a Kind.
func Define[S Settings](sp Spec[S]) Kind {
	k := Kind{Name: sp.Name, Title: sp.Title, Secrets: sp.Secrets, Schemes: sp.Schemes}
	k.newSettings = func() Settings { return sp.Defaults() }
	k.build = func(s Settings, env Env) (Channel, error) {
		typed, ok := s.(S)
		if !ok {
			return nil, fmt.Errorf("notify: %s: settings of type %T", sp.Name, s)
		}
		if err := typed.Validate(); err != nil {
			return nil, err
		}
		return sp.New(typed, env.WithDefaults())
	}
	if sp.FromURL != nil {
		k.fromURL = func(u *url.URL) (Settings, error) { return sp.FromURL(u) }
	}
	return k
}

// NewSettings returns the kind's settings holding their defaults.
func (k Kind) NewSettings() Settings { return k.newSettings() }

// Decode parses a channel's JSON settings strictly (an unknown setting is
// an error) over the defaults, and validates them. Errors name the field.
func (k Kind) Decode(raw []byte) (Settings, error) {
	s := k.newSettings()
	if len(bytes.TrimSpace(raw)) > 0 {
		dec := json.NewDecoder(bytes.NewReader(raw))
		dec.DisallowUnknownFields()
		if err := dec.Decode(s); err != nil {
			return nil, jsonFieldError(err)
		}
	}
	if err := s.Validate(); err != nil {
		return nil, err
	}
	return s, nil
}

func jsonFieldError(err error) error {
	var te *json.UnmarshalTypeError
	if errors.As(err, &te) && te.Field != "" {
		return Fieldf(te.Field, "must be of type %s", te.Type)
	}
	if f, ok := strings.CutPrefix(err.Error(), "json: unknown field "); ok {
		return Fieldf(strings.Trim(f, `"`), "is not a setting of this kind")
	}
	return Fieldf("settings", "is not a valid JSON object")
}

// New builds a channel from settings of this kind.
func (k Kind) New(s Settings, env Env) (Channel, error) { return k.build(s, env) }

// Mask returns the settings as a JSON object with every secret masked, for
// display.
func (k Kind) Mask(s Settings) (map[string]any, error) {
	b, err := json.Marshal(s)
	if err != nil {
		return nil, err
	}
	var m map[string]any
	if err := json.Unmarshal(b, &m); err != nil {
		return nil, err
	}
	for _, sec := range k.Secrets {
		v, ok := m[sec.Name]
		if !ok {
			continue
		}
		m[sec.Name] = maskValue(sec.Form, v)
	}
	return m, nil
}

func maskValue(form SecretForm, v any) any {
	switch t := v.(type) {
	case string:
		if form == SecretURL {
			return MaskURL(t)
		}
		return MaskToken(t)
	case map[string]any:
		out := make(map[string]any, len(t))
		for key := range t {
			out[key] = Masked
		}
		return out
	case nil:
		return nil
	default:
		return Masked
	}
}

// SecretValues returns the values of s's secret settings, for scrubbing.
func (k Kind) SecretValues(s Settings) []string {
	b, err := json.Marshal(s)
	if err != nil {
		return nil
	}
	var m map[string]any
	if json.Unmarshal(b, &m) != nil {
		return nil
	}
	var out []string
	for _, sec := range k.Secrets {
		switch t := m[sec.Name].(type) {
		case string:
			out = append(out, t)
		case map[string]any:
			for _, v := range t {
				if s, ok := v.(string); ok {
					out = append(out, s)
				}
			}
		}
	}
	return out
}

// Registry holds the known kinds.
type Registry struct {
	kinds   map[string]Kind
	schemes map[string]string
}

// NewRegistry returns a registry of kinds; names and URL schemes must be
// unique.
func NewRegistry(kinds ...Kind) (*Registry, error) {
	r := &Registry{kinds: map[string]Kind{}, schemes: map[string]string{}}
	for _, k := range kinds {
		if k.Name == "" || k.newSettings == nil || k.build == nil {
			return nil, fmt.Errorf("notify: kind %q is not defined with Define", k.Name)
		}
		if _, dup := r.kinds[k.Name]; dup {
			return nil, fmt.Errorf("notify: kind %q registered twice", k.Name)
		}
		r.kinds[k.Name] = k
		for _, s := range k.Schemes {
			if other, dup := r.schemes[s]; dup {
				return nil, fmt.Errorf("notify: URL scheme %q of %q is taken by %q", s, k.Name, other)
			}
			r.schemes[s] = k.Name
		}
	}
	return r, nil
}

// Kind returns the kind named name.
func (r *Registry) Kind(name string) (Kind, bool) {
	k, ok := r.kinds[name]
	return k, ok
}

// Kinds returns the kinds sorted by name.
func (r *Registry) Kinds() []Kind {
	out := make([]Kind, 0, len(r.kinds))
	for _, k := range r.kinds {
		out = append(out, k)
	}
	sort.Slice(out, func(i, j int) bool { return out[i].Name < out[j].Name })
	return out
}

// Decode parses and validates the JSON settings of a channel of kind.
func (r *Registry) Decode(kind string, raw []byte) (Settings, error) {
	k, ok := r.kinds[kind]
	if !ok {
		return nil, Fieldf("kind", "is not a known kind")
	}
	return k.Decode(raw)
}

// ParseURL parses a notification URL ("slack://…", "telegram://…", the
// form other self-hosted tools use) into the kind and its validated
// settings. Errors never quote the URL.
func (r *Registry) ParseURL(raw string) (string, Settings, error) {
	u, err := url.Parse(strings.TrimSpace(raw))
	if err != nil || u.Scheme == "" {
		return "", nil, Fieldf("url", "is not a valid notification URL")
	}
	name, ok := r.schemes[strings.ToLower(u.Scheme)]
	if !ok {
		return "", nil, Fieldf("url", "has an unknown scheme %q", u.Scheme)
	}
	k := r.kinds[name]
	s, err := k.fromURL(u)
	if err != nil {
		var fe *FieldError
		if errors.As(err, &fe) {
			return "", nil, err
		}
		return "", nil, Fieldf("url", "is not a valid %s URL", k.Title)
	}
	if err := s.Validate(); err != nil {
		return "", nil, err
	}
	return name, s, nil
}
