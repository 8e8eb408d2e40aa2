package importer

import (
	"fmt"
	"sort"
	"strings"
	"time"

	"go.yaml.in/yaml/v3"
)

// refMonday is the week recurring windows are anchored in: a weekly
// window starts on its weekday of this week (a fixed date, so a second
// import plans the same windows).
var refMonday = time.Date(2024, 1, 1, 0, 0, 0, 0, time.UTC)

var weekdays = map[string]int{"monday": 0, "tuesday": 1, "wednesday": 2, "thursday": 3, "friday": 4, "saturday": 5, "sunday": 6}

// maintenance maps Gatus's maintenance (a daily or weekday window that
// covers every endpoint) to weekly windows over the imported sites.
func (g *gatusParser) maintenance(n *yaml.Node) error {
	const where = "maintenance"
	if err := asMap(n, where); err != nil {
		return err
	}
	var start, dur, tz string
	var days []int
	enabled := true
	for _, f := range fields(n) {
		at := where + "." + f.key
		var err error
		switch f.key {
		case "enabled":
			enabled, err = asBool(f.val, at)
		case "start":
			start, err = asString(f.val, at)
		case "duration":
			dur, err = asString(f.val, at)
		case "timezone":
			tz, err = asString(f.val, at)
		case "every":
			var list []*yaml.Node
			if list, err = asList(f.val, at); err != nil {
				return err
			}
			for i, d := range list {
				name, err := asString(d, fmt.Sprintf("%s[%d]", at, i))
				if err != nil {
					return err
				}
				wd, ok := weekdays[strings.ToLower(name)]
				if !ok {
					return fmt.Errorf("line %d: %s[%d]: %q is not a day of the week", d.Line, at, i, name)
				}
				days = append(days, wd)
			}
		default:
			g.plan.lose(f.line, at, "", "no upmon equivalent")
		}
		if err != nil {
			return err
		}
	}
	if !enabled {
		g.plan.note(n.Line, where, "enabled: false", "a disabled window is not imported")
		return nil
	}
	windows, err := weeklyWindows(n.Line, start, dur, tz, days)
	if err != nil {
		return err
	}
	var keys []string
	for _, st := range g.plan.Sites {
		keys = append(keys, st.Key)
	}
	if len(keys) == 0 {
		g.plan.lose(n.Line, where, "", "no endpoint was imported for the window to cover")
		return nil
	}
	for _, w := range windows {
		w.Sites = keys
		w.Where = where
		w.Note = "imported from Gatus"
	}
	g.plan.Windows = append(g.plan.Windows, windows...)
	if loc, _ := time.LoadLocation(tz); loc != nil && hasDST(loc) {
		g.plan.note(n.Line, where+".timezone", tz, "upmon repeats a window every 7 days in UTC: across daylight-saving changes it moves by an hour")
	}
	return nil
}

// weeklyWindows builds one weekly window per day (every day when days is
// empty) starting at start ("HH:MM") in tz for dur.
func weeklyWindows(line int, start, dur, tz string, days []int) ([]*Window, error) {
	hm, err := time.Parse("15:04", start)
	if err != nil {
		return nil, fmt.Errorf("line %d: maintenance.start: must be a time like 23:00", line)
	}
	d, err := time.ParseDuration(dur)
	if err != nil || d <= 0 {
		return nil, fmt.Errorf("line %d: maintenance.duration: must be a duration like 1h", line)
	}
	if d >= 7*24*time.Hour {
		return nil, fmt.Errorf("line %d: maintenance.duration: must be less than a week", line)
	}
	loc := time.UTC
	if tz != "" {
		if loc, err = time.LoadLocation(tz); err != nil {
			return nil, fmt.Errorf("line %d: maintenance.timezone: unknown time zone %q", line, tz)
		}
	}
	if len(days) == 0 {
		days = []int{0, 1, 2, 3, 4, 5, 6}
	}
	sort.Ints(days)
	var out []*Window
	for i, day := range days {
		if i > 0 && day == days[i-1] {
			continue
		}
		at := refMonday.AddDate(0, 0, day)
		s := time.Date(at.Year(), at.Month(), at.Day(), hm.Hour(), hm.Minute(), 0, 0, loc).UTC()
		out = append(out, &Window{Line: line, Start: s, End: s.Add(d), Recurrence: "weekly"})
	}
	return out, nil
}

// hasDST reports whether loc's offset changes within a year.
func hasDST(loc *time.Location) bool {
	_, jan := time.Date(2024, 1, 1, 0, 0, 0, 0, loc).Zone()
	_, jul := time.Date(2024, 7, 1, 0, 0, 0, 0, loc).Zone()
	return jan != jul
}

// sortedKeys returns m's keys sorted.
func sortedKeys[V any](m map[string]V) []string {
	out := make([]string, 0, len(m))
	for k := range m {
		out = append(out, k)
	}
	sort.Strings(out)
	return out
}
