package web

import (
	"math"
	"strconv"
	"strings"
	"time"
)

// num formats a coordinate compactly (one decimal at most).
func num(v float64) string {
	return strconv.FormatFloat(math.Round(v*10)/10, 'f', -1, 64)
}

// stripView is the strip of a site's recent checks: one bar per check.
type stripView struct {
	// Up and Down are SVG path data of the good and failed bars.
	Up, Down string
	// Label describes the strip in words.
	Label string
	// Data encodes the outcomes for the script, oldest first ("1" up).
	Data string
}

const (
	stripBars = 30
	stripBarW = 3
	stripGap  = 1
	stripH    = 16
)

func newStrip(recent []RecentCheck) stripView {
	if len(recent) > stripBars {
		recent = recent[len(recent)-stripBars:]
	}
	var up, down, data strings.Builder
	nUp := 0
	off := stripBars - len(recent) // right-align: the newest is last
	for i, c := range recent {
		x := (off + i) * (stripBarW + stripGap)
		b := &down
		if c.Up {
			b, nUp = &up, nUp+1
			data.WriteByte('1')
		} else {
			data.WriteByte('0')
		}
		b.WriteString("M")
		b.WriteString(strconv.Itoa(x))
		b.WriteString(" 0h3v16h-3z")
	}
	label := "No checks yet"
	if len(recent) > 0 {
		label = "Last " + strconv.Itoa(len(recent)) + " checks: " + strconv.Itoa(nUp) + " up, " + strconv.Itoa(len(recent)-nUp) + " down"
	}
	return stripView{Up: up.String(), Down: down.String(), Label: label, Data: data.String()}
}

// sparkView is a small response-time line.
type sparkView struct {
	// Points is the polyline's points attribute.
	Points string
	// Label describes the line in words.
	Label string
	// Data lists the latencies for the script, oldest first.
	Data string
}

const (
	sparkW = 100
	sparkH = 20
)

func newSpark(recent []RecentCheck) sparkView {
	if len(recent) > stripBars {
		recent = recent[len(recent)-stripBars:]
	}
	if len(recent) == 0 {
		return sparkView{Label: "No response times yet"}
	}
	lo, hi := recent[0].LatencyMS, recent[0].LatencyMS
	for _, c := range recent {
		lo, hi = min(lo, c.LatencyMS), max(hi, c.LatencyMS)
	}
	top := float64(max(hi, 1))
	var pts, data strings.Builder
	step := float64(sparkW) / float64(stripBars-1)
	off := stripBars - len(recent)
	for i, c := range recent {
		if i > 0 {
			pts.WriteByte(' ')
			data.WriteByte(',')
		}
		x := float64(off+i) * step
		y := 1 + (sparkH-2)*(1-float64(c.LatencyMS)/top)
		pts.WriteString(num(x) + "," + num(y))
		data.WriteString(strconv.FormatInt(c.LatencyMS, 10))
	}
	return sparkView{
		Points: pts.String(),
		Label:  "Response time of the last " + strconv.Itoa(len(recent)) + " checks: " + strconv.FormatInt(lo, 10) + " to " + strconv.FormatInt(hi, 10) + " ms",
		Data:   data.String(),
	}
}

// chartView is the site page's response-time chart, laid out in a
// 720×260 view box.
type chartView struct {
	W, H           int
	X0, Y0, X1, Y1 float64 // plot area
	PlotH, MidX    float64
	YLabelX        float64 // right edge of the y tick labels
	XLabelY        float64 // baseline of the x tick labels
	XTickEnd       float64
	YTicks, XTicks []tick
	P50, P95       string // path data
	Dots           []dot  // the median of each step, so lone points show
	Down           []band
	Hover          []hoverPoint
	Label          string
	Empty          bool
	Window         string
	From           string // the location the series is from ("": all)
}

type tick struct {
	Pos   float64
	At    float64 // where the label goes
	Label string
}

type dot struct{ X, Y float64 }

type band struct {
	X, W  float64
	Title string
}

type hoverPoint struct {
	X, Y, W float64
	Title   string
}

// windowDur returns the length of a chart window.
func windowDur(w string) time.Duration {
	switch w {
	case "7d":
		return 7 * 24 * time.Hour
	case "30d":
		return 30 * 24 * time.Hour
	}
	return 24 * time.Hour
}

// windowStep is the bucket size asked of SiteLatency for a window.
func windowStep(w string) string {
	switch w {
	case "7d":
		return "1h"
	case "30d":
		return "6h"
	}
	return "15m"
}

func stepDur(s string) time.Duration {
	d, err := time.ParseDuration(s)
	if err != nil || d <= 0 {
		return 15 * time.Minute
	}
	return d
}

// niceStep returns a 1-2-5 step that splits [0, hi] into about n parts.
func niceStep(hi float64, n int) float64 {
	if hi <= 0 {
		return 1
	}
	raw := hi / float64(n)
	mag := math.Pow(10, math.Floor(math.Log10(raw)))
	for _, m := range []float64{1, 2, 5, 10} {
		if raw <= m*mag {
			return m * mag
		}
	}
	return 10 * mag
}

func newChart(points []LatencyPoint, window, step string, now time.Time) chartView {
	c := chartView{W: 720, H: 260, X0: 56, Y0: 12, X1: 708, Y1: 224, Window: window}
	c.PlotH, c.MidX, c.YLabelX, c.XLabelY, c.XTickEnd = c.Y1-c.Y0, (c.X0+c.X1)/2, c.X0-6, c.Y1+17, c.Y1+5
	span := windowDur(window)
	end := now.UTC()
	start := end.Add(-span)
	st := stepDur(step)
	xOf := func(t time.Time) float64 {
		f := float64(t.Sub(start)) / float64(span)
		return c.X0 + math.Max(0, math.Min(1, f))*(c.X1-c.X0)
	}
	hi := 0.0
	n := 0
	for _, p := range points {
		if p.Count > 0 {
			n++
		}
		if p.Up > 0 {
			hi = math.Max(hi, p.P95MS)
		}
	}
	c.Empty = n == 0
	ystep := niceStep(hi, 4)
	top := ystep * math.Max(1, math.Ceil(hi/ystep))
	yOf := func(v float64) float64 { return c.Y1 - (v/top)*(c.Y1-c.Y0) }
	for v := 0.0; v <= top+ystep/2; v += ystep {
		c.YTicks = append(c.YTicks, tick{Pos: yOf(v), At: yOf(v) + 4, Label: strconv.FormatFloat(v, 'f', -1, 64)})
	}
	// Time ticks on round UTC hours or days.
	var every time.Duration
	format := "15:04"
	switch window {
	case "7d":
		every, format = 24*time.Hour, "Jan 2"
	case "30d":
		every, format = 5*24*time.Hour, "Jan 2"
	default:
		every = 4 * time.Hour
	}
	for t := start.Truncate(every).Add(every); !t.After(end); t = t.Add(every) {
		c.XTicks = append(c.XTicks, tick{Pos: xOf(t), At: xOf(t), Label: t.Format(format)})
	}
	var p50, p95 strings.Builder
	pen := false
	var prev time.Time
	bw := math.Max(1, float64(st)/float64(span)*(c.X1-c.X0))
	var worst float64
	for _, p := range points {
		if p.At.Before(start.Add(-st)) || p.At.After(end) {
			continue
		}
		x := xOf(p.At.Add(st / 2))
		if p.Down > 0 {
			c.Down = append(c.Down, band{X: math.Max(c.X0, x-bw/2), W: bw,
				Title: exactTime(p.At) + ": " + strconv.FormatInt(p.Down, 10) + " of " + strconv.FormatInt(p.Count, 10) + " checks failed"})
		}
		if p.Up == 0 {
			pen = false // latency is of successful checks: none here
			continue
		}
		cmd := "L"
		if !pen || p.At.Sub(prev) > st+st/2 {
			cmd = "M" // the series omits steps without checks
		}
		prev = p.At
		pen = true
		p50.WriteString(cmd + num(x) + " " + num(yOf(p.P50MS)))
		c.Dots = append(c.Dots, dot{X: x, Y: yOf(p.P50MS)})
		p95.WriteString(cmd + num(x) + " " + num(yOf(p.P95MS)))
		worst = math.Max(worst, p.MaxMS)
		c.Hover = append(c.Hover, hoverPoint{X: x - bw/2, Y: yOf(p.P95MS), W: bw,
			Title: exactTime(p.At) + ": median " + num(p.P50MS) + " ms, p95 " + num(p.P95MS) + " ms, max " + num(p.MaxMS) + " ms, " +
				strconv.FormatInt(p.Up, 10) + " up, " + strconv.FormatInt(p.Down, 10) + " down"})
	}
	c.P50, c.P95 = p50.String(), p95.String()
	if c.Empty {
		c.Label = "Response time over the last " + window + ": no checks in this window"
	} else {
		c.Label = "Response time over the last " + window + " in milliseconds: " + strconv.Itoa(n) +
			" intervals, highest p95 " + num(hi) + " ms, highest single check " + num(worst) + " ms"
	}
	return c
}

// badgeView is a shields-style badge.
type badgeView struct {
	Label, Value string
	Title        string
	Color        string
	LW, VW, W    int
	LX, VX       float64
}

// textWidth estimates the width in pixels of s in 11 px Verdana.
func textWidth(s string) int {
	w := 0.0
	for _, r := range s {
		switch {
		case strings.ContainsRune("il.:,;|!'I ", r):
			w += 3.8
		case strings.ContainsRune("fjrt()[]-", r):
			w += 4.9
		case strings.ContainsRune("mwMW%", r):
			w += 10.5
		case r >= 'A' && r <= 'Z':
			w += 7.6
		default:
			w += 7
		}
	}
	return int(math.Ceil(w))
}

// badgeColors maps states to badge colours.
var badgeColors = map[string]string{
	StateUp:       "#2e7d32",
	StateDown:     "#c62828",
	StateDegraded: "#b45309",
	StateUnknown:  "#616161",
	"paused":      "#616161",
}

func newBadge(label, value, color, title string) badgeView {
	if len([]rune(label)) > 40 {
		label = string([]rune(label)[:40])
	}
	b := badgeView{Label: label, Value: value, Color: color, Title: title}
	b.LW = textWidth(label) + 10
	b.VW = textWidth(value) + 10
	b.W = b.LW + b.VW
	b.LX = float64(b.LW) / 2
	b.VX = float64(b.LW) + float64(b.VW)/2
	return b
}

// uptimeColor picks a badge colour for an uptime percentage.
func uptimeColor(p *float64) string {
	switch {
	case p == nil:
		return badgeColors[StateUnknown]
	case *p >= 99.9:
		return "#2e7d32"
	case *p >= 99:
		return "#558b2f"
	case *p >= 95:
		return "#b45309"
	}
	return "#c62828"
}
