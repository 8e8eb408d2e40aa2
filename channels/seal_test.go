package channels_test

import (
	"bytes"
	"context"
	"strings"
	"testing"

	"upmon/channels"
	"upmon/platform/api"
)

// Channel settings are stored encrypted: the column holds no secret in
// clear, the service still sends with them, and a service with another
// key says clearly why it cannot read them.
func TestSettingsEncryptedAtRest(t *testing.T) {
	t.Parallel()
	key := bytes.Repeat([]byte{7}, 32)
	f := newFixture(t, func(o *channels.Options) { o.Key = key })
	h := newHook(t)
	secretURL := h.URL + "/services/T000/B000/very-secret-token"
	c := f.slack(t, "ops", secretURL, nil)
	ctx := context.Background()
	var stored string
	if err := f.db.QueryRowContext(ctx, `SELECT settings FROM channels WHERE id = $1`, c.ID).Scan(&stored); err != nil {
		t.Fatal(err)
	}
	if strings.Contains(stored, "very-secret-token") || strings.Contains(stored, "webhook_url") || !strings.HasPrefix(stored, "enc1:") {
		t.Fatalf("stored settings %q: not encrypted", stored)
	}
	if res, err := f.svc.Test(ctx, &channels.IDParams{ID: c.ID}); err != nil || res.Status != "sent" {
		t.Fatalf("test-send with the decrypted settings: %+v %v", res, err)
	}
	other := f.replica(t, func(o *channels.Options) { o.Key = bytes.Repeat([]byte{8}, 32) })
	_, err := other.Get(ctx, &channels.IDParams{ID: c.ID})
	if !api.IsCode(err, api.FailedPrecondition) || !strings.Contains(err.Error(), channels.KeySecretName) {
		t.Fatalf("wrong key: %v, want a failed_precondition naming %s", err, channels.KeySecretName)
	}
	if _, err := other.List(ctx, nil); !api.IsCode(err, api.FailedPrecondition) {
		t.Fatalf("wrong key, list: %v", err)
	}
}

// Settings stored in clear before the service had a key are encrypted by
// SealStored and read back the same.
func TestSealStored(t *testing.T) {
	t.Parallel()
	f := newFixture(t, nil)
	c := f.slack(t, "ops", "http://127.0.0.1:9/hook-secret", nil)
	keyed := f.replica(t, func(o *channels.Options) { o.Key = bytes.Repeat([]byte{7}, 32) })
	ctx := context.Background()
	if err := keyed.SealStored(ctx); err != nil {
		t.Fatal(err)
	}
	var stored string
	if err := f.db.QueryRowContext(ctx, `SELECT settings FROM channels WHERE id = $1`, c.ID).Scan(&stored); err != nil {
		t.Fatal(err)
	}
	if strings.Contains(stored, "hook-secret") {
		t.Fatalf("stored settings %q still in clear", stored)
	}
	got, err := keyed.Get(ctx, &channels.IDParams{ID: c.ID})
	if err != nil || got.Settings["webhook_url"] == nil {
		t.Fatalf("after sealing: %+v %v", got, err)
	}
}

func TestParseKey(t *testing.T) {
	t.Parallel()
	for _, v := range []string{"BwcHBwcHBwcHBwcHBwcHBwcHBwcHBwcHBwcHBwcHBwc=", strings.Repeat("07", 32)} {
		if k, err := channels.ParseKey(v); err != nil || !bytes.Equal(k, bytes.Repeat([]byte{7}, 32)) {
			t.Errorf("ParseKey(%q) = %x, %v", v, k, err)
		}
	}
	for _, v := range []string{"", "short", strings.Repeat("07", 31)} {
		if _, err := channels.ParseKey(v); err == nil {
			t.Errorf("ParseKey(%q) accepted", v)
		}
	}
}
