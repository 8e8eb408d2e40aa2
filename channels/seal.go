package channels

import (
	"context"
	"crypto/aes"
	"crypto/cipher"
	"crypto/rand"
	"encoding/base64"
	"fmt"
	"strings"

	"upmon/platform/api"
)

// KeySecretName is the secret holding the key that encrypts channel
// settings at rest (32 bytes, base64 or hex). Replicas must be given the
// same one; without it, a key is generated once and kept in the broker.
const KeySecretName = "ChannelsKey"

// sealedPrefix marks settings stored encrypted (AES-256-GCM, version 1):
// "enc1:" + base64(nonce ‖ ciphertext ‖ tag).
const sealedPrefix = "enc1:"

// sealer encrypts and decrypts stored settings; nil keeps them in clear
// (a service without Options.Key, as in unit tests of other packages).
type sealer struct{ aead cipher.AEAD }

func newSealer(key []byte) (*sealer, error) {
	if key == nil {
		return nil, nil
	}
	if len(key) != 32 {
		return nil, fmt.Errorf("channels: the %s must be 32 bytes, not %d", KeySecretName, len(key))
	}
	block, err := aes.NewCipher(key)
	if err != nil {
		return nil, err
	}
	aead, err := cipher.NewGCM(block)
	if err != nil {
		return nil, err
	}
	return &sealer{aead: aead}, nil
}

// ParseKey decodes a ChannelsKey secret: 32 bytes as base64 (standard or
// URL alphabet) or hex.
func ParseKey(v string) ([]byte, error) {
	v = strings.TrimSpace(v)
	for _, dec := range []func(string) ([]byte, error){base64.StdEncoding.DecodeString, base64.RawStdEncoding.DecodeString,
		base64.URLEncoding.DecodeString, base64.RawURLEncoding.DecodeString, hexDecode} {
		if b, err := dec(v); err == nil && len(b) == 32 {
			return b, nil
		}
	}
	return nil, fmt.Errorf("the %s secret must be 32 bytes in base64 or hex (such as `openssl rand -base64 32`)", KeySecretName)
}

func hexDecode(s string) ([]byte, error) {
	var b []byte
	_, err := fmt.Sscanf(s, "%x", &b)
	return b, err
}

// seal returns what is stored for settings: encrypted, with a fresh
// random nonce each time.
func (s *sealer) seal(settings []byte) string {
	if s == nil {
		return string(settings)
	}
	nonce := make([]byte, s.aead.NonceSize())
	_, _ = rand.Read(nonce)
	out := s.aead.Seal(nonce, nonce, settings, aad)
	return sealedPrefix + base64.StdEncoding.EncodeToString(out)
}

// open returns the settings of a stored value; values stored in clear
// (before encryption, or by a service without a key) are read as they are.
func (s *sealer) open(id int64, stored string) ([]byte, error) {
	if !strings.HasPrefix(stored, sealedPrefix) {
		return []byte(stored), nil
	}
	if s == nil {
		return nil, api.Errorf(api.FailedPrecondition, "channel %d: its settings are encrypted and this server has no %s", id, KeySecretName)
	}
	raw, err := base64.StdEncoding.DecodeString(strings.TrimPrefix(stored, sealedPrefix))
	n := s.aead.NonceSize()
	if err != nil || len(raw) < n {
		return nil, api.Errorf(api.FailedPrecondition, "channel %d: its stored settings are damaged", id)
	}
	plain, err := s.aead.Open(nil, raw[:n], raw[n:], aad)
	if err != nil {
		return nil, api.Errorf(api.FailedPrecondition,
			"channel %d: its settings cannot be decrypted: the %s differs from the one they were stored with (replicas must share it)", id, KeySecretName)
	}
	return plain, nil
}

// aad binds the ciphertext to its use.
var aad = []byte("upmon channel settings")

// SealStored encrypts the settings still stored in clear (rows written
// before the service had a key). It is idempotent and safe on replicas.
func (s *Service) SealStored(ctx context.Context) error {
	if s.seal == nil {
		return nil
	}
	rows, err := s.db.QueryContext(ctx, `SELECT id, settings FROM channels WHERE settings NOT LIKE $1`, sealedPrefix+"%")
	if err != nil {
		return dbError("seal", err)
	}
	type plain struct {
		id       int64
		settings string
	}
	var todo []plain
	for rows.Next() {
		var p plain
		if err := rows.Scan(&p.id, &p.settings); err != nil {
			rows.Close()
			return dbError("seal", err)
		}
		todo = append(todo, p)
	}
	rows.Close()
	if err := rows.Err(); err != nil {
		return dbError("seal", err)
	}
	for _, p := range todo {
		if _, err := s.db.ExecContext(ctx, `UPDATE channels SET settings = $1 WHERE id = $2 AND settings = $3`,
			s.seal.seal([]byte(p.settings)), p.id, p.settings); err != nil {
			return dbError("seal", err)
		}
	}
	return nil
}
