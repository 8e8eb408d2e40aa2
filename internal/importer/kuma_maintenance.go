package importer

import (
	"encoding/json"
	"fmt"
	"strings"
	"time"
)

// kumaWindows maps one maintenance: "single" to one window, "recurring-
// weekday" to weekly windows; other strategies are losses.
func kumaWindows(p *Plan, r *row, monitors []int64, keys map[int64]string) {
	title := r.str("title")
	r.where = fmt.Sprintf("%s (%s)", r.where, title)
	if !r.flag("active") {
		p.note(r.line, r.where, "", "inactive in Kuma: not imported")
		return
	}
	var sites []string
	for _, id := range monitors {
		if k, ok := keys[id]; ok {
			sites = append(sites, k)
		}
	}
	if len(sites) == 0 {
		p.lose(r.line, r.where, "", "covers no imported monitor: not imported")
		return
	}
	tz := r.str("timezone")
	if tz == "" || tz == "SAME_AS_SERVER" {
		p.note(r.line, r.where+".timezone", tz, "read as UTC (the Kuma server's zone is not in the file)")
		tz = "UTC"
	}
	loc, err := time.LoadLocation(tz)
	if err != nil {
		p.lose(r.line, r.where+".timezone", tz, "unknown time zone: not imported")
		return
	}
	var windows []*Window
	switch strategy := r.str("strategy"); strategy {
	case "single":
		start, err1 := parseKumaTime(r.str("start_date"), loc)
		end, err2 := parseKumaTime(r.str("end_date"), loc)
		if err1 != nil || err2 != nil || !end.After(start) {
			p.lose(r.line, r.where, "", "no valid start and end dates: not imported")
			return
		}
		windows = []*Window{{Line: r.line, Start: start, End: end}}
	case "recurring-weekday":
		var days []int
		if err := json.Unmarshal([]byte(r.str("weekdays")), &days); err != nil {
			p.lose(r.line, r.where+".weekdays", "", "not a list of days: not imported")
			return
		}
		st, err1 := time.Parse("15:04", trimSeconds(r.str("start_time")))
		en, err2 := time.Parse("15:04", trimSeconds(r.str("end_time")))
		if err1 != nil || err2 != nil {
			p.lose(r.line, r.where, "", "no valid start and end times: not imported")
			return
		}
		d := en.Sub(st)
		if d <= 0 {
			d += 24 * time.Hour
		}
		for i := range days {
			days[i] = (days[i] + 6) % 7 // Kuma: 0 is Sunday, 1 Monday; here 0 is Monday
		}
		windows, err = weeklyWindows(r.line, st.Format("15:04"), d.String(), tz, days)
		if err != nil {
			p.lose(r.line, r.where, "", err.Error())
			return
		}
		if hasDST(loc) {
			p.note(r.line, r.where+".timezone", tz, "upmon repeats a window every 7 days in UTC: across daylight-saving changes it moves by an hour")
		}
		r.get("cron")
		r.get("duration")
	default:
		p.lose(r.lineOf("strategy"), r.where+".strategy", strategy, "upmon's windows are one-off or weekly: not imported")
		return
	}
	for _, w := range windows {
		w.Where, w.Sites, w.Note = r.where, sites, title
	}
	p.Windows = append(p.Windows, windows...)
	r.leftovers(p, "no upmon equivalent", "id", "title", "user_id", "active", "last_start_date", "days_of_month", "interval_day", "description")
}

func trimSeconds(s string) string {
	if strings.Count(s, ":") == 2 {
		return s[:strings.LastIndex(s, ":")]
	}
	return s
}

// parseKumaTime reads Kuma's "2006-01-02 15:04:05" (or without seconds,
// or RFC 3339) in loc.
func parseKumaTime(s string, loc *time.Location) (time.Time, error) {
	s = strings.TrimSpace(s)
	for _, layout := range []string{"2006-01-02 15:04:05", "2006-01-02 15:04", "2006-01-02T15:04:05", "2006-01-02T15:04"} {
		if t, err := time.ParseInLocation(layout, s, loc); err == nil {
			return t.UTC(), nil
		}
	}
	t, err := time.Parse(time.RFC3339, s)
	return t.UTC(), err
}
