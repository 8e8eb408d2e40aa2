package web

import (
	"context"
	"slices"
	"strconv"
	"strings"
)

// siteRouting is where a site's notifications go, as the channels
// service resolves them: the channels it names and those whose tags it
// has or, when there are none, the default channels.
type siteRouting struct {
	// Channels are the channels it is routed to.
	Channels []routedChannel
	// Defaults says it names none (or only deleted ones) and no
	// channel's tags match: the default channels serve it.
	Defaults bool
	// Gone are ids it names of channels deleted since.
	Gone []int64
}

type routedChannel struct {
	ID       int64
	Name     string
	Why      string
	Disabled bool
}

// routingOf resolves a site's channels for its page; it mirrors the
// channels service's routing (docs/notifications.md, Routing).
func routingOf(all []ChannelInfo, named []int64, tags []string) siteRouting {
	var r siteRouting
	names := false
	for _, c := range all {
		isNamed := slices.Contains(named, c.ID)
		names = names || isNamed
		var via []string
		for _, t := range c.Tags {
			if slices.Contains(tags, t) {
				via = append(via, "tag "+t)
			}
		}
		switch {
		case isNamed:
			r.Channels = append(r.Channels, routedChannel{ID: c.ID, Name: c.Name, Why: "chosen", Disabled: !c.Enabled})
		case len(via) > 0 && c.Enabled:
			r.Channels = append(r.Channels, routedChannel{ID: c.ID, Name: c.Name, Why: strings.Join(via, ", ")})
		}
	}
	for _, id := range named {
		if !slices.ContainsFunc(all, func(c ChannelInfo) bool { return c.ID == id }) {
			r.Gone = append(r.Gone, id)
		}
	}
	if names || len(r.Channels) > 0 {
		return r
	}
	r.Defaults = true
	for _, c := range all {
		if c.Default && c.Enabled {
			r.Channels = append(r.Channels, routedChannel{ID: c.ID, Name: c.Name, Why: "default"})
		}
	}
	return r
}

// channelChoices are the channels a settings form offers, those named
// by ids (sorted, comma-separated) ticked; a named channel deleted since
// is offered too, ticked, so saving other settings keeps the list as is.
func channelChoices(all []ChannelInfo, ids string) []channelChoice {
	chosen := parseIDsText(ids)
	out := make([]channelChoice, 0, len(all))
	for _, c := range all {
		out = append(out, channelChoice{ID: c.ID, Name: c.Name, Checked: slices.Contains(chosen, c.ID)})
	}
	for _, id := range chosen {
		if !slices.ContainsFunc(all, func(c ChannelInfo) bool { return c.ID == id }) {
			out = append(out, channelChoice{ID: id, Name: "#" + strconv.FormatInt(id, 10) + " (deleted)", Checked: true, Gone: true})
		}
	}
	return out
}

func parseIDsText(text string) []int64 {
	var out []int64
	for part := range strings.SplitSeq(text, ",") {
		if id, err := strconv.ParseInt(strings.TrimSpace(part), 10, 64); err == nil {
			out = append(out, id)
		}
	}
	return out
}

// siteChannels reads the channels for a site page; nil without a
// channels service. A failure is logged and leaves the section out: the
// rest of the page does not depend on it.
func (h *Handler) siteChannels(ctx context.Context) []ChannelInfo {
	if h.opts.Channels == nil {
		return nil
	}
	list, err := h.opts.Channels.ListChannels(ctx)
	if err != nil {
		h.log.Warn("site page: list channels", "err", err)
		return nil
	}
	if list == nil {
		list = []ChannelInfo{}
	}
	return list
}
