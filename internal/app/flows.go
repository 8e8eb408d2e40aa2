package app

import (
	"fmt"
	"strings"
	"time"

	dto "github.com/prometheus/client_model/go"

	"upmon/web"
)

// flowsEvery is the period of the "flows" live events that feed the
// counters of the architecture page.
const flowsEvery = 5 * time.Second

// flowsWindow is how far back the per-minute rates look.
const flowsWindow = time.Minute

// flowSample is one reading of the pubsub counters.
type flowSample struct {
	at     time.Time
	counts map[string]float64 // "<metric>|<topic>|<subscription>"
}

// startFlows publishes the pubsub counters of this replica to open pages
// every flowsEvery while any page listens.
func (m *Main) startFlows() {
	go func() {
		t := time.NewTicker(flowsEvery)
		defer t.Stop()
		var hist []flowSample
		if s, err := m.sampleFlows(time.Now()); err == nil {
			hist = append(hist, s) // the baseline: rates count from start
		}
		for {
			select {
			case <-m.rootCtx.Done():
				return
			case now := <-t.C:
				s, err := m.sampleFlows(now)
				if err != nil {
					m.Logger.Debug("flows: cannot read metrics", "err", err)
					continue
				}
				hist = append(hist, s)
				for len(hist) > 2 && now.Sub(hist[1].at) >= flowsWindow {
					hist = hist[1:]
				}
				if m.Web.Hub().Clients() > 0 {
					m.Web.Hub().PublishFlows(m.flowLabels(hist))
				}
			}
		}
	}()
}

// sampleFlows reads the pubsub counters from the program's registry.
func (m *Main) sampleFlows(now time.Time) (flowSample, error) {
	mfs, err := m.registry.Gather()
	if err != nil {
		return flowSample{}, err
	}
	s := flowSample{at: now, counts: map[string]float64{}}
	for _, mf := range mfs {
		name := strings.TrimPrefix(mf.GetName(), "upmon_pubsub_")
		switch name {
		case "published_total", "delivered_total", "retried_total", "deadlettered_total":
		default:
			continue
		}
		for _, mm := range mf.GetMetric() {
			s.counts[name+"|"+label(mm, "topic")+"|"+label(mm, "subscription")] += mm.GetCounter().GetValue()
		}
	}
	return s, nil
}

func label(m *dto.Metric, name string) string {
	for _, l := range m.GetLabel() {
		if l.GetName() == name {
			return l.GetValue()
		}
	}
	return ""
}

// flowLabels turns the samples into one label per arrow of the picture:
// messages in the last minute (since start during the first minute),
// failed attempts and dead letters since start.
func (m *Main) flowLabels(hist []flowSample) web.FlowsEvent {
	last, first := hist[len(hist)-1], hist[0]
	perMin := func(key string) string {
		return fmt.Sprintf("%.0f/min", last.counts[key]-first.counts[key])
	}
	ev := web.FlowsEvent{Edges: map[string]string{}}
	for _, r := range m.relays {
		for _, t := range r.Topics() {
			ev.Edges["pub:"+r.Service()+":"+t] = perMin("published_total|" + t + "|")
		}
	}
	for _, s := range m.broker.Subscriptions() {
		k := "|" + s.Topic + "|" + s.Name
		text := perMin("delivered_total" + k)
		if n := last.counts["retried_total"+k]; n > 0 {
			text += fmt.Sprintf(" · %.0f failed", n)
		}
		if n := last.counts["deadlettered_total"+k]; n > 0 {
			text += fmt.Sprintf(" · %.0f dead", n)
		}
		ev.Edges["sub:"+s.Name] = text
	}
	return ev
}
