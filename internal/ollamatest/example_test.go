package ollamatest_test

import (
	"context"
	"fmt"
	"strings"

	"github.com/ollama/ollama/api"

	"github.com/amf-os/amf/internal/ollamatest"
)

func Example() {
	srv, err := ollamatest.Start(ollamatest.WithReplies(
		ollamatest.Reply{Content: "ls -la /var/log"},
	))
	if err != nil {
		fmt.Println(err)
		return
	}
	defer srv.Close()

	var sb strings.Builder
	chunks := 0
	err = srv.Client().Chat(context.Background(), &api.ChatRequest{
		Model:    "qwen3-coder",
		Messages: []api.Message{{Role: "user", Content: "list the logs"}},
	}, func(r api.ChatResponse) error {
		sb.WriteString(r.Message.Content)
		if !r.Done {
			chunks++
		}
		return nil
	})
	fmt.Println(sb.String(), chunks, err)
	fmt.Println(srv.Requests()[0].Messages[0].Content)
	// Output:
	// ls -la /var/log 7 <nil>
	// list the logs
}
