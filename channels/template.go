package channels

import (
	"errors"
	"fmt"
	"regexp"
	"strings"
	"text/template"
	"text/template/parse"

	"upmon/notify"
	"upmon/platform/api"
)

// Template limits.
const (
	// MaxTemplateBytes caps a template's source.
	MaxTemplateBytes = 4 << 10
	// MaxOutputBytes caps a rendered message.
	MaxOutputBytes = 4 << 10
)

// templateFuncs is the whole list of functions a template may call
// beyond the harmless builtins (and, or, not, eq, ne, lt, le, gt, ge, len,
// index, slice, print, html, js, urlquery); printf and call are replaced
// by functions that refuse.
func templateFuncs() template.FuncMap {
	refuse := func(name string) func(...any) (string, error) {
		return func(...any) (string, error) { return "", fmt.Errorf("%s is not available in templates", name) }
	}
	return template.FuncMap{
		"upper": strings.ToUpper,
		"lower": strings.ToLower,
		"trunc": func(n int, s string) string { return notify.Truncate(s, n) },
		"default": func(def, v string) string {
			if v == "" {
				return def
			}
			return v
		},
		"printf":  refuse("printf"),
		"println": refuse("println"),
		"call":    refuse("call"),
	}
}

var lineRE = regexp.MustCompile(`^template: [^:]*:(\d+):(?:\d+:)? ?`)

// ParseTemplate parses a channel template. Its data is a map of strings
// (see TemplateData); it cannot read files or the environment, define or
// include templates, loop (range), or call functions other than
// templateFuncs'. Errors are invalid_argument on "template" with the line.
func ParseTemplate(src string) (*template.Template, error) {
	if src == "" {
		return nil, nil
	}
	if len(src) > MaxTemplateBytes {
		return nil, api.FieldError("template", "at most %d bytes", MaxTemplateBytes)
	}
	t, err := template.New("t").Option("missingkey=error").Funcs(templateFuncs()).Parse(src)
	if err != nil {
		return nil, templateError(err)
	}
	if len(t.Templates()) > 1 {
		return nil, api.FieldError("template", "define and block are not allowed")
	}
	if err := checkNodes(t.Root, src); err != nil {
		return nil, err
	}
	return t, nil
}

func templateError(err error) error {
	msg := err.Error()
	if m := lineRE.FindStringSubmatch(msg); m != nil {
		return api.FieldError("template", "line %s: %s", m[1], msg[len(m[0]):])
	}
	return api.FieldError("template", "%s", strings.TrimPrefix(msg, "template: "))
}

// checkNodes refuses range and template actions (the data holds no lists;
// loops over integers and recursion could run unbounded).
func checkNodes(n parse.Node, src string) error {
	switch t := n.(type) {
	case *parse.ListNode:
		if t == nil {
			return nil
		}
		for _, c := range t.Nodes {
			if err := checkNodes(c, src); err != nil {
				return err
			}
		}
	case *parse.RangeNode:
		return api.FieldError("template", "line %d: range is not allowed", lineOf(src, t.Position()))
	case *parse.TemplateNode:
		return api.FieldError("template", "line %d: template is not allowed", lineOf(src, t.Position()))
	case *parse.IfNode:
		return first(checkNodes(t.List, src), checkNodes(t.ElseList, src))
	case *parse.WithNode:
		return first(checkNodes(t.List, src), checkNodes(t.ElseList, src))
	}
	return nil
}

func first(errs ...error) error {
	for _, e := range errs {
		if e != nil {
			return e
		}
	}
	return nil
}

func lineOf(src string, pos parse.Pos) int {
	return 1 + strings.Count(src[:min(int(pos), len(src))], "\n")
}

// TemplateData is what a template sees: strings only, so nothing in it
// has methods to call. Fields: Site (name, else URL), Name, URL (without
// credentials), Event, State, Reason, Duration, Incident, Link, Time
// (UTC, RFC 3339), Test ("true" or ""), Sites (a grouped message's
// lines, one per site).
func TemplateData(m notify.Message) map[string]string {
	d := map[string]string{"Site": m.Label(), "Name": m.SiteName, "URL": m.URL, "Event": string(m.Event),
		"State": m.State, "Reason": m.Reason, "Duration": "", "Incident": m.IncidentID, "Link": m.IncidentLink,
		"Time": "", "Test": "", "Sites": ""}
	if m.Duration > 0 {
		d["Duration"] = notify.FormatDuration(m.Duration)
	}
	if !m.Time.IsZero() {
		d["Time"] = m.Time.UTC().Format("2006-01-02T15:04:05Z")
	}
	if m.Test {
		d["Test"] = "true"
	}
	if len(m.Group) > 0 {
		lines := make([]string, 0, len(m.Group))
		for _, g := range m.Group {
			lines = append(lines, notify.GroupLine(g))
		}
		d["Sites"] = strings.Join(lines, "\n")
		d["Site"] = fmt.Sprintf("%d sites", len(m.Group))
	}
	return d
}

var errTooLong = errors.New("output too long")

type capWriter struct {
	b   strings.Builder
	max int
}

func (w *capWriter) Write(p []byte) (int, error) {
	if w.b.Len()+len(p) > w.max {
		return 0, errTooLong
	}
	return w.b.Write(p)
}

// Render executes t over m's data, capped at MaxOutputBytes (a longer
// output is cut, ending with "…").
func Render(t *template.Template, m notify.Message) (string, error) {
	w := &capWriter{max: MaxOutputBytes}
	err := t.Execute(w, TemplateData(m))
	if errors.Is(err, errTooLong) {
		return w.b.String() + "…", nil
	}
	if err != nil {
		return "", err
	}
	return w.b.String(), nil
}
