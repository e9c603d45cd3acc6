package catalog

import (
	"bytes"
	"errors"
	"fmt"
	"regexp"
	"sort"
	"strconv"
	"strings"

	"go.yaml.in/yaml/v3"
)

// lineError is one problem of a catalog file: its line, the field's path
// (such as products[0].dimensions[1].name; empty for a syntax error) and
// what is wrong.
type lineError struct {
	line  int
	field string
	msg   string
}

func (e *lineError) Error() string {
	if e.field == "" {
		return fmt.Sprintf("%d: %s", e.line, e.msg)
	}
	return fmt.Sprintf("%d: %s: %s", e.line, e.field, e.msg)
}

// fieldError is a validation error of a field; line is that of the
// element holding it, which Parse replaces by the field's own line when the
// file has the field.
func fieldError(line int, field, format string, args ...any) error {
	return &lineError{line: line, field: field, msg: fmt.Sprintf(format, args...)}
}

// fileErrors are all the problems of a file, ordered by line, one a line
// of the message.
type fileErrors []*lineError

func (es fileErrors) Error() string {
	lines := make([]string, len(es))
	for i, e := range es {
		lines[i] = e.Error()
	}
	return strings.Join(lines, "\n")
}

// flatten returns the lineErrors in err (one, or several joined).
func flatten(err error) []*lineError {
	var out []*lineError
	var le *lineError
	var fe fileErrors
	switch {
	case err == nil:
	case errors.As(err, &fe):
		out = append(out, fe...)
	case errors.As(err, &le) && le == err:
		out = append(out, le)
	default:
		if j, ok := err.(interface{ Unwrap() []error }); ok {
			for _, e := range j.Unwrap() {
				out = append(out, flatten(e)...)
			}
		} else {
			out = append(out, &lineError{msg: err.Error()})
		}
	}
	return out
}

// fieldLines maps the path of every field of the document (as the
// validation errors name them) to the line of its key.
func fieldLines(n *yaml.Node, path string, out map[string]int) {
	switch n.Kind {
	case yaml.DocumentNode:
		for _, c := range n.Content {
			fieldLines(c, path, out)
		}
	case yaml.SequenceNode:
		for i, c := range n.Content {
			p := fmt.Sprintf("%s[%d]", path, i)
			if _, ok := out[p]; !ok {
				out[p] = c.Line
			}
			fieldLines(c, p, out)
		}
	case yaml.MappingNode:
		for i := 0; i+1 < len(n.Content); i += 2 {
			p := n.Content[i].Value
			if path != "" {
				p = path + "." + p
			}
			out[p] = n.Content[i].Line
			fieldLines(n.Content[i+1], p, out)
		}
	}
}

// locate gives each error the line of its field, when the file has it, and
// orders the errors by line.
func locate(es []*lineError, lines map[string]int) fileErrors {
	for _, e := range es {
		if l, ok := lines[e.field]; ok && e.field != "" {
			e.line = l
		}
	}
	sort.SliceStable(es, func(i, j int) bool { return es[i].line < es[j].line })
	return es
}

// yamlLine matches the "line N: " of yaml.v3's messages.
var yamlLine = regexp.MustCompile(`^line ([0-9]+): `)

// syntaxError turns a YAML syntax error into a lineError at the line where
// the document stops being valid. yaml.v3 names the line where the
// enclosing structure began, counted from 0, rather than the line at fault
// ("did not find expected key" for an indentation mistake three lines
// into a product names the line before the product). The line at fault is
// the first one such that the document cut after it fails with the same
// message; it is looked for from yaml's line on.
func syntaxError(b []byte, err error) *lineError {
	msg := strings.TrimPrefix(err.Error(), "yaml: ")
	line := 0
	if m := yamlLine.FindStringSubmatch(msg); m != nil {
		line, _ = strconv.Atoi(m[1])
		msg = msg[len(m[0]):]
	}
	lines := bytes.SplitAfter(b, []byte("\n"))
	const maxSearch = 5000 // catalogs are small; beyond, yaml's line stays
	for l := max(line, 1); l <= len(lines) && l < line+maxSearch; l++ {
		var n yaml.Node
		cut := bytes.Join(lines[:l], nil)
		if perr := yaml.NewDecoder(bytes.NewReader(cut)).Decode(&n); perr != nil && stripLine(perr) == msg {
			return &lineError{line: l, msg: "syntax error: " + msg}
		}
	}
	return &lineError{line: max(line, 1), msg: "syntax error: " + msg}
}

// stripLine is a yaml.v3 error's message without its "yaml: line N: ".
func stripLine(err error) string {
	msg := strings.TrimPrefix(err.Error(), "yaml: ")
	if m := yamlLine.FindStringSubmatch(msg); m != nil {
		msg = msg[len(m[0]):]
	}
	return msg
}

// typeErrors turns yaml.v3's unmarshal errors (a value of the wrong type,
// a key given twice), which name their lines correctly, into lineErrors,
// all of them.
func typeErrors(err error) []*lineError {
	var te *yaml.TypeError
	if !errors.As(err, &te) {
		return []*lineError{{line: 1, msg: strings.TrimPrefix(err.Error(), "yaml: ")}}
	}
	var out []*lineError
	for _, s := range te.Errors {
		e := &lineError{line: 1, msg: s}
		if m := yamlLine.FindStringSubmatch(s); m != nil {
			e.line, _ = strconv.Atoi(m[1])
			e.msg = s[len(m[0]):]
		}
		out = append(out, e)
	}
	return out
}
