package workers

import (
	"encoding/json"
	"strings"
	"testing"
)

// Whatever the chunking, the streamed prose is exactly the answer field.
func TestAnswerStreamAnyChunking(t *testing.T) {
	want := "Caf\u00e9 \"quoted\"\nline two \\ done"
	b, _ := json.Marshal(map[string]any{"answers_request": true, "answer": want})
	raw := string(b)
	for size := 1; size <= 7; size++ {
		var s answerStream
		var got strings.Builder
		for i := 0; i < len(raw); i += size {
			got.WriteString(s.feed(raw[i:min(i+size, len(raw))]))
		}
		if got.String() != want {
			t.Fatalf("chunks of %d: streamed %q, want %q", size, got.String(), want)
		}
	}
	if a := parseAnswer(raw); a.Answer != want || a.AnswersRequest == nil || !*a.AnswersRequest {
		t.Fatalf("parseAnswer = %+v", a)
	}
}

func FuzzAnswerStream(f *testing.F) {
	f.Add(`{"answers_request": false, "answer": "x\u00e9\\"}`, 3)
	f.Add("plain prose", 2)
	f.Fuzz(func(t *testing.T, raw string, size int) {
		if size <= 0 || size > 64 {
			size = 1
		}
		var s answerStream
		n := 0
		for i := 0; i < len(raw); i += size {
			n += len(s.feed(raw[i:min(i+size, len(raw))]))
		}
		if n > len(raw)*3 {
			t.Fatalf("streamed %d bytes from %d", n, len(raw))
		}
		_ = parseAnswer(raw)
	})
}
