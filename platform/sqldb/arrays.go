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
			out[c], err = int8Column(args, c, width, rows)
		case "BOOLEAN":
			out[c], err = boolColumn(args, c, width, rows)
		case "TEXT":
			out[c], err = textColumn(args, c, width, rows)
		default:
			err = fmt.Errorf("sqldb: no array column of type %s", t)
		}
		if err != nil {
			return nil, err
		}
	}
	return out, nil
}

func int8Column(args []any, c, width, rows int) ([]pgtype.Int8, error) {
	col := make([]pgtype.Int8, rows)
	for r := range rows {
		switch v := args[r*width+c].(type) {
		case nil:
		case int64:
			col[r] = pgtype.Int8{Int64: v, Valid: true}
		case int:
			col[r] = pgtype.Int8{Int64: int64(v), Valid: true}
		case int32:
			col[r] = pgtype.Int8{Int64: int64(v), Valid: true}
		default:
			return nil, fmt.Errorf("sqldb: column %d of row %d is a %T, not a BIGINT", c, r, v)
		}
	}
	return col, nil
}

func boolColumn(args []any, c, width, rows int) ([]pgtype.Bool, error) {
	col := make([]pgtype.Bool, rows)
	for r := range rows {
		switch v := args[r*width+c].(type) {
		case nil:
		case bool:
			col[r] = pgtype.Bool{Bool: v, Valid: true}
		default:
			return nil, fmt.Errorf("sqldb: column %d of row %d is a %T, not a BOOLEAN", c, r, v)
		}
	}
	return col, nil
}

func textColumn(args []any, c, width, rows int) ([]pgtype.Text, error) {
	col := make([]pgtype.Text, rows)
	for r := range rows {
		switch v := args[r*width+c].(type) {
		case nil:
		case string:
			col[r] = pgtype.Text{String: v, Valid: true}
		default:
			return nil, fmt.Errorf("sqldb: column %d of row %d is a %T, not a TEXT", c, r, v)
		}
	}
	return col, nil
}
