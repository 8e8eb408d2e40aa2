package api_test

import (
	"context"
	"encoding/json"
	"io"
	"net/http"
	"net/http/httptest"
	"strings"
	"testing"

	"upmon/platform/api"
)

type echoReq struct {
	ID   int64  `path:"id"`
	Name string `json:"name"`
	N    int    `query:"n"`
}

type echoResp struct {
	ID   int64  `json:"id"`
	Name string `json:"name"`
	N    int    `json:"n"`
}

func newServer(t *testing.T) *httptest.Server {
	t.Helper()
	s := api.NewServer(nil)
	api.Register(s, "test", api.Public, "POST /echo/{id}", func(_ context.Context, r *echoReq) (*echoResp, error) {
		return &echoResp{ID: r.ID, Name: r.Name, N: r.N}, nil
	})
	api.Register(s, "test", api.Public, "GET /fail/{code}", func(_ context.Context, r *struct {
		Code string `path:"code"`
	}) (*echoResp, error) {
		if r.Code == "internal" {
			return nil, io.ErrUnexpectedEOF // a non-API error: detail must not leak
		}
		return nil, api.Errorf(api.ErrCode(r.Code), "failed with %s", r.Code)
	})
	api.Register(s, "test", api.Public, "DELETE /thing/{id}", func(_ context.Context, r *echoReq) (*struct{}, error) {
		return nil, nil
	})
	srv := httptest.NewServer(s)
	t.Cleanup(srv.Close)
	return srv
}

func do(t *testing.T, method, url, ctype, body string) (int, string) {
	t.Helper()
	req, err := http.NewRequest(method, url, strings.NewReader(body))
	if err != nil {
		t.Fatal(err)
	}
	if ctype != "" {
		req.Header.Set("Content-Type", ctype)
	}
	resp, err := http.DefaultClient.Do(req)
	if err != nil {
		t.Fatal(err)
	}
	defer resp.Body.Close()
	b, _ := io.ReadAll(resp.Body)
	return resp.StatusCode, string(b)
}

func TestErrorMapping(t *testing.T) {
	srv := newServer(t)
	cases := map[string]int{
		"canceled": 499, "unknown": 500, "invalid_argument": 400, "deadline_exceeded": 504,
		"not_found": 404, "already_exists": 409, "permission_denied": 403, "resource_exhausted": 429,
		"failed_precondition": 400, "aborted": 409, "out_of_range": 400, "unimplemented": 501,
		"internal": 500, "unavailable": 503, "data_loss": 500, "unauthenticated": 401,
	}
	for code, status := range cases {
		t.Run(code, func(t *testing.T) {
			got, body := do(t, "GET", srv.URL+"/fail/"+code, "", "")
			if got != status {
				t.Fatalf("status = %d, want %d", got, status)
			}
			var e struct {
				Code    string          `json:"code"`
				Message string          `json:"message"`
				Details json.RawMessage `json:"details"`
			}
			if err := json.Unmarshal([]byte(body), &e); err != nil {
				t.Fatalf("body %q: %v", body, err)
			}
			if e.Code != code || string(e.Details) != "null" || e.Message == "" {
				t.Fatalf("body = %s", body)
			}
			if code == "internal" && strings.Contains(body, "EOF") {
				t.Fatalf("internal error leaked detail: %s", body)
			}
		})
	}
}

func TestDecoding(t *testing.T) {
	srv := newServer(t)
	tests := []struct {
		name, method, path, ctype, body string
		status                          int
		want                            string // substring of the body
	}{
		{"json", "POST", "/echo/7?n=3", "application/json", `{"name":"a"}`, 200, `{"id":7,"name":"a","n":3}`},
		{"form content type still json", "POST", "/echo/7", "application/x-www-form-urlencoded", `{"name":"b"}`, 200, `"name":"b"`},
		{"empty body", "POST", "/echo/1", "", ``, 200, `"id":1`},
		{"malformed", "POST", "/echo/1", "", `{"name":`, 400, `"invalid_argument"`},
		{"not json", "POST", "/echo/1", "", `name=x`, 400, `"invalid_argument"`},
		{"wrong type", "POST", "/echo/1", "", `{"name":5}`, 400, `"invalid_argument"`},
		{"trailing data", "POST", "/echo/1", "", `{"name":"a"} {}`, 400, `"invalid_argument"`},
		{"duplicate key", "POST", "/echo/1", "", `{"name":"a","name":"b"}`, 400, `duplicate key`},
		{"nested duplicate", "POST", "/echo/1", "", `{"x":{"a":1,"a":2}}`, 400, `duplicate key`},
		{"same key in sibling objects ok", "POST", "/echo/1", "", `{"x":[{"a":1},{"a":2}],"name":"c"}`, 200, `"name":"c"`},
		{"id zero", "POST", "/echo/0", "", ``, 400, `"invalid_argument"`},
		{"id negative", "POST", "/echo/-3", "", ``, 400, `"invalid_argument"`},
		{"id not a number", "POST", "/echo/abc", "", ``, 400, `"invalid_argument"`},
		{"id overflow", "POST", "/echo/99999999999999999999999", "", ``, 400, `"invalid_argument"`},
		{"bad query", "POST", "/echo/1?n=x", "", ``, 400, `"invalid_argument"`},
		{"unknown route", "GET", "/nope", "", ``, 404, `"endpoint not found"`},
		{"wrong method", "PUT", "/echo/1", "", ``, 404, `"not_found"`},
		{"delete empty body", "DELETE", "/thing/3", "", ``, 200, ``},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			status, body := do(t, tc.method, srv.URL+tc.path, tc.ctype, tc.body)
			if status != tc.status || !strings.Contains(body, tc.want) {
				t.Fatalf("got %d %s, want %d containing %s", status, body, tc.status, tc.want)
			}
			if tc.want == "" && body != "" {
				t.Fatalf("body = %q, want empty", body)
			}
		})
	}
}

func TestBodyTooLarge(t *testing.T) {
	srv := newServer(t)
	big := `{"name":"` + strings.Repeat("x", api.MaxBodyBytes) + `"}`
	status, body := do(t, "POST", srv.URL+"/echo/1", "", big)
	if status != http.StatusRequestEntityTooLarge || !strings.Contains(body, `"resource_exhausted"`) {
		t.Fatalf("got %d %s", status, body)
	}

	// Without a Content-Length the limit still holds while streaming.
	pr, pw := io.Pipe()
	go func() {
		defer pw.Close()
		chunk := strings.Repeat("y", 64<<10)
		_, _ = io.WriteString(pw, `{"name":"`)
		for range 40 { // 2.5 MiB, more than the limit
			if _, err := io.WriteString(pw, chunk); err != nil {
				return
			}
		}
	}()
	req, _ := http.NewRequest("POST", srv.URL+"/echo/1", pr)
	resp, err := http.DefaultClient.Do(req)
	if err != nil {
		t.Fatal(err)
	}
	resp.Body.Close()
	if resp.StatusCode != http.StatusRequestEntityTooLarge {
		t.Fatalf("chunked: status %d", resp.StatusCode)
	}
}

func TestEndpointsListed(t *testing.T) {
	s := api.NewServer(nil)
	api.Register(s, "svc", api.Public, "POST /a", func(context.Context, *struct{}) (*struct{}, error) { return nil, nil })
	api.Register(s, "svc", api.Admin, "GET /admin/b", func(context.Context, *struct{}) (*struct{}, error) { return nil, nil })
	eps := s.Endpoints()
	if len(eps) != 2 || eps[0].Path != "/a" || !eps[0].Mutating || eps[1].Access != api.Admin || eps[1].Mutating {
		t.Fatalf("endpoints = %+v", eps)
	}
}

func FuzzDecodeJSON(f *testing.F) {
	for _, s := range []string{`{"name":"a"}`, `{"name":"a","name":"b"}`, `[`, `{"x":{"y":[1,{"z":2}]}}`, `""`, `{"name":1}`, strings.Repeat("[", 2000)} {
		f.Add([]byte(s))
	}
	f.Fuzz(func(t *testing.T, data []byte) {
		var dst echoReq
		err := api.DecodeJSON(data, &dst)
		if err == nil {
			return
		}
		e := api.AsError(err)
		if e.Code != api.InvalidArgument || e.Status() != http.StatusBadRequest {
			t.Fatalf("DecodeJSON(%q) = %v, want invalid_argument", data, err)
		}
		if len(e.Message) > 300 {
			t.Fatalf("error message too long (%d bytes): it may echo the input", len(e.Message))
		}
	})
}
