package importer

import (
	"fmt"
	"strconv"

	"go.yaml.in/yaml/v3"
)

// readKumaJSON reads a Kuma 1.x JSON backup ({"version",
// "notificationList", "monitorList"}). It is parsed as YAML (JSON is
// YAML) to know each value's line.
func readKumaJSON(data []byte) (*kumaSource, error) {
	root, err := parseDoc(data)
	if err != nil {
		return nil, err
	}
	src := &kumaSource{monitorNotifs: map[int64][]int64{}, monitorTags: map[int64][]kumaTag{}}
	known := false
	for _, f := range fields(root) {
		switch f.key {
		case "monitorList":
			known = true
			list, err := asList(f.val, f.key)
			if err != nil {
				return nil, err
			}
			for i, n := range list {
				r, err := jsonRow(n, fmt.Sprintf("monitorList[%d]", i))
				if err != nil {
					return nil, err
				}
				if err := jsonMonitorLinks(src, r); err != nil {
					return nil, err
				}
				src.monitors = append(src.monitors, r)
			}
		case "notificationList":
			known = true
			list, err := asList(f.val, f.key)
			if err != nil {
				return nil, err
			}
			for i, n := range list {
				r, err := jsonRow(n, fmt.Sprintf("notificationList[%d]", i))
				if err != nil {
					return nil, err
				}
				src.notifications = append(src.notifications, r)
			}
		}
	}
	if !known {
		return nil, fmt.Errorf("line %d: not an Uptime Kuma backup (no monitorList or notificationList)", root.Line)
	}
	return src, nil
}

// jsonRow reads one object of scalars (nested values are kept as decoded
// JSON).
func jsonRow(n *yaml.Node, where string) (*row, error) {
	if err := asMap(n, where); err != nil {
		return nil, err
	}
	r := newRow(where, n.Line)
	for _, f := range fields(n) {
		var v any
		if err := f.val.Decode(&v); err != nil {
			return nil, fmt.Errorf("line %d: %s.%s: %v", f.line, where, f.key, err)
		}
		if i, ok := v.(int); ok {
			v = int64(i)
		}
		r.set(f.key, f.line, v)
	}
	return r, nil
}

// jsonMonitorLinks reads a backup monitor's notificationIDList and tags.
func jsonMonitorLinks(src *kumaSource, r *row) error {
	id := int64(r.num("id"))
	if c, ok := r.get("notificationIDList"); ok {
		m, isMap := c.v.(map[string]any)
		if !isMap {
			return fmt.Errorf("line %d: %s.notificationIDList: must be an object", c.line, r.where)
		}
		for _, k := range sortedKeys(m) {
			on, _ := m[k].(bool)
			n, err := strconv.ParseInt(k, 10, 64)
			if err != nil {
				return fmt.Errorf("line %d: %s.notificationIDList: %q is not an id", c.line, r.where, k)
			}
			if on {
				src.monitorNotifs[id] = append(src.monitorNotifs[id], n)
			}
		}
	}
	if c, ok := r.get("tags"); ok {
		list, isList := c.v.([]any)
		if !isList {
			return fmt.Errorf("line %d: %s.tags: must be a list", c.line, r.where)
		}
		for _, t := range list {
			m, _ := t.(map[string]any)
			name, _ := m["name"].(string)
			value, _ := m["value"].(string)
			if name == "" {
				return fmt.Errorf("line %d: %s.tags: each tag needs a name", c.line, r.where)
			}
			src.monitorTags[id] = append(src.monitorTags[id], kumaTag{name: name, value: value, line: c.line})
		}
	}
	return nil
}
