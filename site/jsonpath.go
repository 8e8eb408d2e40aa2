package site

import (
	"errors"
	"strconv"
	"strings"
)

// PathStep is one step of a parsed JSON path: a key or an index.
type PathStep struct {
	// Key is the object key ("" when Index is used).
	Key string
	// Index is the array index, or -1 for a key step.
	Index int
}

// ParsePath parses the $.a.b[0] subset of JSONPath: "$" followed by
// .key, ["key"] or [index] steps.
func ParsePath(p string) ([]PathStep, error) {
	if len(p) > 256 {
		return nil, errors.New("at most 256 bytes")
	}
	if !strings.HasPrefix(p, "$") {
		return nil, errors.New(`must start with "$"`)
	}
	var steps []PathStep
	rest := p[1:]
	for rest != "" {
		switch rest[0] {
		case '.':
			rest = rest[1:]
			n := strings.IndexAny(rest, ".[")
			if n < 0 {
				n = len(rest)
			}
			key := rest[:n]
			if key == "" {
				return nil, errors.New("empty key after \".\"")
			}
			steps = append(steps, PathStep{Key: key, Index: -1})
			rest = rest[n:]
		case '[':
			end := strings.IndexByte(rest, ']')
			if end < 0 {
				return nil, errors.New(`missing "]"`)
			}
			inner := rest[1:end]
			rest = rest[end+1:]
			if len(inner) >= 2 && (inner[0] == '"' || inner[0] == '\'') && inner[len(inner)-1] == inner[0] {
				steps = append(steps, PathStep{Key: inner[1 : len(inner)-1], Index: -1})
				continue
			}
			i, err := strconv.Atoi(inner)
			if err != nil || i < 0 || i > 1<<20 {
				return nil, errors.New("array index must be a non-negative integer")
			}
			steps = append(steps, PathStep{Index: i})
		default:
			return nil, errors.New(`expected "." or "[" in path`)
		}
		if len(steps) > 32 {
			return nil, errors.New("at most 32 steps")
		}
	}
	return steps, nil
}
