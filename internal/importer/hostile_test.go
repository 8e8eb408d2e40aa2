package importer

import (
	"strings"
	"testing"

	"upmon/notify/kinds"
)

// TestGatusHostile checks that malformed files are refused with one
// clear line naming the problem (and its line).
func TestGatusHostile(t *testing.T) {
	reg, err := kinds.Registry()
	if err != nil {
		t.Fatal(err)
	}
	bomb := "a: &a [x, x, x, x, x, x, x, x, x, x]\n"
	prev := "a"
	for _, n := range []string{"b", "c", "d", "e", "f", "g", "h"} {
		bomb += n + ": &" + n + " [" + strings.Repeat("*"+prev+", ", 9) + "*" + prev + "]\n"
		prev = n
	}
	deep := strings.Repeat("[", 200) + strings.Repeat("]", 200)
	for _, tc := range []struct{ name, doc, want string }{
		{"huge", "endpoints: []\n# " + strings.Repeat("x", MaxFileBytes), "more than the"},
		{"alias bomb", bomb, "alias bomb"},
		{"deep", "endpoints: " + deep, "line 1: nested more than 64 levels deep"},
		{"not a mapping", "- a\n- b\n", "line 1: the document must be a mapping"},
		{"endpoints not a list", "endpoints:\n  name: x\n", "line 2: endpoints: must be a list"},
		{"url not a string", "endpoints:\n  - name: x\n    url: [1, 2]\n", "line 3: endpoints[0] (x).url: must be a string"},
		{"headers wrong", "endpoints:\n  - name: x\n    url: https://a\n    headers: [a]\n", "line 4: endpoints[0] (x).headers: must be a mapping"},
		{"condition not a string", "endpoints:\n  - name: x\n    url: https://a\n    conditions:\n      - {a: b}\n", "line 5: endpoints[0] (x).conditions[0]: must be a string"},
		{"threshold not int", "alerting:\n  slack:\n    webhook-url: https://hooks.slack.com/services/a/b/c\nendpoints:\n  - name: x\n    url: https://a\n    alerts:\n      - type: slack\n        failure-threshold: lots\n", "line 9: endpoints[0] (x).alerts[0].failure-threshold: must be an integer"},
		{"bad yaml", "endpoints: [\n", "line 1: did not find"},
		{"bad start", "maintenance:\n  start: noon\n  duration: 1h\n", "line 2: maintenance.start"},
		{"empty", "", "empty"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			_, err := ParseGatus("g.yaml", []byte(tc.doc), reg)
			if err == nil || !strings.Contains(err.Error(), tc.want) || strings.Contains(err.Error(), "\n") {
				t.Fatalf("err = %v, want one line containing %q", err, tc.want)
			}
			if !strings.HasPrefix(err.Error(), "g.yaml: ") {
				t.Errorf("err %q does not name the file", err)
			}
		})
	}
}
