package cli

import (
	"context"
	"fmt"
	"net/http"
	"net/url"
	"strconv"
	"strings"

	"upmon/site"
)

// bulkChunk is how many new sites one POST /site/bulk request carries
// (the server takes up to site.MaxBulkSites).
const bulkChunk = 500

// listAllSites reads every site of the server a page at a time, so that
// neither side holds one answer for a very large list. A server without
// pages answers everything at once, without a cursor, which ends the loop.
func listAllSites(ctx context.Context, c *sitesClient) ([]*site.Site, error) {
	var all []*site.Site
	path := "/site?limit=" + strconv.Itoa(site.MaxPageSize)
	for {
		var page site.ListResponse
		if err := c.do(ctx, http.MethodGet, path, nil, &page); err != nil {
			return nil, err
		}
		all = append(all, page.Sites...)
		if page.Next == "" {
			return all, nil
		}
		path = "/site?limit=" + strconv.Itoa(site.MaxPageSize) + "&after=" + url.QueryEscape(page.Next)
	}
}

// addNewSites creates the planned sites through POST /site/bulk,
// bulkChunk at a time (each chunk one transaction on the server); a
// server without the bulk endpoint gets one POST /site per site.
func addNewSites(ctx context.Context, c *sitesClient, plans []*plannedSite) (added int, err error) {
	body := func(p *plannedSite) map[string]any {
		b := p.fields
		if p.params.Kind == site.KindPush {
			delete(b, "url") // the server derives push:<name>
		}
		return b
	}
	for lo := 0; lo < len(plans); lo += bulkChunk {
		chunk := plans[lo:min(lo+bulkChunk, len(plans))]
		req := struct {
			Sites []map[string]any `json:"sites"`
		}{}
		for _, p := range chunk {
			req.Sites = append(req.Sites, body(p))
		}
		var resp site.BulkAddResponse
		err := c.do(ctx, http.MethodPost, "/site/bulk", req, &resp)
		if err != nil && lo == 0 && strings.Contains(err.Error(), "answered 404") {
			return addOneByOne(ctx, c, plans, body)
		}
		if err != nil {
			return added, fmt.Errorf("%s … %s: %w", chunk[0].label, chunk[len(chunk)-1].label, err)
		}
		added += resp.Created
	}
	return added, nil
}

// addOneByOne is addNewSites for servers older than POST /site/bulk.
func addOneByOne(ctx context.Context, c *sitesClient, plans []*plannedSite, body func(*plannedSite) map[string]any) (int, error) {
	added := 0
	for _, p := range plans {
		if err := c.do(ctx, http.MethodPost, "/site", body(p), nil); err != nil {
			return added, fmt.Errorf("%s: %w", p.label, err)
		}
		added++
	}
	return added, nil
}
