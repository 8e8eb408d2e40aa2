package monitor

import (
	"context"
	"sync"

	"upmon/site"
)

// siteCache keeps the sites the scheduler checks, so that a scheduled
// check does not read its site's settings from the site service each
// time. It stays correct across replicas through site_state.site_version:
// the replica that handles a site-updated event increments it (after the
// change is committed, since the event is published from the site
// service's outbox), the claim returns it, and a copy cached at another
// version is read again.
type siteCache struct {
	mu sync.Mutex
	m  map[int64]cachedSite
}

type cachedSite struct {
	version int64
	st      *site.Site
}

// get returns the cached site at version, or nil.
func (c *siteCache) get(id, version int64) *site.Site {
	c.mu.Lock()
	defer c.mu.Unlock()
	if e, ok := c.m[id]; ok && e.version == version {
		return e.st
	}
	return nil
}

// put caches st as the site at version.
func (c *siteCache) put(version int64, st *site.Site) {
	c.mu.Lock()
	defer c.mu.Unlock()
	if c.m == nil {
		c.m = map[int64]cachedSite{}
	}
	c.m[st.ID] = cachedSite{version, st}
}

// drop forgets a site.
func (c *siteCache) drop(id int64) {
	c.mu.Lock()
	defer c.mu.Unlock()
	delete(c.m, id)
}

// keep forgets every site not in ids (deleted while another replica
// handled the event).
func (c *siteCache) keep(ids map[int64]bool) {
	c.mu.Lock()
	defer c.mu.Unlock()
	for id := range c.m {
		if !ids[id] {
			delete(c.m, id)
		}
	}
}

// bumpSiteVersion records a change of a site's settings: every replica's
// cached copy of it is stale from now on.
func (s *Service) bumpSiteVersion(ctx context.Context, id int64) error {
	s.siteCache.drop(id)
	_, err := s.db.ExecContext(ctx, `UPDATE site_state SET site_version = site_version + 1 WHERE site_id = $1`, id)
	return err
}

// scheduledSite returns the site a claim took, from the cache when it
// holds the claimed version, else from the site service.
func (s *Service) scheduledSite(ctx context.Context, c claimed) (*site.Site, error) {
	if st := s.siteCache.get(c.id, c.version); st != nil {
		return st, nil
	}
	var st *site.Site
	err := s.schedDB.Do(ctx, func(ctx context.Context) (err error) {
		st, err = s.sites.Get(ctx, &site.GetParams{ID: c.id})
		return err
	})
	if err == nil {
		s.siteCache.put(c.version, st)
	}
	return st, err
}
