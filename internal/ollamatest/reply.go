package ollamatest

import (
	"fmt"
	"time"

	"github.com/ollama/ollama/api"
)

// Reply scripts the answer to one chat request. The zero value
// is an empty completion that ends with done:true.
type Reply struct {
	// Content is the assistant text; it is split into tokens with
	// [Tokenize] unless Tokens is set.
	Content string
	// Tokens, when set, is the exact sequence of content chunks to stream;
	// Content is then ignored.
	Tokens []string
	// Thinking is reasoning text streamed in message.thinking before the
	// content. It is sent only when the
	// model is a thinking model and the request did not set think:false,
	// as Ollama does.
	Thinking string
	// ToolCalls are sent in one chunk after the content, each given an
	// "call_xxxxxxxx" id when it has none, as Ollama's tool parser does.
	ToolCalls []api.ToolCall
	// DoneReason of the final message; "stop" when empty.
	DoneReason string

	// Err answers with this status and Ollama's {"error": …} body instead
	// of a completion.
	Err *HTTPError
	// StreamErr, when set, ends the stream after the tokens (or after
	// CutAfter tokens) with an {"error": …} line instead of the done
	// message, as Ollama does when the runner fails after output began.
	// The client returns it as an error.
	StreamErr string
	// CutAfter > 0 drops the TCP connection abruptly after that many chunks
	// were flushed, as when the Ollama process dies mid-answer.
	CutAfter int
	// Hang stalls the reply after HangAfter chunks (0: before the response
	// header) until the client gives up or the server closes.
	Hang      bool
	HangAfter int
	// Delay between two chunks; 0 uses the server's token delay, a
	// negative value streams without delay whatever the server's setting.
	Delay time.Duration
}

// HTTPError is an error answer: the status code and the message Ollama
// would put in {"error": message}.
type HTTPError struct {
	Status  int
	Message string
}

func (e *HTTPError) Error() string { return fmt.Sprintf("%d: %s", e.Status, e.Message) }

// Handler decides the reply to a chat request. It runs on the request's
// goroutine and may be called concurrently.
type Handler func(req *api.ChatRequest) Reply

// contentTokens is the content split the way it will be streamed.
func (r *Reply) contentTokens() []string {
	if r.Tokens != nil {
		return r.Tokens
	}
	return Tokenize(r.Content)
}
