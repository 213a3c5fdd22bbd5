package reply_test

import (
	"fmt"

	"github.com/amf-os/amf/workers/reply"
)

func ExampleParse() {
	for _, text := range []string{
		`{"thought": "du sums sizes", "command": "du -sh ."}`,
		"<think>the user wants the kernel</think>\nSure! Run:\n```bash\nuname -r\n```",
		`<tool_call>{"name": "run", "arguments": {"command": "df -h /"}}</tool_call>`,
		"I'm sorry, I can't help with that.",
	} {
		p, err := reply.Parse(text)
		if err != nil {
			fmt.Println(err)
			continue
		}
		fmt.Printf("%s: %s\n", p.Shape, p.Command)
	}
	// Output:
	// json: du -sh .
	// fence: uname -r
	// tool-call: df -h /
	// unusable reply: it held prose but no shell command
}
