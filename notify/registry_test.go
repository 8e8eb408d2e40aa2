package notify_test

import (
	"context"
	"errors"
	"net/url"
	"testing"

	"upmon/notify"
)

type fakeSettings struct {
	URL     string            `json:"url"`
	Token   string            `json:"token"`
	Headers map[string]string `json:"headers,omitempty"`
	Count   int               `json:"count"`
}

func (s *fakeSettings) Validate() error {
	return notify.First(notify.CheckURL("url", s.URL, true), notify.Required("token", s.Token))
}

type fakeChannel struct{ s *fakeSettings }

func (fakeChannel) Send(context.Context, notify.Message) error { return nil }

func fakeKind() notify.Kind {
	return notify.Define(notify.Spec[*fakeSettings]{
		Name: "fake", Title: "Fake",
		Secrets:  []notify.Secret{{Name: "url", Form: notify.SecretURL}, {Name: "token"}, {Name: "headers", Form: notify.SecretMap}},
		Schemes:  []string{"fake"},
		Defaults: func() *fakeSettings { return &fakeSettings{Count: 3} },
		New:      func(s *fakeSettings, _ notify.Env) (notify.Channel, error) { return fakeChannel{s}, nil },
		FromURL: func(u *url.URL) (*fakeSettings, error) {
			return &fakeSettings{URL: "https://" + u.Host + "/hook", Token: u.User.Username()}, nil
		},
	})
}

func TestDecodeNamesTheField(t *testing.T) {
	r, err := notify.NewRegistry(fakeKind())
	if err != nil {
		t.Fatal(err)
	}
	for raw, field := range map[string]string{
		`{"token":"t"}`:                                "url",
		`{"url":"ftp://x/","token":"t"}`:               "url",
		`{"url":"https://x/"}`:                         "token",
		`{"url":"https://x/","token":"t","x":1}`:       "x",
		`{"url":"https://x/","token":"t","count":"3"}`: "count",
		`[1]`: "settings",
	} {
		_, err := r.Decode("fake", []byte(raw))
		var fe *notify.FieldError
		if !errors.As(err, &fe) || fe.Field != field {
			t.Errorf("Decode(%s) = %v, want an error naming %q", raw, err, field)
		}
	}
	s, err := r.Decode("fake", []byte(`{"url":"https://x/","token":"t"}`))
	if err != nil || s.(*fakeSettings).Count != 3 {
		t.Errorf("Decode = %+v, %v; want the default count 3", s, err)
	}
	if _, err := r.Decode("nope", nil); err == nil {
		t.Error("unknown kind decoded")
	}
}

func TestMaskSettings(t *testing.T) {
	k := fakeKind()
	m, err := k.Mask(&fakeSettings{URL: "https://hooks.example/services/T0/B0/SECRET", Token: "abc", Headers: map[string]string{"Authorization": "Bearer z"}, Count: 1})
	if err != nil {
		t.Fatal(err)
	}
	if m["url"] != "https://hooks.example/services/T0/B0/••••" || m["token"] != "••••" || m["count"] != float64(1) {
		t.Errorf("Mask = %v", m)
	}
	if h := m["headers"].(map[string]any); h["Authorization"] != "••••" {
		t.Errorf("masked headers = %v", h)
	}
}

func TestRegistryURLAndDuplicates(t *testing.T) {
	r, _ := notify.NewRegistry(fakeKind())
	kind, s, err := r.ParseURL("fake://tok@host.example")
	if err != nil || kind != "fake" || s.(*fakeSettings).Token != "tok" {
		t.Errorf("ParseURL = %q, %+v, %v", kind, s, err)
	}
	if _, _, err := r.ParseURL("other://x"); err == nil {
		t.Error("unknown scheme parsed")
	}
	if _, err := notify.NewRegistry(fakeKind(), fakeKind()); err == nil {
		t.Error("duplicate kind accepted")
	}
	if _, err := notify.NewRegistry(notify.Kind{Name: "raw"}); err == nil {
		t.Error("kind not built with Define accepted")
	}
}
