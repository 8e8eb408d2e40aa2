package importer

import (
	"errors"
	"fmt"
	"strconv"
	"strings"

	"go.yaml.in/yaml/v3"
)

// Limits of a source document: a configuration is small; anything past
// these is refused with a clear error rather than read.
const (
	// MaxFileBytes caps a YAML or JSON source file.
	MaxFileBytes = 8 << 20
	// maxDepth caps nesting.
	maxDepth = 64
	// maxNodes caps the nodes of a document with its aliases expanded
	// (an alias bomb expands a few lines into billions of nodes).
	maxNodes = 1_000_000
)

// parseDoc parses a YAML (or JSON) document into its root mapping node,
// refusing oversized, too deep and alias-bomb documents and naming the
// line of the problem.
func parseDoc(data []byte) (*yaml.Node, error) {
	if len(data) > MaxFileBytes {
		return nil, fmt.Errorf("file is %d bytes, more than the %d a configuration may have", len(data), MaxFileBytes)
	}
	var doc yaml.Node
	if err := yaml.Unmarshal(data, &doc); err != nil {
		return nil, errors.New(strings.TrimPrefix(err.Error(), "yaml: "))
	}
	if doc.Kind == 0 || len(doc.Content) == 0 {
		return nil, errors.New("the file is empty")
	}
	root := doc.Content[0]
	if err := checkShape(root); err != nil {
		return nil, err
	}
	root = deref(root)
	if root.Kind != yaml.MappingNode {
		return nil, fmt.Errorf("line %d: the document must be a mapping", root.Line)
	}
	return root, nil
}

// checkShape walks the document with aliases expanded, counting nodes and
// depth.
func checkShape(root *yaml.Node) error {
	count := 0
	size := map[*yaml.Node]int{} // expanded size of an anchored node
	var walk func(n *yaml.Node, depth int) (int, error)
	walk = func(n *yaml.Node, depth int) (int, error) {
		if depth > maxDepth {
			return 0, fmt.Errorf("line %d: nested more than %d levels deep", n.Line, maxDepth)
		}
		if n.Kind == yaml.AliasNode {
			if n.Alias == nil {
				return 0, fmt.Errorf("line %d: unknown alias", n.Line)
			}
			s, ok := size[n.Alias]
			if !ok {
				var err error
				if s, err = walk(n.Alias, depth); err != nil {
					return 0, err
				}
			}
			count += s
			if count > maxNodes {
				return 0, fmt.Errorf("line %d: aliases expand to more than %d values (an alias bomb?)", n.Line, maxNodes)
			}
			return s, nil
		}
		s := 1
		count++
		if count > maxNodes {
			return 0, fmt.Errorf("line %d: more than %d values", n.Line, maxNodes)
		}
		for _, c := range n.Content {
			cs, err := walk(c, depth+1)
			if err != nil {
				return 0, err
			}
			s += cs
		}
		if n.Anchor != "" {
			size[n] = s
		}
		return s, nil
	}
	_, err := walk(root, 0)
	return err
}

// deref follows an alias.
func deref(n *yaml.Node) *yaml.Node {
	for n != nil && n.Kind == yaml.AliasNode {
		n = n.Alias
	}
	return n
}

// field is one key and value of a mapping.
type field struct {
	key  string
	line int
	val  *yaml.Node
}

// fields lists a mapping's entries (merge keys expanded).
func fields(n *yaml.Node) []field {
	n = deref(n)
	if n == nil || n.Kind != yaml.MappingNode {
		return nil
	}
	var out []field
	for i := 0; i+1 < len(n.Content); i += 2 {
		k, v := n.Content[i], deref(n.Content[i+1])
		if k.Value == "<<" && k.Tag == "!!merge" {
			out = append(out, fields(v)...)
			continue
		}
		out = append(out, field{key: k.Value, line: k.Line, val: v})
	}
	return out
}

// typeError is a wrong-type error naming the line and the field.
func typeError(n *yaml.Node, where, want string) error {
	return fmt.Errorf("line %d: %s: must be %s", n.Line, where, want)
}

func asMap(n *yaml.Node, where string) error {
	if n.Kind != yaml.MappingNode {
		return typeError(n, where, "a mapping")
	}
	return nil
}

func asList(n *yaml.Node, where string) ([]*yaml.Node, error) {
	if n.Kind != yaml.SequenceNode {
		return nil, typeError(n, where, "a list")
	}
	out := make([]*yaml.Node, len(n.Content))
	for i, c := range n.Content {
		out[i] = deref(c)
	}
	return out, nil
}

func asString(n *yaml.Node, where string) (string, error) {
	if n.Kind != yaml.ScalarNode || n.Tag == "!!null" {
		return "", typeError(n, where, "a string")
	}
	return n.Value, nil
}

func asInt(n *yaml.Node, where string) (int, error) {
	if n.Kind != yaml.ScalarNode {
		return 0, typeError(n, where, "an integer")
	}
	v, err := strconv.Atoi(strings.TrimSpace(n.Value))
	if err != nil {
		return 0, typeError(n, where, "an integer")
	}
	return v, nil
}

func asBool(n *yaml.Node, where string) (bool, error) {
	if n.Kind == yaml.ScalarNode {
		switch strings.ToLower(n.Value) {
		case "true":
			return true, nil
		case "false":
			return false, nil
		}
	}
	return false, typeError(n, where, "true or false")
}

func asStringMap(n *yaml.Node, where string) (map[string]string, error) {
	if err := asMap(n, where); err != nil {
		return nil, err
	}
	out := map[string]string{}
	for _, f := range fields(n) {
		s, err := asString(f.val, where+"."+f.key)
		if err != nil {
			return nil, err
		}
		out[f.key] = s
	}
	return out, nil
}
