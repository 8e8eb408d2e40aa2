package catalog

import (
	"bytes"
	"fmt"
	"html"
	"slices"
	"strings"
	"time"
)

// DiagramOptions configures Diagram.
type DiagramOptions struct {
	// Live adds empty counter labels on the publish and subscribe arrows
	// (ids "pub:<service>:<topic>" and "sub:<subscription>") for a page to
	// fill from the live stream. The committed picture leaves them out.
	Live bool
}

// Layout constants of the diagram, in SVG user units. The picture is
// bounded to about dMaxW wide: services wrap into two rows (above and
// below the topics) and topics wrap into as many rows as they need, so
// that it reads at its natural size on a laptop screen.
const (
	dMargin   = 20
	dMaxW     = 1200
	dSvcW     = 222
	dSvcGap   = 36
	dTopicW   = 152
	dTopicGap = 10
	dTopicRow = 12 // vertical gap between rows of topics
	dLine     = 16
	dCallsH   = 120 // room above (and below) the services for the call arcs
	dFlowH    = 130 // room between services and topics for the arrows
)

// layout holds where every box of the diagram sits.
type layout struct {
	width, height int
	svcX, svcY    map[string]float64
	svcH          int
	bottom        map[string]bool // services in the row below the topics
	topicX        map[string]float64
	topicY        map[string]float64
	topicH        int
	legendY       int
}

// place lays out services and topics: one row of services if it fits in
// dMaxW, else two rows with the topics between them.
func place(c *Catalog, services []Service, topics []Topic) layout {
	l := layout{svcX: map[string]float64{}, svcY: map[string]float64{}, bottom: map[string]bool{},
		topicX: map[string]float64{}, topicY: map[string]float64{}}
	inner := dMaxW - 2*dMargin
	perRow := len(services)
	if perRow*(dSvcW+dSvcGap)-dSvcGap > inner {
		perRow = (len(services) + 1) / 2
	}
	topicsPerRow := max(1, min(len(topics), (inner+dTopicGap)/(dTopicW+dTopicGap)))
	topicRows := (len(topics) + topicsPerRow - 1) / topicsPerRow
	svcRowW := perRow*(dSvcW+dSvcGap) - dSvcGap
	topicRowW := topicsPerRow*(dTopicW+dTopicGap) - dTopicGap
	l.width = dMargin*2 + max(svcRowW, topicRowW)
	for _, s := range services {
		l.svcH = max(l.svcH, serviceHeight(s))
	}
	l.topicH = 0
	for _, t := range topics {
		l.topicH = max(l.topicH, topicHeight(t))
	}
	topY := float64(dMargin + dCallsH)
	bandY := topY + float64(l.svcH+dFlowH)
	bandH := topicRows*(l.topicH+dTopicRow) - dTopicRow
	botY := bandY + float64(bandH+dFlowH)
	// Services of a row spread over the full width, in order.
	rowX := func(i, n int) float64 {
		if n <= 1 {
			return float64(l.width-dSvcW) / 2
		}
		step := float64(l.width-2*dMargin-dSvcW) / float64(n-1)
		return float64(dMargin) + float64(i)*min(step, float64(dSvcW+dSvcGap)*1.6)
	}
	for i, s := range services {
		row, col, n := 0, i, min(perRow, len(services))
		if i >= perRow {
			row, col, n = 1, i-perRow, len(services)-perRow
		}
		l.svcX[s.Name] = rowX(col, n)
		l.svcY[s.Name] = topY
		if row == 1 {
			l.svcY[s.Name] = botY
			l.bottom[s.Name] = true
		}
	}
	for i, t := range topics {
		r, col := i/topicsPerRow, i%topicsPerRow
		n := min(topicsPerRow, len(topics)-r*topicsPerRow)
		left := float64(l.width-(n*(dTopicW+dTopicGap)-dTopicGap)) / 2
		l.topicX[t.Name] = left + float64(col*(dTopicW+dTopicGap))
		l.topicY[t.Name] = bandY + float64(r*(l.topicH+dTopicRow))
	}
	end := bandY + float64(bandH)
	if perRow < len(services) {
		end = botY + float64(l.svcH)
		if callsWithin(c.Calls, l.bottom) {
			end += dCallsH
		}
	}
	l.height = int(end) + dMargin + 36
	l.legendY = l.height - dMargin
	return l
}

// callsWithin reports whether a call joins two services of the bottom row.
func callsWithin(calls []Call, bottom map[string]bool) bool {
	for _, c := range calls {
		if bottom[c.From] && bottom[c.To] {
			return true
		}
	}
	return false
}

// Diagram draws the architecture from the catalog as a deterministic SVG:
// services as boxes with their databases and cron jobs, topics as dark
// boxes between the rows of services, arrows for publish (solid) and
// subscribe (dashed), and arcs for the declared calls. It uses no live
// figure and no time, so the same wiring always gives the same bytes.
func Diagram(c *Catalog, opts DiagramOptions) []byte {
	services := orderServices(c)
	topics := orderTopics(c, services)
	l := place(c, services, topics)
	width, height := l.width, l.height

	var b bytes.Buffer
	fmt.Fprintf(&b, `<svg xmlns="http://www.w3.org/2000/svg" viewBox="0 0 %d %d" width="%d" height="%d" role="img" aria-labelledby="arch-title" font-family="system-ui, -apple-system, Segoe UI, sans-serif" font-size="13">`+"\n", width, height, width, height)
	b.WriteString(`<title id="arch-title">upmon architecture: services, topics, subscriptions, calls and cron jobs, drawn from the catalog</title>` + "\n")
	b.WriteString(`<defs><marker id="arrow" viewBox="0 0 10 10" refX="9" refY="5" markerWidth="7" markerHeight="7" orient="auto-start-reverse"><path d="M0,0 L10,5 L0,10 z" fill="context-stroke"/></marker></defs>` + "\n")
	fmt.Fprintf(&b, `<rect width="%d" height="%d" fill="#ffffff"/>`+"\n", width, height)
	drawCalls(&b, c.Calls, l)
	for _, s := range services {
		drawService(&b, s, l.svcX[s.Name], l.svcY[s.Name], l.svcH)
	}
	drawFlows(&b, services, l, opts)
	for _, t := range topics {
		drawTopic(&b, t, l.topicX[t.Name], l.topicY[t.Name], l.topicH)
	}
	legendY := l.legendY
	fmt.Fprintf(&b, `<g font-size="12" fill="#444"><line x1="%d" y1="%d" x2="%d" y2="%d" stroke="#2563eb" stroke-width="2" marker-end="url(#arrow)"/><text x="%d" y="%d">publishes</text>`,
		dMargin, legendY-4, dMargin+40, legendY-4, dMargin+48, legendY)
	fmt.Fprintf(&b, `<line x1="%d" y1="%d" x2="%d" y2="%d" stroke="#059669" stroke-width="2" stroke-dasharray="6 4" marker-end="url(#arrow)"/><text x="%d" y="%d">delivers to a subscription</text>`,
		dMargin+130, legendY-4, dMargin+170, legendY-4, dMargin+178, legendY)
	fmt.Fprintf(&b, `<line x1="%d" y1="%d" x2="%d" y2="%d" stroke="#9333ea" stroke-width="1.5" marker-end="url(#arrow)"/><text x="%d" y="%d">calls (Go interface)</text></g>`+"\n",
		dMargin+360, legendY-4, dMargin+400, legendY-4, dMargin+408, legendY)
	b.WriteString("</svg>\n")
	return b.Bytes()
}

// orderServices puts event sources first (by their depth in the
// publish → subscribe graph), then the services with no events, by name.
func orderServices(c *Catalog) []Service {
	depth := map[string]int{}
	subsOf := map[string][]string{} // topic → subscribing services
	for _, s := range c.Services {
		for _, sub := range s.Subscriptions {
			subsOf[sub.Topic] = append(subsOf[sub.Topic], s.Name)
		}
	}
	for range c.Services { // relax: a subscriber sits after its publishers
		for _, s := range c.Services {
			for _, t := range s.Publishes {
				for _, sub := range subsOf[t] {
					if sub != s.Name && depth[sub] < depth[s.Name]+1 && depth[s.Name]+1 < len(c.Services) {
						depth[sub] = depth[s.Name] + 1
					}
				}
			}
		}
	}
	rank := func(s Service) int {
		if len(s.Publishes) == 0 && len(s.Subscriptions) == 0 {
			return len(c.Services) + 1
		}
		return depth[s.Name]
	}
	out := slices.Clone(c.Services)
	slices.SortStableFunc(out, func(a, b Service) int {
		if d := rank(a) - rank(b); d != 0 {
			return d
		}
		return strings.Compare(a.Name, b.Name)
	})
	return out
}

// orderTopics sorts topics under their first publisher, then by name.
func orderTopics(c *Catalog, services []Service) []Topic {
	pos := map[string]int{}
	for i, s := range services {
		pos[s.Name] = i
	}
	out := slices.Clone(c.Topics)
	first := func(t Topic) int {
		if len(t.Publishers) == 0 {
			return len(services)
		}
		return pos[t.Publishers[0]]
	}
	slices.SortStableFunc(out, func(a, b Topic) int {
		if d := first(a) - first(b); d != 0 {
			return d
		}
		return strings.Compare(a.Name, b.Name)
	})
	return out
}

func serviceHeight(s Service) int {
	return 52 + dLine*(len(s.Databases)*2+len(s.Jobs))
}

func esc(s string) string { return html.EscapeString(s) }

func drawService(b *bytes.Buffer, s Service, x, y float64, h int) {
	fmt.Fprintf(b, `<g id="svc-%s"><rect x="%.0f" y="%.0f" width="%d" height="%d" rx="8" fill="#f8fafc" stroke="#334155" stroke-width="1.5"/>`,
		esc(s.Name), x, y, dSvcW, h)
	fmt.Fprintf(b, `<text x="%.0f" y="%.0f" font-weight="600" font-size="15" fill="#0f172a">%s</text>`, x+12, y+22, esc(s.Name))
	fmt.Fprintf(b, `<text x="%.0f" y="%.0f" fill="#475569" font-size="12">%d endpoints</text>`, x+12, y+40, len(s.Endpoints))
	ly := y + 40
	for _, d := range s.Databases {
		ly += dLine
		cx := x + 20
		fmt.Fprintf(b, `<path d="M%.0f %.0f v14 a8 3 0 0 0 16 0 v-14" fill="#fde68a" stroke="#92400e"/><ellipse cx="%.0f" cy="%.0f" rx="8" ry="3" fill="#fde68a" stroke="#92400e"/>`,
			cx-8, ly-6, cx, ly-6)
		fmt.Fprintf(b, `<text x="%.0f" y="%.0f" fill="#78350f" font-size="12">%s database</text>`, x+34, ly+6, esc(d.Service))
		ly += dLine
	}
	for _, j := range s.Jobs {
		ly += dLine
		fmt.Fprintf(b, `<circle cx="%.0f" cy="%.0f" r="6" fill="#fff7ed" stroke="#7c2d12"/><path d="M%.0f %.0f v-4 M%.0f %.0f h3" stroke="#7c2d12"/>`,
			x+20, ly-4, x+20, ly-4, x+20, ly-4)
		fmt.Fprintf(b, `<text x="%.0f" y="%.0f" fill="#7c2d12" font-size="12">cron %s · every %s</text>`,
			x+34, ly, esc(j.Name), esc(shortDuration(j.Every)))
	}
	b.WriteString("</g>\n")
}

func topicHeight(t Topic) int {
	return 48 + 15*max(1, len(t.Subscriptions))
}

func drawTopic(b *bytes.Buffer, t Topic, x, y float64, h int) {
	fmt.Fprintf(b, `<g id="topic-%s"><rect x="%.0f" y="%.0f" width="%d" height="%d" rx="6" fill="#1e293b"/>`, esc(t.Name), x, y, dTopicW, h)
	fmt.Fprintf(b, `<text x="%.0f" y="%.0f" fill="#f8fafc" font-weight="600" text-anchor="middle">%s</text>`, x+dTopicW/2, y+20, esc(t.Name))
	fmt.Fprintf(b, `<text x="%.0f" y="%.0f" fill="#cbd5e1" font-size="11" text-anchor="middle">%s</text>`, x+dTopicW/2, y+37, esc(t.MessageType))
	for i, sub := range t.Subscriptions {
		fmt.Fprintf(b, `<text x="%.0f" y="%.0f" fill="#86efac" font-size="11" text-anchor="middle">→ %s</text>`, x+dTopicW/2, y+55+float64(15*i), esc(sub))
	}
	b.WriteString("</g>\n")
}

// drawFlows draws publish arrows (service → topic) from the left half of
// a service's edge facing the topics and subscribe arrows (topic →
// service) into the right half, each labelled with a live counter at its
// topic end when opts.Live is set.
func drawFlows(b *bytes.Buffer, services []Service, l layout, opts DiagramOptions) {
	for _, s := range services {
		below := l.bottom[s.Name] // the service sits below the topics
		edge := l.svcY[s.Name] + float64(l.svcH)
		if below {
			edge = l.svcY[s.Name]
		}
		topicEdge := func(t string) float64 {
			if below {
				return l.topicY[t] + float64(l.topicH)
			}
			return l.topicY[t]
		}
		pubs := s.Publishes
		for i, t := range pubs {
			x1 := l.svcX[s.Name] + float64(dSvcW/2)*float64(i+1)/float64(len(pubs)+1)
			x2 := l.topicX[t] + dTopicW/2 - 20
			drawArrow(b, "pub:"+s.Name+":"+t, x1, edge, x2, topicEdge(t), "#2563eb", "", false, below, opts.Live)
		}
		for i, sub := range s.Subscriptions {
			x1 := l.topicX[sub.Topic] + dTopicW/2 + 20
			x2 := l.svcX[s.Name] + dSvcW/2 + float64(dSvcW/2)*float64(i+1)/float64(len(s.Subscriptions)+1)
			drawArrow(b, "sub:"+sub.Name, x1, topicEdge(sub.Topic), x2, edge, "#059669", ` stroke-dasharray="6 4"`, true, below, opts.Live)
		}
	}
}

// drawArrow draws one flow; fromTopic tells which end is the topic, below
// that the service sits under the topics (the counter then goes under
// the topic instead of above it).
func drawArrow(b *bytes.Buffer, id string, x1, y1, x2, y2 float64, color, extra string, fromTopic, below, live bool) {
	my := (y1 + y2) / 2
	fmt.Fprintf(b, `<path id="%s" d="M%.1f %.1f C%.1f %.1f %.1f %.1f %.1f %.1f" fill="none" stroke="%s" stroke-width="2"%s marker-end="url(#arrow)"/>`+"\n",
		esc("edge-"+id), x1, y1, x1, my, x2, my, x2, y2, color, extra)
	if !live {
		return
	}
	// Counters sit next to the topic, at the arrow's topic end: the
	// publish count left of the arrow head, the delivery count right of
	// the dashed arrow's start, one line further out.
	x, y, anchor := x2-5, y2-8, "end"
	if fromTopic {
		x, y, anchor = x1+5, y1-22, "start"
	}
	if below {
		y = y2 + 18
		if fromTopic {
			y = y1 + 32
		}
	}
	fmt.Fprintf(b, `<text class="counter" data-edge="%s" x="%.1f" y="%.1f" font-size="11" font-weight="600" text-anchor="%s" fill="%s" paint-order="stroke" stroke="#fff" stroke-width="3"></text>`+"\n",
		esc(id), x, y, anchor, color)
}

// drawCalls draws each declared call: an arc above the top row or below
// the bottom row when both services share it, else an S-curve from the
// caller's edge facing the topics to the callee's, along the boxes' outer
// quarters so that it stays clear of most flow arrows.
func drawCalls(b *bytes.Buffer, calls []Call, l layout) {
	for i, c := range calls {
		fx, okF := l.svcX[c.From]
		tx, okT := l.svcX[c.To]
		if !okF || !okT {
			continue
		}
		off := float64(16 + 20*i)
		x1 := fx + dSvcW/2 - 30 + float64(i%3)*10
		x2 := tx + dSvcW/2 + 30 - float64(i%3)*10
		fb, tb := l.bottom[c.From], l.bottom[c.To]
		var y1, y2, cy, ly float64
		switch {
		case !fb && !tb:
			y1, y2 = l.svcY[c.From], l.svcY[c.To]
			cy = y1 - 24 - off*0.9
			ly = cy + (y1-cy)*0.25 - 2
		case fb && tb:
			y1, y2 = l.svcY[c.From]+float64(l.svcH), l.svcY[c.To]+float64(l.svcH)
			cy = y1 + 24 + off*0.9
			ly = cy - (cy-y1)*0.25 + 10
		default:
			x1, x2 = fx+dSvcW-14-float64(i%3)*8, tx+dSvcW-14-float64(i%3)*8
			y1, y2 = l.svcY[c.From], l.svcY[c.To]+float64(l.svcH)
			if !fb {
				y1, y2 = l.svcY[c.From]+float64(l.svcH), l.svcY[c.To]
			}
			fmt.Fprintf(b, `<path d="M%.1f %.1f C%.1f %.1f %.1f %.1f %.1f %.1f" fill="none" stroke="#9333ea" stroke-width="1.5" marker-end="url(#arrow)"/>`+"\n",
				x1, y1, x1, (y1+y2)/2, x2, (y1+y2)/2, x2, y2)
			fmt.Fprintf(b, `<text x="%.1f" y="%.1f" font-size="11" fill="#6b21a8" text-anchor="middle" paint-order="stroke" stroke="#fff" stroke-width="3">%s</text>`+"\n",
				x2, y2+(y1-y2)*0.18+4, esc(c.Via))
			continue
		}
		fmt.Fprintf(b, `<path d="M%.1f %.1f C%.1f %.1f %.1f %.1f %.1f %.1f" fill="none" stroke="#9333ea" stroke-width="1.5" marker-end="url(#arrow)"/>`+"\n",
			x1, y1, x1, cy, x2, cy, x2, y2)
		fmt.Fprintf(b, `<text x="%.1f" y="%.1f" font-size="11" fill="#6b21a8" text-anchor="middle" paint-order="stroke" stroke="#fff" stroke-width="3">%s</text>`+"\n",
			(x1+x2)/2, ly, esc(c.Via))
	}
}

// shortDuration prints a Duration without zero units ("5m", "1h").
func shortDuration(d Duration) string {
	s := time.Duration(d).String()
	if strings.HasSuffix(s, "m0s") {
		s = strings.TrimSuffix(s, "0s")
	}
	if strings.HasSuffix(s, "h0m") {
		s = strings.TrimSuffix(s, "0m")
	}
	return s
}
