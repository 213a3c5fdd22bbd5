package bridge_test

import (
	"encoding/json"
	"net/http"
	"strings"
	"testing"
)

// A resume point that is not an event id is refused with a message that
// names the part of the request the client sent it in and what it takes.
func TestBadResumePointNamesWhereItCameFrom(t *testing.T) {
	f := newFixture(t)
	publishEvents(t, f, "resume-bad", 0, 1, false)
	cases := []struct {
		name, query, header   string
		mentions, notMentions string
	}{
		{"query", "?after=abc", "", `query parameter "after" is "abc"`, "Last-Event-ID"},
		{"header", "", "abc", `header Last-Event-ID is "abc"`, `"after"`},
		{"negative query", "?after=-1", "", `"after" is "-1"`, "Last-Event-ID"},
	}
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			req, _ := http.NewRequest("GET", f.url+"/v1/tasks/resume-bad/events"+c.query, nil)
			if c.header != "" {
				req.Header.Set("Last-Event-ID", c.header)
			}
			resp, err := http.DefaultClient.Do(req)
			if err != nil {
				t.Fatal(err)
			}
			defer resp.Body.Close()
			var body apiErr
			if err := json.NewDecoder(resp.Body).Decode(&body); err != nil {
				t.Fatalf("status %d, body not an API error: %v", resp.StatusCode, err)
			}
			msg := body.Error.Message
			if resp.StatusCode != http.StatusBadRequest || body.Error.Code != "bad_request" {
				t.Fatalf("status %d code %q: %s", resp.StatusCode, body.Error.Code, msg)
			}
			if !strings.Contains(msg, c.mentions) || strings.Contains(msg, c.notMentions) {
				t.Errorf("message %q: want it to say %q and not %q", msg, c.mentions, c.notMentions)
			}
			if !strings.Contains(msg, "whole number") || !strings.Contains(msg, "leave it out") {
				t.Errorf("message %q does not say what it expects", msg)
			}
		})
	}
}
