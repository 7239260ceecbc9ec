package sim

import (
	"fmt"
	"math"
	"reflect"
	"slices"
	"strconv"
	"strings"
	"time"

	"go.yaml.in/yaml/v3"
)

// This file decodes YAML nodes into the file structs of load.go, strictly (an
// unknown or repeated key is an error) and with the path of every field, so that
// each error names the field and its line: "workerGroups[1].count: line 14: want
// an integer, got "ten"".

// decoder walks YAML nodes. It records the line of every path it visits, so that
// the checks made after decoding can name lines too.
type decoder struct {
	lines map[string]int
}

// nodeDecoder is implemented by file types that decode themselves (the unions,
// whose fields depend on their kind).
type nodeDecoder interface {
	decodeNode(d *decoder, n *yaml.Node, path string) error
}

// yamlDuration is a duration in YAML: a Go duration string ("90s", "1h30m") or a
// number of seconds.
type yamlDuration time.Duration

// yamlTimeOfDay is a time of day in YAML: "HH:MM" or "HH:MM:SS", 00:00 to 24:00.
type yamlTimeOfDay time.Duration

// keySet, as a struct field named Set, receives the keys present in the mapping
// (with their lines): the unions use it to refuse fields that do not apply to
// their kind.
type keySet map[string]int

// yamlAny is any YAML value as Go values: strings, bools, ints, float64s, []any and
// map[string]any (a static rule's value, a label).
type yamlAny struct {
	v   any
	set bool
}

func (a *yamlAny) decodeNode(d *decoder, n *yaml.Node, path string) error {
	v, err := anyValue(n)
	if err != nil {
		return d.errf(n, path, "%v", err)
	}
	a.v, a.set = v, true
	return nil
}

// anyValue converts a node to Go values.
func anyValue(n *yaml.Node) (any, error) {
	n = resolve(n)
	switch n.Kind {
	case yaml.SequenceNode:
		out := make([]any, len(n.Content))
		for i, c := range n.Content {
			v, err := anyValue(c)
			if err != nil {
				return nil, err
			}
			out[i] = v
		}
		return out, nil
	case yaml.MappingNode:
		out := map[string]any{}
		for i := 0; i+1 < len(n.Content); i += 2 {
			v, err := anyValue(n.Content[i+1])
			if err != nil {
				return nil, err
			}
			out[n.Content[i].Value] = v
		}
		return out, nil
	}
	return scalarValue(n)
}

var (
	keySetType    = reflect.TypeFor[keySet]()
	nodeType      = reflect.TypeFor[yaml.Node]()
	durationType  = reflect.TypeFor[yamlDuration]()
	timeOfDayType = reflect.TypeFor[yamlTimeOfDay]()
	decoderType   = reflect.TypeFor[nodeDecoder]()
	anyType       = reflect.TypeFor[any]()
)

func (d *decoder) errf(n *yaml.Node, path, format string, args ...any) error {
	return &FieldError{Line: n.Line, Path: path, Msg: fmt.Sprintf(format, args...)}
}

// reflectValue returns the value p points to, settable.
func reflectValue(p any) reflect.Value { return reflect.ValueOf(p).Elem() }

// resolve follows aliases.
func resolve(n *yaml.Node) *yaml.Node {
	for n != nil && n.Kind == yaml.AliasNode {
		n = n.Alias
	}
	return n
}

// describe names a node's kind for messages.
func describe(n *yaml.Node) string {
	switch n.Kind {
	case yaml.MappingNode:
		return "a mapping"
	case yaml.SequenceNode:
		return "a list"
	case yaml.ScalarNode:
		if n.Tag == "!!null" {
			return "nothing"
		}
		return strconv.Quote(n.Value)
	}
	return "something else"
}

// decode decodes n into v (addressable) at path.
func (d *decoder) decode(n *yaml.Node, v reflect.Value, path string) error {
	n = resolve(n)
	if d.lines != nil {
		if _, ok := d.lines[path]; !ok {
			d.lines[path] = n.Line
		}
	}
	if v.CanAddr() && v.Addr().Type().Implements(decoderType) {
		return v.Addr().Interface().(nodeDecoder).decodeNode(d, n, path)
	}
	switch v.Type() {
	case durationType:
		dur, err := parseDuration(n)
		if err != nil {
			return d.errf(n, path, "%v", err)
		}
		v.SetInt(int64(dur))
		return nil
	case timeOfDayType:
		tod, err := parseTimeOfDay(n)
		if err != nil {
			return d.errf(n, path, "%v", err)
		}
		v.SetInt(int64(tod))
		return nil
	case nodeType:
		v.Set(reflect.ValueOf(*n))
		return nil
	case anyType:
		x, err := scalarValue(n)
		if err != nil {
			return d.errf(n, path, "%v", err)
		}
		if x != nil {
			v.Set(reflect.ValueOf(x))
		}
		return nil
	}
	switch v.Kind() {
	case reflect.Pointer:
		if n.Kind == yaml.ScalarNode && n.Tag == "!!null" {
			return nil
		}
		p := reflect.New(v.Type().Elem())
		if err := d.decode(n, p.Elem(), path); err != nil {
			return err
		}
		v.Set(p)
		return nil
	case reflect.String:
		if n.Kind != yaml.ScalarNode || n.Tag == "!!null" {
			return d.errf(n, path, "want a string, got %s", describe(n))
		}
		v.SetString(n.Value)
		return nil
	case reflect.Bool:
		if n.Kind != yaml.ScalarNode || n.Tag != "!!bool" {
			return d.errf(n, path, "want true or false, got %s", describe(n))
		}
		v.SetBool(n.Value == "true" || n.Value == "True" || n.Value == "TRUE")
		return nil
	case reflect.Int:
		if n.Kind != yaml.ScalarNode || n.Tag != "!!int" {
			return d.errf(n, path, "want an integer, got %s", describe(n))
		}
		i, err := strconv.ParseInt(n.Value, 0, 64)
		if err != nil {
			return d.errf(n, path, "want an integer, got %s", describe(n))
		}
		v.SetInt(i)
		return nil
	case reflect.Uint64:
		if n.Kind != yaml.ScalarNode || n.Tag != "!!int" {
			return d.errf(n, path, "want a non-negative integer, got %s", describe(n))
		}
		u, err := strconv.ParseUint(n.Value, 0, 64)
		if err != nil {
			return d.errf(n, path, "want a non-negative integer, got %s", describe(n))
		}
		v.SetUint(u)
		return nil
	case reflect.Float64:
		f, err := number(n)
		if err != nil {
			return d.errf(n, path, "%v", err)
		}
		v.SetFloat(f)
		return nil
	case reflect.Slice:
		if n.Kind == yaml.ScalarNode && n.Tag == "!!null" {
			return nil
		}
		if n.Kind != yaml.SequenceNode {
			return d.errf(n, path, "want a list, got %s", describe(n))
		}
		s := reflect.MakeSlice(v.Type(), len(n.Content), len(n.Content))
		for i, c := range n.Content {
			if err := d.decode(c, s.Index(i), fmt.Sprintf("%s[%d]", path, i)); err != nil {
				return err
			}
		}
		v.Set(s)
		return nil
	case reflect.Map:
		return d.decodeMap(n, v, path)
	case reflect.Struct:
		return d.decodeStruct(n, v, path)
	}
	return d.errf(n, path, "cannot decode into %s", v.Type())
}

// pairs returns a mapping's key/value pairs, merge keys ("<<: *defaults") first so
// that the mapping's own keys override them, and refuses a repeated key.
func (d *decoder) pairs(n *yaml.Node, path string) ([][2]*yaml.Node, error) {
	if n.Kind == yaml.ScalarNode && n.Tag == "!!null" {
		return nil, nil
	}
	if n.Kind != yaml.MappingNode {
		return nil, d.errf(n, path, "want a mapping, got %s", describe(n))
	}
	var merged, own [][2]*yaml.Node
	seen := map[string]bool{}
	for i := 0; i+1 < len(n.Content); i += 2 {
		k, v := n.Content[i], n.Content[i+1]
		if k.Tag == "!!merge" {
			src := resolve(v)
			var srcs []*yaml.Node
			if src.Kind == yaml.SequenceNode {
				for _, s := range src.Content {
					srcs = append(srcs, resolve(s))
				}
			} else {
				srcs = []*yaml.Node{src}
			}
			for _, s := range srcs {
				ps, err := d.pairs(s, path)
				if err != nil {
					return nil, err
				}
				merged = append(merged, ps...)
			}
			continue
		}
		if seen[k.Value] {
			return nil, d.errf(k, join(path, k.Value), "repeated key")
		}
		seen[k.Value] = true
		own = append(own, [2]*yaml.Node{k, v})
	}
	var out [][2]*yaml.Node
	for _, p := range merged {
		if !seen[p[0].Value] {
			seen[p[0].Value] = true
			out = append(out, p)
		}
	}
	return append(out, own...), nil
}

func join(path, key string) string {
	if path == "" {
		return key
	}
	return path + "." + key
}

func (d *decoder) decodeMap(n *yaml.Node, v reflect.Value, path string) error {
	if v.Type().Key().Kind() != reflect.String {
		return d.errf(n, path, "cannot decode into %s", v.Type())
	}
	ps, err := d.pairs(n, path)
	if err != nil {
		return err
	}
	if ps == nil && n.Tag == "!!null" {
		return nil
	}
	m := reflect.MakeMapWithSize(v.Type(), len(ps))
	for _, p := range ps {
		if p[0].Kind != yaml.ScalarNode {
			return d.errf(p[0], path, "a key must be a plain value")
		}
		e := reflect.New(v.Type().Elem()).Elem()
		if err := d.decode(p[1], e, join(path, p[0].Value)); err != nil {
			return err
		}
		m.SetMapIndex(reflect.ValueOf(p[0].Value).Convert(v.Type().Key()), e)
	}
	v.Set(m)
	return nil
}

// decodeStruct decodes a mapping into a struct by the fields' yaml tags; a key
// that names no field is an error listing the known ones, except that keys
// starting with "x-" are ignored (as in Docker Compose files: a place to define
// YAML anchors).
func (d *decoder) decodeStruct(n *yaml.Node, v reflect.Value, path string) error {
	ps, err := d.pairs(n, path)
	if err != nil {
		return err
	}
	t := v.Type()
	fields := map[string]int{}
	var names []string
	if f, ok := t.FieldByName("Set"); ok && f.Type == keySetType {
		set := keySet{}
		for _, p := range ps {
			if !strings.HasPrefix(p[0].Value, "x-") {
				set[p[0].Value] = p[0].Line
			}
		}
		v.FieldByIndex(f.Index).Set(reflect.ValueOf(set))
	}
	for i := range t.NumField() {
		name, _, _ := strings.Cut(t.Field(i).Tag.Get("yaml"), ",")
		if name == "" || name == "-" {
			continue
		}
		fields[name] = i
		names = append(names, name)
	}
	for _, p := range ps {
		if strings.HasPrefix(p[0].Value, "x-") {
			continue // an extension field: a home for YAML anchors
		}
		i, ok := fields[p[0].Value]
		if !ok {
			slices.Sort(names)
			return d.errf(p[0], join(path, p[0].Value), "unknown field (known here: %s)", strings.Join(names, ", "))
		}
		if err := d.decode(p[1], v.Field(i), join(path, p[0].Value)); err != nil {
			return err
		}
	}
	return nil
}

// number reads an integer or a float.
func number(n *yaml.Node) (float64, error) {
	if n.Kind == yaml.ScalarNode && (n.Tag == "!!int" || n.Tag == "!!float") {
		f, err := strconv.ParseFloat(strings.ReplaceAll(n.Value, "_", ""), 64)
		if err == nil && !math.IsNaN(f) && !math.IsInf(f, 0) {
			return f, nil
		}
	}
	return 0, fmt.Errorf("want a number, got %s", describe(n))
}

// scalarValue reads a label value: a string, a bool, an integer or a float.
func scalarValue(n *yaml.Node) (any, error) {
	if n.Kind != yaml.ScalarNode {
		return nil, fmt.Errorf("want a string, number or bool, got %s", describe(n))
	}
	switch n.Tag {
	case "!!null":
		return nil, fmt.Errorf("want a string, number or bool, got nothing")
	case "!!bool":
		return n.Value == "true" || n.Value == "True" || n.Value == "TRUE", nil
	case "!!int":
		i, err := strconv.ParseInt(n.Value, 0, 64)
		if err != nil {
			return nil, fmt.Errorf("integer %s out of range", n.Value)
		}
		return int(i), nil
	case "!!float":
		return number(n)
	}
	return n.Value, nil
}

// parseDuration reads "90s", "1h30m" or a number of seconds.
func parseDuration(n *yaml.Node) (time.Duration, error) {
	if n.Kind == yaml.ScalarNode {
		switch n.Tag {
		case "!!int", "!!float":
			f, err := number(n)
			if err == nil && math.Abs(f) < math.MaxInt64/float64(time.Second) {
				return time.Duration(math.Round(f * float64(time.Second))), nil
			}
		case "!!str":
			d, err := time.ParseDuration(n.Value)
			if err == nil {
				return d, nil
			}
		}
	}
	return 0, fmt.Errorf(`want a duration such as "90s", "4m30s", "1h" (or a number of seconds), got %s`, describe(n))
}

// parseTimeOfDay reads "HH:MM" or "HH:MM:SS".
func parseTimeOfDay(n *yaml.Node) (time.Duration, error) {
	bad := fmt.Errorf(`want a time of day such as "08:30" or "17:45:30", got %s`, describe(n))
	if n.Kind != yaml.ScalarNode {
		return 0, bad
	}
	if n.Tag == "!!int" {
		// YAML 1.1 reads 08:30 unquoted as a sexagesimal number; yaml.v3 does not,
		// but be sure.
		return 0, bad
	}
	parts := strings.Split(n.Value, ":")
	if len(parts) < 2 || len(parts) > 3 {
		return 0, bad
	}
	var v [3]int
	for i, p := range parts {
		x, err := strconv.Atoi(p)
		if err != nil || x < 0 || len(p) > 2 {
			return 0, bad
		}
		v[i] = x
	}
	if v[1] > 59 || v[2] > 59 {
		return 0, bad
	}
	d := time.Duration(v[0])*time.Hour + time.Duration(v[1])*time.Minute + time.Duration(v[2])*time.Second
	if d > 24*time.Hour {
		return 0, bad
	}
	return d, nil
}
