package e2e

import (
	"context"
	"testing"
	"time"

	"github.com/chromedp/chromedp"

	"upmon/account"
	"upmon/internal/app"
	"upmon/internal/app/apptest"
	"upmon/site"
)

// signInBrowser fills the sign-in page's password form.
func signInBrowser(b *browser, base, login, password string) {
	b.t.Helper()
	b.do(chromedp.Navigate(base + "/frontend/"))
	b.waitFor(`location.pathname === "/login" && document.querySelector("#password-login")`, 10*time.Second)
	b.do(chromedp.SetValue(chromedp.CSS("#login"), login), chromedp.SetValue(chromedp.CSS("#password"), password),
		chromedp.Click(chromedp.CSS("#password-login button[type=submit]")))
	b.waitFor(`location.pathname === "/frontend/" && document.querySelector("#role")`, 10*time.Second)
}

// fetchStatus makes the page send a same-origin request (with its
// session cookie) and returns the status.
func fetchStatus(b *browser, method, path string) int {
	b.t.Helper()
	ctx, cancel := context.WithTimeout(b.ctx, 10*time.Second)
	defer cancel()
	v, err := chromedp.Run(ctx, chromedp.Evaluate[int](`fetch(`+jsString(path)+`, {method: `+jsString(method)+`, headers: {Accept: "application/json"}}).then(r => r.status)`, chromedp.EvalAwaitPromise))
	if err != nil {
		b.t.Fatalf("fetch %s %s: %v", method, path, err)
	}
	return v
}

// TestBrowserRoles: a viewer signs in on the sign-in page and sees their
// role, no control that changes anything (add, check, delete, settings,
// users) and the server refuses those requests anyway; an owner sees
// them all and the users page.
func TestBrowserRoles(t *testing.T) {
	target := apptest.NewTarget(t)
	m := apptest.Start(t, apptest.Config(t), app.Hooks{})
	ctx := context.Background()
	for _, u := range []account.AddUserParams{
		{Name: "vic", Email: "vic@example.com", Role: "viewer", Password: "viewer's long password"},
		{Name: "ada", Email: "ada@example.com", Role: "owner", Password: "owner's long password"},
	} {
		if _, err := m.Accounts.AddUser(ctx, &u); err != nil {
			t.Fatal(err)
		}
	}
	st, err := m.Site.Add(ctx, &site.AddParams{URL: target.URL})
	if err != nil {
		t.Fatal(err)
	}
	sitePath := "/frontend/sites/" + itoa(st.ID)
	base := m.URL()
	b := newBrowser(t, 1200, 900)

	signInBrowser(b, base, "vic", "viewer's long password")
	if role := eval[string](b, `document.querySelector("#role").textContent`); role != "viewer" {
		t.Fatalf("role shown: %q", role)
	}
	for _, sel := range []string{"#add-form", "form.check", "a.del", `a[href="/frontend/users"]`, `a[href="/frontend/audit"]`} {
		if eval[bool](b, `!!document.querySelector(`+jsString(sel)+`)`) {
			t.Errorf("a viewer's overview shows %s", sel)
		}
	}
	b.open(base + sitePath)
	for _, sel := range []string{"form.check", "a.del", "form.settings"} {
		if eval[bool](b, `!!document.querySelector(`+jsString(sel)+`)`) {
			t.Errorf("a viewer's site page shows %s", sel)
		}
	}
	if !eval[bool](b, `!!document.querySelector("#settings-readonly")`) {
		t.Error("a viewer's site page does not show the settings read-only")
	}
	for _, c := range [][2]string{{"POST", sitePath + "/check"}, {"POST", sitePath + "/delete"}, {"POST", "/frontend/sites"},
		{"DELETE", "/site/" + itoa(st.ID)}, {"GET", "/frontend/users"}, {"GET", "/audit"}} {
		if got := fetchStatus(b, c[0], c[1]); got != 403 {
			t.Errorf("viewer %s %s = %d, want 403", c[0], c[1], got)
		}
	}

	b.do(chromedp.Click(chromedp.CSS("#user-menu button[type=submit]")))
	b.waitFor(`location.pathname === "/login"`, 10*time.Second)
	signInBrowser(b, base, "ada@example.com", "owner's long password")
	if role := eval[string](b, `document.querySelector("#role").textContent`); role != "owner" {
		t.Fatalf("role shown: %q", role)
	}
	for _, sel := range []string{"#add-form", "form.check", "a.del", `a[href="/frontend/users"]`, `a[href="/frontend/audit"]`} {
		if !eval[bool](b, `!!document.querySelector(`+jsString(sel)+`)`) {
			t.Errorf("an owner's overview lacks %s", sel)
		}
	}
	b.open(base + "/frontend/users")
	if !eval[bool](b, `!!document.querySelector('#users tr[data-user="vic"]')`) {
		t.Error("the users page does not list vic")
	}
	b.open(base + "/frontend/audit")
	if !eval[bool](b, `document.querySelector("#audit").textContent.includes("user.add")`) {
		t.Error("the audit page does not show the users being added")
	}
}
