package site

import (
	"bytes"
	"encoding/json"
	"strconv"
	"sync"
)

// Most sites share a handful of distinct settings (often none at all), so
// decoding each stored settings text once, and encoding each filled-in
// result once, makes listing 10,000 sites cheap. The memo is keyed by the
// stored text itself, so it can never be stale; it is bounded and simply
// starts over when full.
type settingsMemo struct {
	mu      sync.Mutex
	entries map[string]*memoEntry
}

type memoEntry struct {
	filled  Settings // filled in; shared, so treated as read-only
	encoded []byte   // JSON object members of filled, without braces
	// redacted is encoded with header values and body redacted, for
	// callers that may not see secrets.
	redacted []byte
}

const memoMax = 4096

func (m *settingsMemo) get(raw string, d Defaults) (*memoEntry, error) {
	m.mu.Lock()
	e := m.entries[raw]
	m.mu.Unlock()
	if e != nil {
		return e, nil
	}
	var st Settings
	if err := json.Unmarshal([]byte(raw), &st); err != nil {
		return nil, err
	}
	st = st.Filled(d)
	enc, err := json.Marshal(st)
	if err != nil {
		return nil, err
	}
	red, err := json.Marshal(st.redacted())
	if err != nil {
		return nil, err
	}
	e = &memoEntry{filled: st, encoded: members(enc), redacted: members(red)}
	m.mu.Lock()
	if m.entries == nil || len(m.entries) >= memoMax {
		m.entries = map[string]*memoEntry{}
	}
	m.entries[raw] = e
	m.mu.Unlock()
	return e, nil
}

// members returns a JSON object's members without its braces.
func members(obj []byte) []byte {
	return bytes.TrimSuffix(bytes.TrimPrefix(obj, []byte("{")), []byte("}"))
}

// MarshalJSON writes the list with each site's settings from the memo:
// the same bytes encoding/json would produce, without reflecting over
// every site.
func (r *ListResponse) MarshalJSON() ([]byte, error) {
	if r.encoded == nil {
		type plain ListResponse
		return json.Marshal((*plain)(r))
	}
	var b bytes.Buffer
	b.Grow(len(r.Sites) * 400)
	b.WriteString(`{"sites":[`)
	for i, st := range r.Sites {
		if i > 0 {
			b.WriteByte(',')
		}
		b.WriteString(`{"id":`)
		b.WriteString(strconv.FormatInt(st.ID, 10))
		b.WriteString(`,"url":`)
		writeString(&b, st.URL)
		b.WriteString(`,"name":`)
		writeString(&b, st.Name)
		b.WriteString(`,"kind":`)
		writeString(&b, st.Kind)
		b.WriteByte(',')
		b.Write(r.encoded[i])
		if st.PushToken != "" {
			b.WriteString(`,"push_token":`)
			writeString(&b, st.PushToken)
		}
		if st.PushURL != "" {
			b.WriteString(`,"push_url":`)
			writeString(&b, st.PushURL)
		}
		b.WriteByte('}')
	}
	b.WriteByte(']')
	if r.Next != "" {
		b.WriteString(`,"next":`)
		writeString(&b, r.Next)
	}
	b.WriteByte('}')
	return b.Bytes(), nil
}

// writeString writes s as a JSON string exactly as encoding/json does
// (HTML-safe escaping included).
func writeString(b *bytes.Buffer, s string) {
	enc, _ := json.Marshal(s)
	b.Write(enc)
}
