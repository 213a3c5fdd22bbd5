package workers

import (
	"encoding/json"
	"regexp"
	"strings"
	"unicode/utf8"
)

// answerFormat is the JSON schema Ollama constrains answers to: the
// verdict first, so it is decided before the prose, then the answer.
var answerFormat = json.RawMessage(`{"type":"object","properties":{"answers_request":{"type":"boolean"},"answer":{"type":"string"}},"required":["answers_request","answer"]}`)

// answerReply is the structured answer.
type answerReply struct {
	// AnswersRequest is the model's verdict: does the command's output
	// answer the request? nil when the reply did not say.
	AnswersRequest *bool  `json:"answers_request"`
	Answer         string `json:"answer"`
}

// parseAnswer reads a structured answer; a reply that is not one (the
// model ignored the format) is the answer itself, with no verdict.
func parseAnswer(raw string) answerReply {
	var a answerReply
	t := strings.TrimSpace(raw)
	if strings.HasPrefix(t, "{") && json.Unmarshal([]byte(t), &a) == nil && (a.AnswersRequest != nil || a.Answer != "") {
		return a
	}
	return answerReply{Answer: raw}
}

var answerKey = regexp.MustCompile(`"answer"\s*:\s*"`)

// answerStream turns the streamed chunks of a structured answer into the
// text of its "answer" field as it arrives, so a user reads prose, not
// JSON. A reply that does not start as a JSON object streams as it is.
type answerStream struct {
	raw     strings.Builder
	shown   int // bytes of the decoded answer already returned
	rawMode bool
	decided bool
}

// feed takes one chunk and returns the answer text it adds.
func (s *answerStream) feed(chunk string) string {
	s.raw.WriteString(chunk)
	if !s.decided {
		t := strings.TrimSpace(s.raw.String())
		if t == "" {
			return ""
		}
		s.decided, s.rawMode = true, t[0] != '{'
		if s.rawMode {
			return s.raw.String()
		}
	}
	if s.rawMode {
		return chunk
	}
	text := s.decoded()
	if len(text) <= s.shown {
		return ""
	}
	out := text[s.shown:]
	s.shown = len(text)
	return out
}

// decoded is the answer field's value as far as it is complete.
func (s *answerStream) decoded() string {
	raw := s.raw.String()
	loc := answerKey.FindStringIndex(raw)
	if loc == nil {
		return ""
	}
	body := raw[loc[1]:]
	end := 0
	for end < len(body) {
		c := body[end]
		if c == '"' {
			break
		}
		if c != '\\' {
			end++
			continue
		}
		need := 2
		if end+1 < len(body) && body[end+1] == 'u' {
			need = 6
		}
		if end+need > len(body) {
			break // an escape cut by the chunk boundary: wait for the rest
		}
		end += need
	}
	// A character cut by the chunk boundary waits for its other bytes.
	if i := end - 1; i >= 0 {
		for i > 0 && !utf8.RuneStart(body[i]) {
			i--
		}
		if !utf8.FullRuneInString(body[i:end]) {
			end = i
		}
	}
	var out string
	if json.Unmarshal([]byte(`"`+body[:end]+`"`), &out) != nil {
		return strings.ReplaceAll(body[:end], `\n`, "\n")
	}
	return out
}
