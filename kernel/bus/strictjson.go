package bus

import (
	"bytes"
	"cmp"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"reflect"
	"strings"
	"sync"
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
	return walkKeys(dec, reflect.TypeOf(v), "", 0)
}

// maxJSONDepth bounds how deep the walk goes: a task's values nest a few
// levels at most, and each level the walk enters holds its own path, so
// a body of a million '[' would cost memory and time in the square of
// its depth (encoding/json's own bound is 10,000 levels, checked only
// after this walk).
const maxJSONDepth = 32

// walkKeys reads one JSON value from dec; t is the Go type it decodes
// into (nil when unknown), path where it sits, for the error, and depth
// how many arrays and objects enclose it.
func walkKeys(dec *json.Decoder, t reflect.Type, path string, depth int) error {
	tok, err := dec.Token()
	if err != nil {
		return syntaxOnly(err)
	}
	delim, ok := tok.(json.Delim)
	if !ok {
		return nil
	}
	if depth == maxJSONDepth {
		return fmt.Errorf("the JSON nests deeper than %d levels (at %s): a task's values are strings, numbers and flat lists and objects", maxJSONDepth, cmp.Or(path, "the top"))
	}
	t = deref(t)
	switch delim {
	case '[':
		var elem reflect.Type
		if t != nil && (t.Kind() == reflect.Slice || t.Kind() == reflect.Array) {
			elem = t.Elem()
		}
		for dec.More() {
			if err := walkKeys(dec, elem, path+"[]", depth+1); err != nil {
				return err
			}
		}
	case '{':
		fields := structFields(t)
		seen := map[string]bool{}
		for dec.More() {
			tok, err := dec.Token()
			if err != nil {
				return syntaxOnly(err)
			}
			key, _ := tok.(string)
			at := key
			if path != "" {
				at = path + "." + key
			}
			if seen[key] {
				return fmt.Errorf("key %q appears twice; give each field once", at)
			}
			seen[key] = true
			var inner reflect.Type
			switch {
			case fields != nil:
				f, ok := fields[key]
				if !ok {
					if exact := foldMatch(fields, key); exact != "" {
						return fmt.Errorf("unknown field %q: field names are case-sensitive; write %q", at, exact)
					}
				}
				inner = f
			case t != nil && t.Kind() == reflect.Map:
				inner = t.Elem()
			}
			if err := walkKeys(dec, inner, at, depth+1); err != nil {
				return err
			}
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
