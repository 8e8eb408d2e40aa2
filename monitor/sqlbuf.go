package monitor

import (
	"strconv"
	"strings"
)

// sqlBuf builds a statement whose parameters are appended in the order
// they appear: numbered ($1) on PostgreSQL, anonymous (?) on SQLite, as
// the write path's multi-row statements do (batch.go).
type sqlBuf struct {
	numbered bool
	b        strings.Builder
	args     []any
}

func (s *Service) newSQL() *sqlBuf { return &sqlBuf{numbered: s.stmts.numbered} }

// sql appends text.
func (q *sqlBuf) sql(text string) *sqlBuf {
	q.b.WriteString(text)
	return q
}

// arg appends a parameter holding v.
func (q *sqlBuf) arg(v any) *sqlBuf {
	q.args = append(q.args, v)
	if q.numbered {
		q.b.WriteByte('$')
		q.b.WriteString(strconv.Itoa(len(q.args)))
	} else {
		q.b.WriteByte('?')
	}
	return q
}

// list appends the parameters of an IN list.
func (q *sqlBuf) list(ids []int64) *sqlBuf {
	for i, id := range ids {
		if i > 0 {
			q.b.WriteByte(',')
		}
		q.arg(id)
	}
	return q
}

// row appends one parenthesised row of a VALUES list.
func (q *sqlBuf) row(vs ...any) *sqlBuf {
	q.b.WriteByte('(')
	for i, v := range vs {
		if i > 0 {
			q.b.WriteByte(',')
		}
		q.arg(v)
	}
	q.b.WriteByte(')')
	return q
}

func (q *sqlBuf) String() string { return q.b.String() }
