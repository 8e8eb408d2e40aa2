package account

import (
	"context"
	"encoding/json"
	"strings"
	"time"

	"upmon/site"
)

// The audit log records every change: who (the Principal in the
// request's context), when, from where, what (an action and a target),
// and the object before and after with secrets masked (Mask). Recording
// never fails the change it records; a failed write is logged.

// Entry is one audit record.
type Entry struct {
	// ID identifies the record; records are numbered in order.
	ID int64 `json:"id"`
	// At is when the change was made.
	At time.Time `json:"at"`
	// Actor names who made it; ActorID is their user, 0 for a service
	// token or an anonymous caller of an open installation.
	Actor   string `json:"actor"`
	ActorID int64  `json:"actor_id"`
	// Address is the client's address.
	Address string `json:"address"`
	// Action is what was done ("site.update", "user.add", …).
	Action string `json:"action"`
	// Target names what it was done to ("site/3", "user/ada").
	Target string `json:"target"`
	// Before and After are the object around the change, secrets masked.
	Before json.RawMessage `json:"before,omitempty"`
	After  json.RawMessage `json:"after,omitempty"`
}

// AuditParams filters and pages GET /audit.
type AuditParams struct {
	// Actor, Action and Target keep records whose field equals them
	// (Action and Target also match a prefix ending in "." or "/").
	Actor  string `query:"actor"`
	Action string `query:"action"`
	Target string `query:"target"`
	// Before keeps records with a smaller id (the next page).
	Before int64 `query:"before"`
	// Limit caps the page; default 50, at most 500.
	Limit int `query:"limit"`
}

// AuditPage is the answer of GET /audit.
type AuditPage struct {
	// Entries are the newest matching records first.
	Entries []*Entry `json:"entries"`
	// Next is the Before of the next page, 0 when this is the last.
	Next int64 `json:"next,omitempty"`
}

// Record writes an audit record for a change made by the caller in ctx.
func (s *Service) Record(ctx context.Context, action, target string, before, after any) {
	who := PrincipalFrom(ctx)
	b, a := maskedJSON(before), maskedJSON(after)
	_, err := s.db.ExecContext(context.WithoutCancel(ctx), `INSERT INTO audit (at, actor, actor_id, address, action, target, before_json, after_json)
		VALUES ($1, $2, $3, $4, $5, $6, $7, $8)`, s.now().Unix(), who.Name, who.UserID, who.Address, action, target, b, a)
	if err != nil {
		s.log.Error("audit: cannot record a change", "action", action, "target", target, "err", err)
	}
}

// Audit lists audit records, newest first.
func (s *Service) Audit(ctx context.Context, p *AuditParams) (*AuditPage, error) {
	limit := p.Limit
	if limit <= 0 {
		limit = 50
	}
	limit = min(limit, 500)
	q := `SELECT id, at, actor, actor_id, address, action, target, before_json, after_json FROM audit WHERE 1 = 1`
	var args []any
	add := func(clause string, v any) {
		args = append(args, v)
		q += strings.ReplaceAll(clause, "$N", "$"+itoa(int64(len(args))))
	}
	if p.Actor != "" {
		add(` AND actor = $N`, p.Actor)
	}
	if p.Action != "" {
		add(` AND (action = $N`, p.Action)
		add(` OR action LIKE $N)`, likePrefix(p.Action)+".%")
	}
	if p.Target != "" {
		add(` AND (target = $N`, p.Target)
		add(` OR target LIKE $N)`, likePrefix(p.Target)+"/%")
	}
	if p.Before > 0 {
		add(` AND id < $N`, p.Before)
	}
	add(` ORDER BY id DESC LIMIT $N`, limit+1)
	rows, err := s.db.QueryContext(ctx, q, args...)
	if err != nil {
		return nil, dbErr("list audit", err)
	}
	defer rows.Close()
	out := &AuditPage{Entries: []*Entry{}}
	for rows.Next() {
		var e Entry
		var at int64
		var b, a string
		if err := rows.Scan(&e.ID, &at, &e.Actor, &e.ActorID, &e.Address, &e.Action, &e.Target, &b, &a); err != nil {
			return nil, dbErr("list audit", err)
		}
		e.At = time.Unix(at, 0).UTC()
		if b != "" {
			e.Before = json.RawMessage(b)
		}
		if a != "" {
			e.After = json.RawMessage(a)
		}
		out.Entries = append(out.Entries, &e)
	}
	if err := rows.Err(); err != nil {
		return nil, dbErr("list audit", err)
	}
	if len(out.Entries) > limit {
		out.Entries = out.Entries[:limit]
		out.Next = out.Entries[limit-1].ID
	}
	return out, nil
}

// likePrefix escapes LIKE's wildcards; both engines treat a backslash
// in the pattern as a literal unless ESCAPE is given, so wildcards are
// replaced by characters no action or target contains.
func likePrefix(s string) string {
	return strings.NewReplacer("%", "", "_", "").Replace(s)
}

// PruneAudit deletes audit records older than the retention.
func (s *Service) PruneAudit(ctx context.Context) error {
	_, err := s.db.ExecContext(ctx, `DELETE FROM audit WHERE at < $1`, s.now().Add(-s.opts.AuditRetention).Unix())
	return dbErrOrNil("prune audit", err)
}

// PruneJob is the cron endpoint that prunes expired sessions and audit
// records past --audit-retention.
func (s *Service) PruneJob(ctx context.Context) error {
	if err := s.PruneSessions(ctx); err != nil {
		return err
	}
	return s.PruneAudit(ctx)
}

// maskedJSON encodes v with secrets masked, "" for nil.
func maskedJSON(v any) string {
	if v == nil {
		return ""
	}
	b, err := json.Marshal(v)
	if err != nil || string(b) == "null" {
		return ""
	}
	return string(Mask(b))
}

// secretKeyWords are the fragments of the JSON keys whose values the
// audit log never holds: site headers, request bodies, push tokens,
// channel credentials and passwords. A key ending in "key" (api_key,
// routing_key) is one too; "keyword" is not.
var secretKeyWords = []string{"push_url", "password", "secret", "token", "webhook", "headers", "body", "credential", "auth"}

func isSecretKey(k string) bool {
	k = strings.ToLower(k)
	if strings.HasSuffix(k, "key") {
		return true
	}
	for _, w := range secretKeyWords {
		if strings.Contains(k, w) {
			return true
		}
	}
	return false
}

// Mask returns a JSON document with the values of secret-named keys
// replaced by site.Redacted and URLs' credentials and secret query values
// redacted (site.RedactURL). Input that is not JSON is replaced whole.
func Mask(doc []byte) []byte {
	var v any
	if err := json.Unmarshal(doc, &v); err != nil {
		b, _ := json.Marshal(site.Redacted)
		return b
	}
	b, _ := json.Marshal(maskValue(v))
	return b
}

func maskValue(v any) any {
	switch x := v.(type) {
	case map[string]any:
		for k, val := range x {
			if isSecretKey(k) && val != nil && val != "" && val != false {
				x[k] = site.Redacted
				continue
			}
			x[k] = maskValue(val)
		}
	case []any:
		for i := range x {
			x[i] = maskValue(x[i])
		}
	case string:
		if strings.Contains(x, "://") {
			return site.RedactURL(x)
		}
	}
	return v
}

// Auditor is what other services' change endpoints record through.
type Auditor interface {
	// Record writes an audit record for the caller in ctx.
	Record(ctx context.Context, action, target string, before, after any)
}

var _ Auditor = (*Service)(nil)
