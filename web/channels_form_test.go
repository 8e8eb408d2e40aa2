package web

import (
	"context"
	"net/http"
	"net/url"
	"strings"
	"testing"

	"upmon/platform/api"
)

// TestChannelFormErrors: input the service refuses is shown next to its
// field on the form, with the status of the refusal; a number that does
// not parse is refused before the service is called; a typed secret is
// never sent back.
func TestChannelFormErrors(t *testing.T) {
	e := newChanEnv(t)
	rc := newReceiver(t)
	if w := e.send("POST", "/frontend/channels", webhookForm("taken", rc.srv.URL+secretPath)); w.Code != http.StatusSeeOther {
		t.Fatalf("create = %d: %s", w.Code, w.Body)
	}
	tests := []struct {
		name  string
		edit  func(url.Values)
		code  int
		wants []string
	}{
		{"no name", func(f url.Values) { f.Set("name", " ") }, 400,
			[]string{`<p class="err" id="e-name">must be 1-100 characters</p>`, `id="c-name" name="name" type="text" value="" maxlength="100" required aria-describedby="e-name" aria-invalid="true"`}},
		{"name taken", func(f url.Values) { f.Set("name", "taken") }, 400,
			[]string{`<p class="err" id="e-name">a channel with this name exists</p>`}},
		{"url not http", func(f url.Values) { f.Set("secret.url", "ftp://127.0.0.1/in/path-secret-7f3a9") }, 400,
			[]string{`<p class="err" id="ce-url">must be an http or https URL</p>`, `aria-describedby="ce-url" aria-invalid="true"`}},
		{"no url", func(f url.Values) { f.Del("secret.url") }, 400,
			[]string{`<p class="err" id="ce-url">is required</p>`}},
		{"bad method", func(f url.Values) { f.Set("set.method", "GET") }, 400,
			[]string{`<p class="err" id="ce-method">must be one of POST, PUT</p>`, `name="set.method" type="text" spellcheck="false" value="GET"`}},
		{"bad header", func(f url.Values) { f.Set("secret.headers", "X-Upmon-Event: x") }, 400,
			[]string{`<p class="err" id="ce-headers">headers.X-Upmon-Event: is set by upmon</p>`}},
		{"bad event", func(f url.Values) { f["events"] = []string{"", "down", "exploded"} }, 400,
			[]string{`<p class="err" id="e-events">events[1]: must be one of down, up,`}},
		{"bad tag", func(f url.Values) { f.Set("tags", "ok, -no") }, 400,
			[]string{`<p class="err" id="e-tags">tags[1]: must be 1-50 letters`}},
		{"bad reminder", func(f url.Values) { f.Set("remind_every", "5s") }, 400,
			[]string{`<p class="err" id="e-remind_every">must be a duration between 1m and 168h`}},
		{"bad template", func(f url.Values) { f.Set("template", "{{.Nope") }, 400,
			[]string{`<p class="err" id="e-template">`}},
		{"group not a number", func(f url.Values) { f.Set("group_after", "many") }, 400,
			[]string{`<p class="err" id="e-group_after">must be a whole number</p>`}},
		{"concurrency out of range", func(f url.Values) { f.Set("concurrency", "0") }, 400,
			[]string{`<p class="err" id="e-concurrency">must be between 1 and 64</p>`}},
	}
	for _, tc := range tests {
		f := webhookForm("new one", rc.srv.URL+secretPath)
		tc.edit(f)
		w := e.send("POST", "/frontend/channels", f)
		body := w.Body.String()
		if w.Code != tc.code {
			t.Errorf("%s: status %d, want %d", tc.name, w.Code, tc.code)
		}
		for _, want := range append(tc.wants, `<p class="err" role="alert" id="form-error">Some fields are not valid.</p>`, `<h1>New Webhook channel</h1>`) {
			if !strings.Contains(body, want) {
				t.Errorf("%s: page lacks %q", tc.name, want)
			}
		}
		noSecrets(t, tc.name, body)
		if tc.name != "no url" && !strings.Contains(body, `id="retype"`) {
			t.Errorf("%s: no note that secrets must be typed again", tc.name)
		}
	}
	if l, err := e.store.ListChannels(context.Background()); err != nil || len(l) != 1 {
		t.Errorf("after refused forms: %d channels, %v", len(l), err)
	}
	// An edit refused shows the stored secret masked, never typed values.
	f := webhookForm("taken", "")
	f.Set("concurrency", "65")
	f.Set("secret.secret", "typed-secret-33")
	w := e.send("POST", "/frontend/channels/1", f)
	if body := w.Body.String(); w.Code != 400 || !strings.Contains(body, `<p class="err" id="e-concurrency">must be between 1 and 64</p>`) ||
		strings.Contains(body, "typed-secret-33") || !strings.Contains(body, `placeholder="`+rc.srv.URL+`/in/••••"`) {
		t.Errorf("refused edit = %d: %s", w.Code, body)
	}
	// A kind that does not exist, or a channel that does not.
	if w := e.send("POST", "/frontend/channels", url.Values{"kind": {"carrier-pigeon"}, "name": {"x"}}); w.Code != 400 || !strings.Contains(w.Body.String(), "kind: is not a known kind") {
		t.Errorf("unknown kind = %d: %s", w.Code, w.Body)
	}
	if w := e.send("GET", "/frontend/channels/new?kind=carrier-pigeon", nil); w.Code != 400 {
		t.Errorf("new form of an unknown kind = %d", w.Code)
	}
	for _, p := range []string{"/frontend/channels/9", "/frontend/channels/9/test", "/frontend/channels/9/delete"} {
		if w := e.send("POST", p, url.Values{}); w.Code != 404 {
			t.Errorf("POST %s = %d", p, w.Code)
		}
	}
}

// TestChannelFormsRefuseOtherOrigins: a form posted from another site's
// page (the browser says so in Sec-Fetch-Site and Origin) is refused
// before it reaches the service, even for an editor.
func TestChannelFormsRefuseOtherOrigins(t *testing.T) {
	e := newChanEnv(t)
	rc := newReceiver(t)
	if w := e.send("POST", "/frontend/channels", webhookForm("ops", rc.srv.URL+secretPath)); w.Code != http.StatusSeeOther {
		t.Fatalf("create = %d: %s", w.Code, w.Body)
	}
	cross := []string{"Sec-Fetch-Site", "cross-site", "Origin", "https://evil.example"}
	for _, c := range []struct {
		path string
		form url.Values
	}{
		{"/frontend/channels", webhookForm("evil", "https://evil.example/hook")},
		{"/frontend/channels/1", webhookForm("renamed by evil", "")},
		{"/frontend/channels/1/test", url.Values{}},
		{"/frontend/channels/1/delete", url.Values{}},
	} {
		w := e.send("POST", c.path, c.form, cross...)
		if w.Code != http.StatusForbidden || !strings.Contains(w.Body.String(), "cross-origin request refused") {
			t.Errorf("cross-site POST %s = %d %s", c.path, w.Code, w.Body)
		}
	}
	l, err := e.store.ListChannels(context.Background())
	if err != nil || len(l) != 1 || l[0].Name != "ops" {
		t.Errorf("after cross-site posts: %+v %v", l, err)
	}
	if got := rc.got(); len(got) != 0 {
		t.Errorf("a cross-site test reached the receiver: %q", got)
	}
}

// TestChannelsViewer: a viewer sees the list and a channel read-only,
// with no form or button, and the server refuses their posts.
func TestChannelsViewer(t *testing.T) {
	e := newChanEnv(t)
	rc := newReceiver(t)
	if w := e.send("POST", "/frontend/channels", webhookForm("ops", rc.srv.URL+secretPath)); w.Code != http.StatusSeeOther {
		t.Fatalf("create = %d: %s", w.Code, w.Body)
	}
	e.role = api.Viewer
	list := e.send("GET", "/frontend/channels", nil)
	body := list.Body.String()
	if list.Code != 200 || !strings.Contains(body, "<strong>ops</strong>") {
		t.Fatalf("viewer list = %d: %s", list.Code, body)
	}
	main := body[strings.Index(body, "<main"):]
	for _, no := range []string{"<form", "<button", "Add a channel", `href="/frontend/channels/1"`, "/delete"} {
		if strings.Contains(main, no) {
			t.Errorf("the viewer's list shows %q", no)
		}
	}
	edit := e.send("GET", "/frontend/channels/1", nil).Body.String()
	main = edit[strings.Index(edit, "<main"):]
	if strings.Contains(main, "<form") || strings.Contains(main, "<button") || !strings.Contains(main, `<fieldset class="channel-form" id="channel-readonly" disabled>`) {
		t.Errorf("the viewer's channel page: %s", main)
	}
	noSecrets(t, "the viewer's channel page", edit)
	for _, c := range []struct {
		path string
		form url.Values
	}{
		{"/frontend/channels", webhookForm("viewer's", rc.srv.URL+secretPath)},
		{"/frontend/channels/1", webhookForm("renamed by a viewer", "")},
		{"/frontend/channels/1/test", url.Values{}},
		{"/frontend/channels/1/delete", url.Values{}},
	} {
		if w := e.send("POST", c.path, c.form); w.Code != http.StatusForbidden {
			t.Errorf("viewer POST %s = %d", c.path, w.Code)
		}
	}
	l, err := e.store.ListChannels(context.Background())
	if err != nil || len(l) != 1 || l[0].Name != "ops" {
		t.Errorf("after a viewer's posts: %+v %v", l, err)
	}
	if got := rc.got(); len(got) != 0 {
		t.Errorf("a viewer's test reached the receiver: %q", got)
	}
}

// TestSitePageChannels: the site page says where its notifications go
// (the default channels while it names none, else the channels it names
// and those whose tags it has, each linked to the channels page), and
// its settings form chooses channels, saved as the "channels" setting.
func TestSitePageChannels(t *testing.T) {
	e := newChanEnv(t)
	rc := newReceiver(t)
	for _, f := range []url.Values{webhookForm("ops", rc.srv.URL+secretPath), webhookForm("pager", rc.srv.URL+"/p")} {
		if f.Get("name") == "pager" {
			f.Set("default", "")
			f.Set("tags", "db")
		}
		if w := e.send("POST", "/frontend/channels", f); w.Code != http.StatusSeeOther {
			t.Fatalf("create = %d: %s", w.Code, w.Body)
		}
	}
	s := e.add("https://a.example")
	page := func() string {
		t.Helper()
		w := e.send("GET", "/frontend/sites/1", nil)
		if w.Code != 200 {
			t.Fatalf("site page = %d: %s", w.Code, w.Body)
		}
		return w.Body.String()
	}
	body := page()
	for _, want := range []string{`<p id="site-channels">Default channels: <a href="/frontend/channels#channel-1">ops</a>`,
		`<input id="f-ch-1" name="channels" type="checkbox" value="1"><label for="f-ch-1">ops</label>`,
		`<input id="f-ch-2" name="channels" type="checkbox" value="2"><label for="f-ch-2">pager</label>`} {
		if !strings.Contains(body, want) {
			t.Errorf("site page lacks %q", want)
		}
	}
	noSecrets(t, "the site page", body)

	w := e.send("POST", "/frontend/sites/1/settings", url.Values{"channels": {"", "2"}})
	if w.Code != http.StatusSeeOther || w.Header().Get("Location") != "/frontend/sites/1?msg=saved" {
		t.Fatalf("save = %d %q: %s", w.Code, w.Header().Get("Location"), w.Body)
	}
	if st, _ := e.sites.StoredSettings(context.Background(), s); len(st.Channels) != 1 || st.Channels[0] != 2 {
		t.Errorf("stored channels %v", st.Channels)
	}
	body = page()
	for _, want := range []string{`<p id="site-channels">Channels: <a href="/frontend/channels#channel-2">pager</a> <span class="hint">(chosen)</span></p>`,
		`<input id="f-ch-2" name="channels" type="checkbox" value="2" checked>`} {
		if !strings.Contains(body, want) {
			t.Errorf("after choosing, the site page lacks %q", want)
		}
	}
	// The same choice again changes nothing; none ticked and a tag the
	// pager channel has route it by tag.
	if w := e.send("POST", "/frontend/sites/1/settings", url.Values{"channels": {"", "2"}}); w.Header().Get("Location") != "/frontend/sites/1?msg=same" {
		t.Errorf("same choice = %q", w.Header().Get("Location"))
	}
	if w := e.send("POST", "/frontend/sites/1/settings", url.Values{"channels": {""}, "tags": {"db"}}); w.Code != http.StatusSeeOther {
		t.Fatalf("save = %d: %s", w.Code, w.Body)
	}
	if body = page(); !strings.Contains(body, `<p id="site-channels">Channels: <a href="/frontend/channels#channel-2">pager</a> <span class="hint">(tag db)</span></p>`) {
		t.Errorf("routed by tag, the site page shows %s", body[strings.Index(body, `<section id="notifications"`):strings.Index(body, `<section id="settings"`)])
	}
	if w := e.send("POST", "/frontend/sites/1/settings", url.Values{"channels": {"", "x"}}); w.Code != 400 || !strings.Contains(w.Body.String(), `<p class="err" id="e-channels">must be channel ids</p>`) {
		t.Errorf("bad channel id = %d", w.Code)
	}
}
