package store

import (
	"bytes"
	"encoding/json"
	"fmt"
	"slices"
)

// Every record written encodes its fields and clocks, every record read decodes them, and every pushed change is
// checked by decoding its fields as an entity: encoding/json spends most of that time on reflection. The
// encoders here write the same bytes as json.Marshal (sorted keys, compact values, HTML characters escaped) for
// what records hold, and the decoders read the compact objects they write into the same maps as json.Unmarshal;
// anything else goes to encoding/json. The bytes stay the same either way, since writes compare fields byte by
// byte with what was stored.

// marshalFields encodes a record's fields as json.Marshal does; verbatim reports whether every value is in it as
// it is in fields (json.Marshal changed none), so that decoding it gives the fields back byte for byte.
func marshalFields(fields map[string]json.RawMessage) (raw []byte, verbatim bool, err error) {
	if b, ok := appendObject(fields, appendRawValue); ok {
		return b, true, nil
	}
	raw, err = json.Marshal(fields)
	return raw, false, err
}

// marshalClocks encodes a record's clock stamps as json.Marshal does; verbatim as for marshalFields.
func marshalClocks(clocks map[string]string) (raw []byte, verbatim bool, err error) {
	if b, ok := appendObject(clocks, func(b []byte, v string) ([]byte, bool) {
		if !plainString(v) {
			return nil, false
		}
		return append(append(append(b, '"'), v...), '"'), true
	}); ok {
		return b, true, nil
	}
	if raw, err = json.Marshal(clocks); err != nil {
		return nil, false, fmt.Errorf("encode clocks: %w", err)
	}
	return raw, false, nil
}

// appendObject writes a map as a JSON object with its keys in order, or reports false when a key or a value
// needs what only json.Marshal does.
func appendObject[V any](m map[string]V, appendValue func([]byte, V) ([]byte, bool)) ([]byte, bool) {
	if m == nil {
		return []byte("null"), true
	}
	keys := make([]string, 0, len(m))
	size := 2
	for k := range m {
		keys = append(keys, k)
		size += len(k) + 24
	}
	slices.Sort(keys)
	b := make([]byte, 0, size)
	b = append(b, '{')
	for i, k := range keys {
		if !plainString(k) {
			return nil, false
		}
		if i > 0 {
			b = append(b, ',')
		}
		b = append(append(append(b, '"'), k...), '"', ':')
		var ok bool
		if b, ok = appendValue(b, m[k]); !ok {
			return nil, false
		}
	}
	return append(b, '}'), true
}

// plainString reports whether json.Marshal writes s between quotes as it is: printable ASCII without quotes,
// backslashes or the characters it escapes for HTML.
func plainString(s string) bool {
	for i := 0; i < len(s); i++ {
		switch c := s[i]; {
		case c < 0x20 || c > 0x7e, c == '"', c == '\\', c == '<', c == '>', c == '&':
			return false
		}
	}
	return true
}

// appendRawValue writes a JSON value that json.Marshal would leave as it is: valid, without whitespace outside
// strings, and without what it escapes for HTML (<, >, &, U+2028, U+2029).
func appendRawValue(b []byte, v json.RawMessage) ([]byte, bool) {
	if v == nil {
		return append(b, "null"...), true
	}
	if rawValueEnd(v) != len(v) || bytes.ContainsAny(v, "<>&\u2028\u2029") || !json.Valid(v) {
		return nil, false
	}
	return append(b, v...), true
}

// unmarshalFields decodes a record's fields as json.Unmarshal does. The values share data's bytes.
func unmarshalFields(data []byte, fields *map[string]json.RawMessage) error {
	if m, ok := splitObject(data, rawValueEnd); ok && json.Valid(data) {
		*fields = m
		return nil
	}
	return json.Unmarshal(data, fields)
}

// unmarshalClocks decodes a record's clock stamps as json.Unmarshal does.
func unmarshalClocks(data []byte, clocks *map[string]string) error {
	m, ok := splitObject(data, plainStringEnd)
	if !ok {
		return json.Unmarshal(data, clocks)
	}
	out := make(map[string]string, len(m))
	for k, v := range m {
		out[k] = string(v[1 : len(v)-1])
	}
	*clocks = out
	return nil
}

// splitObject reads a compact JSON object whose keys are plain strings, {"key":value,...}, into its keys and the
// bytes of their values; valueEnd returns where the value at the start of its argument ends, or -1 when it cannot
// tell. It reports false for anything else, which json.Unmarshal then decodes (or refuses).
func splitObject(data []byte, valueEnd func([]byte) int) (map[string]json.RawMessage, bool) {
	if len(data) < 2 || data[0] != '{' {
		return nil, false
	}
	m := map[string]json.RawMessage{}
	if len(data) == 2 && data[1] == '}' {
		return m, true
	}
	for i := 1; ; {
		if data[i] != '"' {
			return nil, false
		}
		k := plainStringEnd(data[i:])
		if k < 0 || i+k >= len(data) || data[i+k] != ':' {
			return nil, false
		}
		key := string(data[i+1 : i+k-1])
		i += k + 1
		n := valueEnd(data[i:])
		if n <= 0 || i+n >= len(data) {
			return nil, false
		}
		m[key] = json.RawMessage(data[i : i+n : i+n])
		i += n
		switch {
		case data[i] == ',' && i+1 < len(data):
			i++
		case data[i] == '}' && i == len(data)-1:
			return m, true
		default:
			return nil, false
		}
	}
}

// plainStringEnd returns the length of the quoted plain string (plainString) at the start of b, or -1.
func plainStringEnd(b []byte) int {
	if len(b) == 0 || b[0] != '"' {
		return -1
	}
	for i := 1; i < len(b); i++ {
		switch c := b[i]; {
		case c == '"':
			return i + 1
		case c < 0x20 || c > 0x7e, c == '\\':
			return -1
		}
	}
	return -1
}

// rawValueEnd returns the length of the JSON value at the start of b, which the caller checks is valid: a string,
// an object or array (up to its closing bracket), or a number or literal (up to the next comma, closing bracket
// or the end); -1 when whitespace comes first, or the end inside a string or brackets.
func rawValueEnd(b []byte) int {
	depth, inString, escaped := 0, false, false
	for i, c := range b {
		switch {
		case inString:
			if escaped {
				escaped = false
			} else if c == '\\' {
				escaped = true
			} else if c == '"' {
				inString = false
				if depth == 0 {
					return i + 1
				}
			}
		case c == '"':
			inString = true
		case c == '{' || c == '[':
			depth++
		case c == '}' || c == ']':
			if depth == 0 {
				return i
			}
			if depth--; depth == 0 {
				return i + 1
			}
		case c == ',' && depth == 0:
			return i
		case c == ' ' || c == '\t' || c == '\n' || c == '\r':
			return -1
		}
	}
	if inString || depth > 0 {
		return -1
	}
	return len(b)
}
