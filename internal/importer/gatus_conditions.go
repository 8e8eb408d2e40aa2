package importer

import (
	"fmt"
	"strconv"
	"strings"
	"time"
)

// condition is one parsed Gatus condition: left op right.
type condition struct {
	text, left, op, right string
	line                  int
	where                 string
}

// parseCondition splits "[STATUS] == 200"; ok is false when there is no
// comparison.
func parseCondition(s string) (left, op, right string, ok bool) {
	for _, o := range []string{"==", "!=", "<=", ">=", "<", ">"} {
		if i := strings.Index(s, " "+o+" "); i >= 0 {
			return strings.TrimSpace(s[:i]), o, strings.TrimSpace(s[i+len(o)+2:]), true
		}
	}
	return "", "", "", false
}

// conditions maps an endpoint's conditions to settings.
func (g *gatusParser) conditions(e *gatusEndpoint) error {
	var status *statusSet
	if e.conds != nil {
		list, err := asList(e.conds, e.where+".conditions")
		if err != nil {
			return err
		}
		for i, n := range list {
			where := fmt.Sprintf("%s.conditions[%d]", e.where, i)
			text, err := asString(n, where)
			if err != nil {
				return err
			}
			c := condition{text: text, line: n.Line, where: where}
			var ok bool
			c.left, c.op, c.right, ok = parseCondition(text)
			if !ok {
				g.plan.lose(c.line, where, text, "not a comparison upmon understands")
				continue
			}
			if c.left == "[STATUS]" && e.kind == "http" {
				if status == nil {
					status = newStatusSet()
				}
				if !status.apply(c.op, c.right) {
					g.plan.lose(c.line, where, text, "not a status comparison upmon can express")
				}
				continue
			}
			g.condition(e, c)
		}
	}
	if e.kind == "http" {
		if status == nil {
			// Gatus judges the status only when a condition says so.
			e.fields["expected_status"] = []string{"100-599"}
			return nil
		}
		ranges := status.ranges()
		switch {
		case len(ranges) == 0:
			g.plan.lose(e.line, e.where+".conditions", "", "no status satisfies every [STATUS] condition: the site keeps upmon's default 200-399")
		case len(ranges) > 20:
			g.plan.lose(e.line, e.where+".conditions", "", "the [STATUS] conditions allow more than 20 separate ranges: the site keeps upmon's default 200-399")
		default:
			e.fields["expected_status"] = ranges
		}
	}
	return nil
}

// condition maps one condition other than [STATUS] of an http check.
func (g *gatusParser) condition(e *gatusEndpoint, c condition) {
	lose := func(why string) { g.plan.lose(c.line, c.where, c.text, why) }
	switch {
	case c.left == "[RESPONSE_TIME]":
		ms, err := strconv.Atoi(c.right)
		if err != nil || ms <= 0 || (c.op != "<" && c.op != "<=") {
			lose("upmon has only an upper bound on latency ([RESPONSE_TIME] < N)")
			return
		}
		e.fields["max_latency"] = (time.Duration(ms) * time.Millisecond).String()
		g.plan.note(c.line, c.where, c.text, "becomes max_latency: a slower answer makes the site degraded (its own alert), not down")
	case c.left == "[CERTIFICATE_EXPIRATION]":
		if e.kind != "http" || !strings.HasPrefix(strings.ToLower(e.rawURL), "https://") || c.op != ">" {
			lose("upmon reads certificates of https checks only, and warns as they near expiry")
			return
		}
		g.plan.note(c.line, c.where, c.text, "upmon's built-in certificate warning: a cert-expiring event at 14 and 3 days left, the site stays up")
	case c.left == "[CONNECTED]":
		if (e.kind == "tcp" || e.kind == "dns") && c.op == "==" && c.right == "true" {
			return // what a tcp or dns check does
		}
		lose("upmon's tcp and dns checks are down when they cannot connect; no other use")
	case c.left == "[DNS_RCODE]":
		if e.kind == "dns" && c.op == "==" && c.right == "NOERROR" {
			return // a dns check is down when the name does not resolve
		}
		lose("upmon's dns checks are up when the name resolves (NOERROR); no other rcode")
	case c.left == "[BODY]" && e.kind == "dns":
		if c.op != "==" || strings.ContainsAny(c.right, "()[]") {
			lose("upmon's dns checks expect one answer to be a given value")
			return
		}
		e.fields["url"] = e.fields["url"].(string) + "&expect=" + c.right
	case c.left == "[BODY]" && e.kind == "http":
		g.keyword(e, c)
	case strings.HasPrefix(c.left, "[BODY].") && e.kind == "http":
		g.jsonAssertion(e, c, "$"+strings.TrimPrefix(c.left, "[BODY]"), c.op, c.right)
	case strings.HasPrefix(c.left, "has([BODY]") && strings.HasSuffix(c.left, ")") && e.kind == "http" && c.op == "==" && c.right == "true":
		path := "$" + strings.TrimSuffix(strings.TrimPrefix(c.left, "has([BODY]"), ")")
		g.jsonAssertion(e, c, path, "exists", "")
	default:
		lose("no upmon equivalent for this placeholder or function")
	}
}

// keyword maps [BODY] == pat(*text*) (and !=) to a keyword.
func (g *gatusParser) keyword(e *gatusEndpoint, c condition) {
	inner, ok := strings.CutPrefix(c.right, "pat(")
	inner, ok2 := strings.CutSuffix(inner, ")")
	text := strings.TrimSuffix(strings.TrimPrefix(inner, "*"), "*")
	if !ok || !ok2 || text == "" || strings.ContainsAny(text, "*?") || !strings.HasPrefix(inner, "*") || !strings.HasSuffix(inner, "*") || (c.op != "==" && c.op != "!=") {
		g.plan.lose(c.line, c.where, c.text, "upmon matches the body against one keyword (pat(*text*)) only")
		return
	}
	if _, dup := e.fields["keyword"]; dup {
		g.plan.lose(c.line, c.where, c.text, "upmon has one keyword per site; the first is kept")
		return
	}
	e.fields["keyword"] = text
	if c.op == "!=" {
		e.fields["keyword_mode"] = "absent"
	}
}

// jsonAssertion adds a json_path assertion.
func (g *gatusParser) jsonAssertion(e *gatusEndpoint, c condition, path, op, right string) {
	if strings.ContainsAny(right, "[]") || strings.HasPrefix(right, "any(") || strings.HasPrefix(right, "pat(") || strings.HasPrefix(right, "len(") {
		g.plan.lose(c.line, c.where, c.text, "upmon compares a JSON path with one literal value")
		return
	}
	if strings.ContainsAny(path, "()") || strings.Contains(path, "[BODY]") {
		g.plan.lose(c.line, c.where, c.text, "upmon's json_path takes a plain path")
		return
	}
	a := map[string]any{"path": path, "op": op}
	if op != "exists" {
		a["value"] = literal(right)
	}
	list, _ := e.fields["json_path"].([]any)
	if len(list) >= 20 {
		g.plan.lose(c.line, c.where, c.text, "upmon allows 20 json_path assertions per site")
		return
	}
	e.fields["json_path"] = append(list, a)
}

// literal is a condition's right side as a JSON value: a number when it
// reads as one, else the text (upmon compares text with text).
func literal(s string) any {
	if i, err := strconv.ParseInt(s, 10, 64); err == nil {
		return i
	}
	if f, err := strconv.ParseFloat(s, 64); err == nil {
		return f
	}
	return s
}

// statusSet is the set of HTTP statuses 100-599 the [STATUS] conditions
// allow.
type statusSet struct{ ok [600]bool }

func newStatusSet() *statusSet {
	s := &statusSet{}
	for i := 100; i < 600; i++ {
		s.ok[i] = true
	}
	return s
}

// apply narrows the set by one condition; false when it cannot be read.
func (s *statusSet) apply(op, right string) bool {
	var allowed func(int) bool
	if inner, ok := strings.CutPrefix(right, "any("); ok && op == "==" {
		set := map[int]bool{}
		for _, p := range strings.Split(strings.TrimSuffix(inner, ")"), ",") {
			n, err := strconv.Atoi(strings.TrimSpace(p))
			if err != nil {
				return false
			}
			set[n] = true
		}
		allowed = func(c int) bool { return set[c] }
	} else {
		n, err := strconv.Atoi(right)
		if err != nil {
			return false
		}
		allowed = map[string]func(int) bool{
			"==": func(c int) bool { return c == n }, "!=": func(c int) bool { return c != n },
			"<": func(c int) bool { return c < n }, "<=": func(c int) bool { return c <= n },
			">": func(c int) bool { return c > n }, ">=": func(c int) bool { return c >= n },
		}[op]
	}
	for c := 100; c < 600; c++ {
		s.ok[c] = s.ok[c] && allowed(c)
	}
	return true
}

// ranges renders the set as upmon's expected_status ("200", "200-299").
func (s *statusSet) ranges() []string {
	out := []string{}
	for c := 100; c < 600; c++ {
		if !s.ok[c] {
			continue
		}
		end := c
		for end+1 < 600 && s.ok[end+1] {
			end++
		}
		if end == c {
			out = append(out, strconv.Itoa(c))
		} else {
			out = append(out, fmt.Sprintf("%d-%d", c, end))
		}
		c = end
	}
	return out
}
