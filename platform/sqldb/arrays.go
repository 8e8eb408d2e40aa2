package sqldb

import (
	"fmt"
	"strconv"
	"strings"

	"github.com/jackc/pgx/v5/pgtype"
)

// A multi-row statement on PostgreSQL can pass each column as one array
// parameter and turn the arrays back into rows with unnest: its text is
// the same whatever the number of rows, so it is prepared once, and it
// is one round trip for a whole batch. (A VALUES list has one parameter
// per value, so its text changes with the row count.)

// Unnest returns "unnest($from::T1[], $from+1::T2[], …)" for the column
// types (BIGINT, BOOLEAN or TEXT): the table expression of the arrays
// Columns returns.
func Unnest(from int, types []string) string {
	var b strings.Builder
	b.WriteString("unnest(")
	for i, t := range types {
		if i > 0 {
			b.WriteByte(',')
		}
		b.WriteByte('$')
		b.WriteString(strconv.Itoa(from + i))
		b.WriteString("::")
		b.WriteString(t)
		b.WriteString("[]")
	}
	b.WriteByte(')')
	return b.String()
}

// Columns transposes args, rows of len(types) values laid end to end,
// into one array parameter per column, for Unnest. A BIGINT value is an
// int, int32 or int64, a BOOLEAN a bool, a TEXT a string; nil is NULL in
// any column.
func Columns(args []any, types []string) ([]any, error) {
	width := len(types)
	if width == 0 || len(args)%width != 0 {
		return nil, fmt.Errorf("sqldb: %d values are not rows of %d columns", len(args), width)
	}
	rows := len(args) / width
	out := make([]any, width)
	for c, t := range types {
		var err error
		switch t {
		case "BIGINT":
			out[c], err = column(args, c, width, rows, t, asInt8)
		case "BOOLEAN":
			out[c], err = column(args, c, width, rows, t, asBool)
		case "TEXT":
			out[c], err = column(args, c, width, rows, t, asText)
		default:
			err = fmt.Errorf("sqldb: no array column of type %s", t)
		}
		if err != nil {
			return nil, err
		}
	}
	return out, nil
}

// column reads column c of the rows through conv, which says whether a
// (non-nil) value is one of the column's Go types; nil stays NULL.
func column[T any](args []any, c, width, rows int, typ string, conv func(any) (T, bool)) ([]T, error) {
	col := make([]T, rows)
	for r := range rows {
		v := args[r*width+c]
		if v == nil {
			continue
		}
		x, ok := conv(v)
		if !ok {
			return nil, fmt.Errorf("sqldb: column %d of row %d is a %T, not a %s", c, r, v, typ)
		}
		col[r] = x
	}
	return col, nil
}

func asInt8(v any) (pgtype.Int8, bool) {
	switch v := v.(type) {
	case int64:
		return pgtype.Int8{Int64: v, Valid: true}, true
	case int:
		return pgtype.Int8{Int64: int64(v), Valid: true}, true
	case int32:
		return pgtype.Int8{Int64: int64(v), Valid: true}, true
	}
	return pgtype.Int8{}, false
}

func asBool(v any) (pgtype.Bool, bool) {
	b, ok := v.(bool)
	return pgtype.Bool{Bool: b, Valid: ok}, ok
}

func asText(v any) (pgtype.Text, bool) {
	s, ok := v.(string)
	return pgtype.Text{String: s, Valid: ok}, ok
}
