package events

import (
	"crypto/md5"
	"encoding/binary"
	"encoding/hex"
	"encoding/json"
	"sort"
	"strings"

	"github.com/meterd/meterd"
)

// MessageAttributeValue is one user message attribute as SQS carries it
// (BinaryValue is base64 in JSON, which encoding/json does for []byte).
type MessageAttributeValue struct {
	DataType    string
	StringValue *string `json:",omitempty"`
	BinaryValue []byte  `json:",omitempty"`
}

const maxMessageAttributes = 10

// checkMessageAttributes refuses attributes SQS would refuse: more than
// ten, a bad name, a data type that is not String, Number or Binary (with
// an optional ".custom" suffix), or a value missing for its type.
func checkMessageAttributes(attrs map[string]MessageAttributeValue) error {
	if len(attrs) > maxMessageAttributes {
		return meterd.Errorf(EInvalidParameterValue, "Number of message attributes [%d] exceeds the allowed maximum [%d].", len(attrs), maxMessageAttributes)
	}
	for name, v := range attrs {
		if !validAttributeName(name) {
			return meterd.Errorf(EInvalidParameterValue, "Message attribute name '%s' is invalid.", name)
		}
		base, _, _ := strings.Cut(v.DataType, ".")
		switch {
		case base == "String" || base == "Number":
			if v.StringValue == nil {
				return meterd.Errorf(EInvalidParameterValue, "Message attribute '%s' must contain a non-empty value of message attribute type '%s'.", name, v.DataType)
			}
		case base == "Binary":
			if v.BinaryValue == nil {
				return meterd.Errorf(EInvalidParameterValue, "Message attribute '%s' must contain a non-empty value of message attribute type '%s'.", name, v.DataType)
			}
		default:
			return meterd.Errorf(EInvalidParameterValue, "The type of message attribute '%s' is invalid. You must use only the following supported type prefixes: Binary, Number, String.", name)
		}
		if len(v.DataType) > 256 {
			return meterd.Errorf(EInvalidParameterValue, "Message attribute '%s' has a data type longer than 256 characters.", name)
		}
	}
	return nil
}

// validAttributeName is SQS's rule for message attribute names: 1 to 256
// of A-Z a-z 0-9 _ - ., no leading or trailing or doubled period, no
// "AWS." or "Amazon." prefix.
func validAttributeName(name string) bool {
	if name == "" || len(name) > 256 || strings.HasPrefix(name, ".") || strings.HasSuffix(name, ".") || strings.Contains(name, "..") {
		return false
	}
	low := strings.ToLower(name)
	if strings.HasPrefix(low, "aws.") || strings.HasPrefix(low, "amazon.") {
		return false
	}
	for _, r := range name {
		if !(r >= 'a' && r <= 'z' || r >= 'A' && r <= 'Z' || r >= '0' && r <= '9' || r == '_' || r == '-' || r == '.') {
			return false
		}
	}
	return true
}

// attributesSize is the bytes the attributes count toward the message
// size limit: names, types and values.
func attributesSize(attrs map[string]MessageAttributeValue) int {
	n := 0
	for name, v := range attrs {
		n += len(name) + len(v.DataType) + len(v.BinaryValue)
		if v.StringValue != nil {
			n += len(*v.StringValue)
		}
	}
	return n
}

// md5OfAttributes is SQS's MD5OfMessageAttributes: over the attributes
// sorted by name, each encoded as its name, its data type (each with a
// 4-byte big-endian length), a transport byte (1 string, 2 binary) and its
// value with its length. Empty when there are none, as SQS omits it.
func md5OfAttributes(attrs map[string]MessageAttributeValue) string {
	if len(attrs) == 0 {
		return ""
	}
	names := make([]string, 0, len(attrs))
	for n := range attrs {
		names = append(names, n)
	}
	sort.Strings(names)
	h := md5.New()
	field := func(b []byte) {
		var l [4]byte
		binary.BigEndian.PutUint32(l[:], uint32(len(b)))
		h.Write(l[:])
		h.Write(b)
	}
	for _, n := range names {
		v := attrs[n]
		field([]byte(n))
		field([]byte(v.DataType))
		if strings.HasPrefix(v.DataType, "Binary") {
			h.Write([]byte{2})
			field(v.BinaryValue)
		} else {
			h.Write([]byte{1})
			field([]byte(*v.StringValue))
		}
	}
	return hex.EncodeToString(h.Sum(nil))
}

// encodeAttributes is the stored form of a message's attributes.
func encodeAttributes(attrs map[string]MessageAttributeValue) string {
	if len(attrs) == 0 {
		return "{}"
	}
	b, _ := json.Marshal(attrs)
	return string(b)
}

// selectAttributes decodes a stored message's attributes and keeps those
// the receiver asked for by MessageAttributeNames: "All" or ".*" for every
// one, a name, or a prefix ending in ".*".
func selectAttributes(stored string, names []string) map[string]MessageAttributeValue {
	if len(names) == 0 || stored == "" || stored == "{}" {
		return nil
	}
	var attrs map[string]MessageAttributeValue
	if err := json.Unmarshal([]byte(stored), &attrs); err != nil {
		return nil
	}
	out := map[string]MessageAttributeValue{}
	for name, v := range attrs {
		for _, want := range names {
			if want == "All" || want == ".*" || want == name ||
				strings.HasSuffix(want, ".*") && strings.HasPrefix(name, strings.TrimSuffix(want, "*")) {
				out[name] = v
				break
			}
		}
	}
	if len(out) == 0 {
		return nil
	}
	return out
}
