package bus

import (
	"bytes"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"reflect"
	"strings"
	"sync"

	"github.com/amf-os/amf/internal/clip"
)

// checkKeys walks the JSON in data against the Go type of v and refuses
// what encoding/json lets through silently: a key that names a field of
// a struct only when compared without case ({"Command": …} would fill
// Command) and a key given twice in one object (the last would win, so
// a reader that keeps the first sees another task than the one run).
// Field names come from the struct's json tags, so a new field needs no
// change here. Unknown keys and type errors are left to the decoder.
func checkKeys(data []byte, v any) error {
	dec := json.NewDecoder(bytes.NewReader(data))
	dec.UseNumber()
	return walkKeys(dec, reflect.TypeOf(v), &keyPath{})
}

// maxJSONDepth bounds how deep the walk goes: a task's values nest a few
// levels at most, and encoding/json's own bound, 10,000 levels, is
// checked only after this walk.
const maxJSONDepth = 32

// keyPath is where the walk is, as the keys and lists it entered: the
// text is made only for an error, so a long key costs once, not once per
// key under it.
type keyPath []string

func (p *keyPath) push(seg string) { *p = append(*p, seg) }
func (p *keyPath) pop()            { *p = (*p)[:len(*p)-1] }

// String is the path as an error names it ("env.A", "files[].name"),
// each key cut to maxPathKey bytes.
func (p keyPath) String() string {
	var b strings.Builder
	for _, seg := range p {
		if seg != "[]" && b.Len() > 0 {
			b.WriteByte('.')
		}
		b.WriteString(clip.String(seg, maxPathKey))
	}
	return b.String()
}

// maxPathKey bounds a key as an error repeats it.
const maxPathKey = 64

// walkKeys reads one JSON value from dec; t is the Go type it decodes
// into (nil when unknown) and path where it sits, for the error.
func walkKeys(dec *json.Decoder, t reflect.Type, path *keyPath) error {
	tok, err := dec.Token()
	if err != nil {
		return syntaxOnly(err)
	}
	delim, ok := tok.(json.Delim)
	if !ok {
		return nil
	}
	if len(*path) == maxJSONDepth {
		return fmt.Errorf("the JSON nests deeper than %d levels (at %s): a task's values are strings, numbers and flat lists and objects", maxJSONDepth, path)
	}
	t = deref(t)
	switch delim {
	case '[':
		var elem reflect.Type
		if t != nil && (t.Kind() == reflect.Slice || t.Kind() == reflect.Array) {
			elem = t.Elem()
		}
		path.push("[]")
		for dec.More() {
			if err := walkKeys(dec, elem, path); err != nil {
				return err
			}
		}
		path.pop()
	case '{':
		fields := structFields(t)
		seen := map[string]bool{}
		for dec.More() {
			tok, err := dec.Token()
			if err != nil {
				return syntaxOnly(err)
			}
			key, _ := tok.(string)
			path.push(key)
			if seen[key] {
				return fmt.Errorf("key %q appears twice; give each field once", path)
			}
			seen[key] = true
			var inner reflect.Type
			switch {
			case fields != nil:
				f, ok := fields[key]
				if !ok {
					if exact := foldMatch(fields, key); exact != "" {
						return fmt.Errorf("unknown field %q: field names are case-sensitive; write %q", path, exact)
					}
				}
				inner = f
			case t != nil && t.Kind() == reflect.Map:
				inner = t.Elem()
			}
			if err := walkKeys(dec, inner, path); err != nil {
				return err
			}
			path.pop()
		}
	}
	_, err = dec.Token() // the closing delimiter
	return syntaxOnly(err)
}

// syntaxOnly drops an error the walk meets: malformed JSON is reported
// by the decoder that runs next, with the position and wording people
// are shown for every other JSON mistake.
func syntaxOnly(err error) error {
	if err == nil || errors.Is(err, io.EOF) {
		return nil
	}
	var syn *json.SyntaxError
	if errors.As(err, &syn) || errors.Is(err, io.ErrUnexpectedEOF) {
		return errSyntax
	}
	return err
}

// errSyntax stops the walk at malformed JSON; see syntaxOnly.
var errSyntax = errors.New("malformed JSON")

func deref(t reflect.Type) reflect.Type {
	for t != nil && t.Kind() == reflect.Pointer {
		t = t.Elem()
	}
	return t
}

func foldMatch(fields map[string]reflect.Type, key string) string {
	for name := range fields {
		if strings.EqualFold(name, key) {
			return name
		}
	}
	return ""
}

var (
	jsonUnmarshaler = reflect.TypeFor[json.Unmarshaler]()
	fieldsCache     sync.Map // reflect.Type → map[string]reflect.Type
)

// structFields maps a struct's JSON names to their types, as
// encoding/json names them (tag name, else the Go name; "-" skipped;
// embedded structs flattened). Nil for anything but a struct that
// decodes itself field by field.
func structFields(t reflect.Type) map[string]reflect.Type {
	if t == nil || t.Kind() != reflect.Struct || reflect.PointerTo(t).Implements(jsonUnmarshaler) {
		return nil
	}
	if f, ok := fieldsCache.Load(t); ok {
		return f.(map[string]reflect.Type)
	}
	fields := map[string]reflect.Type{}
	for i := range t.NumField() {
		sf := t.Field(i)
		name, _, _ := strings.Cut(sf.Tag.Get("json"), ",")
		if name == "-" && sf.Tag.Get("json") == "-" {
			continue
		}
		if sf.Anonymous && name == "" {
			if inner := structFields(deref(sf.Type)); inner != nil {
				for k, v := range inner {
					if _, ok := fields[k]; !ok {
						fields[k] = v
					}
				}
				continue
			}
		}
		if !sf.IsExported() {
			continue
		}
		if name == "" {
			name = sf.Name
		}
		fields[name] = sf.Type
	}
	fieldsCache.Store(t, fields)
	return fields
}
