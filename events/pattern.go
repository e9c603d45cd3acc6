package events

import (
	"bytes"
	"encoding/json"
	"fmt"
	"sort"
)

// Pattern is an EventBridge event pattern over the envelope's top-level
// string members (source, detail-type, account, region): for each named
// member, a list of exact strings and {"prefix": "..."} objects, any of
// which matches. That is the part of EventBridge's syntax that routing
// Marketplace events needs.
type Pattern map[string][]matcher

type matcher struct {
	exact  *string
	prefix *string
}

// patternFields are the members a pattern may name.
var patternFields = map[string]bool{"source": true, "detail-type": true, "account": true, "region": true}

// ParsePattern parses and checks an event pattern, naming what is wrong.
func ParsePattern(s string) (Pattern, error) {
	var raw map[string]json.RawMessage
	d := json.NewDecoder(bytes.NewReader([]byte(s)))
	if err := d.Decode(&raw); err != nil {
		return nil, fmt.Errorf("pattern: not a JSON object: %v", err)
	}
	p := Pattern{}
	keys := make([]string, 0, len(raw))
	for k := range raw {
		keys = append(keys, k)
	}
	sort.Strings(keys)
	for _, k := range keys {
		if !patternFields[k] {
			return nil, fmt.Errorf("pattern: %q: meterd matches only source, detail-type, account and region", k)
		}
		var items []json.RawMessage
		if err := json.Unmarshal(raw[k], &items); err != nil || len(items) == 0 {
			return nil, fmt.Errorf("pattern: %q: want a non-empty array of strings and {\"prefix\": ...}", k)
		}
		for _, it := range items {
			m, err := parseMatcher(it)
			if err != nil {
				return nil, fmt.Errorf("pattern: %q: %v", k, err)
			}
			p[k] = append(p[k], m)
		}
	}
	return p, nil
}

func parseMatcher(it json.RawMessage) (matcher, error) {
	var s string
	if json.Unmarshal(it, &s) == nil {
		return matcher{exact: &s}, nil
	}
	var obj map[string]json.RawMessage
	if json.Unmarshal(it, &obj) == nil && len(obj) == 1 {
		if raw, ok := obj["prefix"]; ok && json.Unmarshal(raw, &s) == nil {
			return matcher{prefix: &s}, nil
		}
	}
	return matcher{}, fmt.Errorf("%s: want a string or {\"prefix\": \"...\"}", it)
}

// Match reports whether the event (its top-level members) matches p.
func (p Pattern) Match(event map[string]any) bool {
	for k, ms := range p {
		v, ok := event[k].(string)
		if !ok {
			return false
		}
		hit := false
		for _, m := range ms {
			if m.exact != nil && *m.exact == v || m.prefix != nil && len(v) >= len(*m.prefix) && v[:len(*m.prefix)] == *m.prefix {
				hit = true
				break
			}
		}
		if !hit {
			return false
		}
	}
	return true
}

// DetailTypePattern is the pattern of Marketplace events of the given
// detail-types ("" or a trailing "*" is a prefix: "Purchase Agreement*").
func DetailTypePattern(detailTypes []string) string {
	items := make([]any, 0, len(detailTypes))
	for _, t := range detailTypes {
		if n := len(t); n > 0 && t[n-1] == '*' {
			items = append(items, map[string]string{"prefix": t[:n-1]})
		} else {
			items = append(items, t)
		}
	}
	p := map[string]any{"source": []string{"aws.agreement-marketplace"}}
	if len(items) > 0 {
		p["detail-type"] = items
	}
	b, _ := json.Marshal(p)
	return string(b)
}
