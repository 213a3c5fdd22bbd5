// Package ssetest reads a text/event-stream as a client of the bridge
// does, for tests and benchmarks that drive the bridge over HTTP.
package ssetest

import (
	"bufio"
	"io"
	"strings"
)

// Message is one message of an event stream as a client reads it.
type Message struct {
	ID    string
	Event string
	Data  string
}

// Read parses a text/event-stream and calls fn for each message;
// comment lines (keep-alives) are skipped. It returns when the stream
// ends (nil), on a read error, or with fn's error.
func Read(r io.Reader, fn func(Message) error) error {
	sc := bufio.NewScanner(r)
	sc.Buffer(make([]byte, 0, 64<<10), 16<<20)
	var m Message
	var data []string
	for sc.Scan() {
		line := sc.Text()
		if line == "" {
			if len(data) > 0 || m.Event != "" || m.ID != "" {
				m.Data = strings.Join(data, "\n")
				if err := fn(m); err != nil {
					return err
				}
			}
			m, data = Message{}, data[:0]
			continue
		}
		if strings.HasPrefix(line, ":") {
			continue
		}
		field, value, _ := strings.Cut(line, ":")
		value = strings.TrimPrefix(value, " ")
		switch field {
		case "id":
			m.ID = value
		case "event":
			m.Event = value
		case "data":
			data = append(data, value)
		}
	}
	return sc.Err()
}
