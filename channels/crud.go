package channels

import (
	"bytes"
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"regexp"
	"strings"
	"time"

	"upmon/notify"
	"upmon/platform/api"
)

// Limits and defaults of a channel's own settings.
const (
	// DefaultGroupAfter is how many waiting messages make a channel group
	// them.
	DefaultGroupAfter = 10
	// DefaultConcurrency is how many messages a channel sends at once.
	DefaultConcurrency = 4
	maxConcurrency     = 64
	maxNameLen         = 100
)

var tagRE = regexp.MustCompile(`^[A-Za-z0-9][A-Za-z0-9_.:-]{0,49}$`)

// Create adds a channel.
func (s *Service) Create(ctx context.Context, p *Fields) (*Channel, error) {
	r := &record{Enabled: true, GroupAfter: DefaultGroupAfter, Concurrency: DefaultConcurrency}
	if p.Kind == nil && p.URL == nil {
		return nil, api.FieldError("kind", "is required (or url)")
	}
	if err := s.apply(r, p, true); err != nil {
		return nil, err
	}
	id, err := s.insert(ctx, r)
	if err != nil {
		return nil, err
	}
	s.wakeSupervisor()
	return s.Get(ctx, &IDParams{ID: id})
}

// Update changes a channel's fields (PATCH, or POST /channels/{id}).
func (s *Service) Update(ctx context.Context, p *UpdateParams) (*Channel, error) {
	r, err := s.load(ctx, p.ID)
	if err != nil {
		return nil, err
	}
	name, settings := r.Name, r.Settings
	if err := s.apply(r, &p.Fields, false); err != nil {
		return nil, err
	}
	if r.ManagedBy != "" && (r.Name != name || !bytes.Equal(r.Settings, settings)) {
		return nil, errManaged(r)
	}
	if err := s.save(ctx, r); err != nil {
		return nil, err
	}
	s.wakeSupervisor()
	return s.Get(ctx, &IDParams{ID: p.ID})
}

// Delete removes a channel with its queue and alerts.
func (s *Service) Delete(ctx context.Context, p *IDParams) (*struct{}, error) {
	r, err := s.load(ctx, p.ID)
	if err != nil {
		return nil, err
	}
	if r.ManagedBy != "" {
		return nil, errManaged(r)
	}
	if err := s.remove(ctx, p.ID); err != nil {
		var ae *api.Error
		if errors.As(err, &ae) {
			return nil, err
		}
		return nil, dbError("delete", err)
	}
	s.wakeSupervisor()
	return &struct{}{}, nil
}

// Get returns one channel, secrets masked, with its delivery status.
func (s *Service) Get(ctx context.Context, p *IDParams) (*Channel, error) {
	r, err := s.load(ctx, p.ID)
	if err != nil {
		return nil, err
	}
	c, err := s.view(r)
	if err != nil {
		return nil, err
	}
	if c.Status.Pending, c.Status.DeadLetters, err = s.counts(ctx, r.ID); err != nil {
		return nil, err
	}
	return c, nil
}

// List returns every channel, secrets masked.
func (s *Service) List(ctx context.Context, _ *struct{}) (*ListResponse, error) {
	rs, err := s.loadAll(ctx)
	if err != nil {
		return nil, dbError("list", err)
	}
	out := &ListResponse{Channels: []Channel{}}
	for _, r := range rs {
		c, err := s.view(r)
		if err != nil {
			return nil, err
		}
		if c.Status.Pending, c.Status.DeadLetters, err = s.counts(ctx, r.ID); err != nil {
			return nil, err
		}
		out.Channels = append(out.Channels, *c)
	}
	return out, nil
}

// view renders a record for the API with its secrets masked.
func (s *Service) view(r *record) (*Channel, error) {
	k, ok := s.opts.Kinds.Kind(r.Kind)
	if !ok {
		return nil, fmt.Errorf("channels: channel %d has unknown kind %q", r.ID, r.Kind)
	}
	st, err := k.Decode(r.Settings)
	if err != nil {
		return nil, fmt.Errorf("channels: channel %d: stored settings: %w", r.ID, err)
	}
	masked, err := k.Mask(st)
	if err != nil {
		return nil, err
	}
	remind := ""
	if r.RemindEvery > 0 {
		remind = r.RemindEvery.String()
	}
	return &Channel{ID: r.ID, Name: r.Name, Kind: r.Kind, Settings: masked, Events: r.Events, Tags: r.Tags,
		Default: r.Default, Enabled: r.Enabled, GroupAfter: r.GroupAfter, Concurrency: r.Concurrency,
		RemindEvery: remind, Template: r.Template, CreatedAt: r.CreatedAt, UpdatedAt: r.UpdatedAt,
		Status:    Status{LastSuccessAt: r.LastSuccessAt, LastError: r.LastError, LastErrorAt: r.LastErrorAt},
		ManagedBy: r.ManagedBy}, nil
}

// apply validates p and writes it over r; every error names the field.
func (s *Service) apply(r *record, p *Fields, create bool) error {
	if p.Name != nil {
		n := strings.TrimSpace(*p.Name)
		if n == "" || len(n) > maxNameLen {
			return api.FieldError("name", "must be 1-%d characters", maxNameLen)
		}
		r.Name = n
	} else if create {
		return api.FieldError("name", "is required")
	}
	if err := s.applySettings(r, p, create); err != nil {
		return err
	}
	if r.Events == nil {
		r.Events = allEvents()
	}
	if p.Events != nil {
		evs, err := checkEvents(*p.Events)
		if err != nil {
			return err
		}
		r.Events = evs
	}
	if r.Tags == nil {
		r.Tags = []string{}
	}
	if p.Tags != nil {
		if len(*p.Tags) > 20 {
			return api.FieldError("tags", "at most 20 tags")
		}
		for i, t := range *p.Tags {
			if !tagRE.MatchString(t) {
				return api.FieldError(fmt.Sprintf("tags[%d]", i), "must be 1-50 letters, digits or _.:- starting with a letter or digit")
			}
		}
		r.Tags = append([]string{}, *p.Tags...)
	}
	return applyScalars(r, p)
}

func applyScalars(r *record, p *Fields) error {
	if p.Default != nil {
		r.Default = *p.Default
	}
	if p.Enabled != nil {
		r.Enabled = *p.Enabled
	}
	if p.GroupAfter != nil {
		if *p.GroupAfter < 1 || *p.GroupAfter > 10000 {
			return api.FieldError("group_after", "must be between 1 and 10000")
		}
		r.GroupAfter = *p.GroupAfter
	}
	if p.Concurrency != nil {
		if *p.Concurrency < 1 || *p.Concurrency > maxConcurrency {
			return api.FieldError("concurrency", "must be between 1 and %d", maxConcurrency)
		}
		r.Concurrency = *p.Concurrency
	}
	if p.RemindEvery != nil {
		d, err := parseRemind(*p.RemindEvery)
		if err != nil {
			return err
		}
		r.RemindEvery = d
	}
	if p.Template != nil {
		if _, err := ParseTemplate(*p.Template); err != nil {
			return err
		}
		r.Template = *p.Template
	}
	return nil
}

func parseRemind(v string) (time.Duration, error) {
	if v == "" || v == "0" {
		return 0, nil
	}
	d, err := time.ParseDuration(v)
	if err != nil || d < time.Minute || d > 7*24*time.Hour {
		return 0, api.FieldError("remind_every", "must be a duration between 1m and 168h, or \"\" for off")
	}
	return d, nil
}

func allEvents() []string {
	var out []string
	for _, e := range notify.Events() {
		out = append(out, string(e))
	}
	return out
}

func checkEvents(evs []string) ([]string, error) {
	if len(evs) == 0 {
		return allEvents(), nil
	}
	seen := map[string]bool{}
	out := []string{}
	for i, e := range evs {
		if !notify.Event(e).Valid() {
			return nil, api.FieldError(fmt.Sprintf("events[%d]", i), "must be one of %s", strings.Join(allEvents(), ", "))
		}
		if !seen[e] {
			seen[e] = true
			out = append(out, e)
		}
	}
	return out, nil
}

// applySettings decodes the kind's settings (or the URL form) over the
// stored ones: a secret left out, or sent back masked, keeps its value.
func (s *Service) applySettings(r *record, p *Fields, create bool) error {
	kinds := s.opts.Kinds
	if p.URL != nil {
		if p.Kind != nil || len(p.Settings) > 0 {
			return api.FieldError("url", "give either url or kind and settings")
		}
		kind, st, err := kinds.ParseURL(*p.URL)
		if err != nil {
			return settingsError(err, "")
		}
		if !create && kind != r.Kind {
			return api.FieldError("kind", "cannot be changed")
		}
		b, err := json.Marshal(st)
		if err != nil {
			return err
		}
		r.Kind, r.Settings = kind, b
		return nil
	}
	if p.Kind != nil {
		if !create && *p.Kind != r.Kind {
			return api.FieldError("kind", "cannot be changed")
		}
		r.Kind = *p.Kind
	}
	k, ok := kinds.Kind(r.Kind)
	if !ok {
		return api.FieldError("kind", "is not a known kind")
	}
	if !create && len(p.Settings) == 0 {
		return nil
	}
	raw, err := mergeSettings(r.Settings, p.Settings)
	if err != nil {
		return err
	}
	st, err := k.Decode(raw)
	if err != nil {
		return settingsError(err, "settings.")
	}
	b, err := json.Marshal(st)
	if err != nil {
		return err
	}
	r.Settings = b
	return nil
}

// mergeSettings lays patch over stored, skipping masked values (a client
// sending back what it was shown).
func mergeSettings(stored, patch json.RawMessage) ([]byte, error) {
	base := map[string]json.RawMessage{}
	if len(stored) > 0 {
		if err := json.Unmarshal(stored, &base); err != nil {
			return nil, err
		}
	}
	var over map[string]json.RawMessage
	if len(bytes.TrimSpace(patch)) > 0 {
		if err := json.Unmarshal(patch, &over); err != nil {
			return nil, api.FieldError("settings", "must be a JSON object")
		}
	}
	for k, v := range over {
		if bytes.Contains(v, []byte(notify.Masked)) {
			if _, had := base[k]; had {
				continue
			}
		}
		base[k] = v
	}
	return json.Marshal(base)
}

func settingsError(err error, prefix string) error {
	var fe *notify.FieldError
	if errors.As(err, &fe) {
		return api.FieldError(prefix+fe.Field, "%s", fe.Problem)
	}
	return api.FieldError(strings.TrimSuffix(prefix, "."), "are invalid")
}
