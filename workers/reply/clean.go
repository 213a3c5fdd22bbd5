package reply

import "strings"

// templateTokens are chat-template markers some runtimes leave in the
// text when a model's template and the server disagree.
var templateTokens = []string{
	"<|im_start|>assistant", "<|im_start|>", "<|im_end|>", "<|eot_id|>",
	"<|end_of_text|>", "<|endoftext|>", "<|end|>", "<|python_tag|>",
	"<|start_header_id|>assistant<|end_header_id|>", "</s>", "<s>",
	"[/INST]", "[INST]", "<|assistant|>", "<end_of_turn>", "<start_of_turn>model",
}

func cleanReply(s string) string {
	if len(s) > MaxBytes {
		s = s[:MaxBytes]
	}
	s = strings.ToValidUTF8(s, "\uFFFD")
	s = strings.ReplaceAll(s, "\r\n", "\n")
	for _, t := range templateTokens {
		s = strings.ReplaceAll(s, t, "\n")
	}
	return strings.TrimPrefix(strings.TrimSpace(s), "\uFEFF")
}

// thinkTags are the reasoning blocks models print before their answer.
var thinkTags = []string{"think", "thinking", "thought", "reasoning", "reflection", "scratchpad"}

// stripThinking removes reasoning blocks and returns them apart. A
// closing tag with no opening one (templates that put <think> in the
// prompt) drops everything before it; an opening tag never closed (the
// reply was cut short) drops the rest.
func stripThinking(s string) (rest, thinking string) {
	var thought strings.Builder
	// gpt-oss "harmony": <|channel|>analysis<|message|>…<|start|>…final<|message|>answer
	if i := strings.LastIndex(s, "<|channel|>final<|message|>"); i >= 0 {
		thought.WriteString(s[:i])
		s = s[i+len("<|channel|>final<|message|>"):]
	}
	lower := strings.ToLower(s)
	for _, tag := range thinkTags {
		open, end := "<"+tag+">", "</"+tag+">"
		for range 8 {
			i := strings.Index(lower, open)
			j := strings.Index(lower, end)
			switch {
			case j >= 0 && (i < 0 || j < i):
				thought.WriteString(s[:j])
				s, lower = s[j+len(end):], lower[j+len(end):]
			case i >= 0 && j > i:
				thought.WriteString(s[i+len(open) : j])
				s, lower = s[:i]+s[j+len(end):], lower[:i]+lower[j+len(end):]
			case i >= 0:
				thought.WriteString(s[i+len(open):])
				s, lower = s[:i], lower[:i]
			default:
				goto next
			}
		}
	next:
	}
	return strings.TrimSpace(s), strings.TrimSpace(thought.String())
}

// Text is a reply without chat-template tokens and thinking blocks: what
// the user should read of a model's prose answer.
func Text(reply string) string {
	text, _ := stripThinking(cleanReply(reply))
	return strings.TrimSpace(text)
}
