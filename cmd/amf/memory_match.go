package main

import (
	"context"
	"encoding/json"
	"fmt"
	"io"
	"os"
	"strings"

	"github.com/amf-os/amf/memory/knowledge"
	"github.com/amf-os/amf/workers"
)

const memoryMatchUsage = `memory match --learned "INSTRUCTION" --query "INSTRUCTION" [-o json] [--model EMBED_MODEL] [--command CMD]`

// matchResult is what amf memory match -o json prints: the memory's
// verdict, and the model's second look when --command asked for one.
type matchResult struct {
	knowledge.Verdict
	Command    string `json:"command,omitempty"`
	SecondLook string `json:"second_look,omitempty"`
}

// runMemoryMatch prints whether a worker would replay what it learned for
// --learned when asked --query: "reuse", or "ask: WHY" (the model is
// asked for a command, and why). The decision is the worker's own code:
// the same embedder choice, calibrated threshold and agreement
// (knowledge.Calibration.Judge, what Recall applies), and with --command
// the same second look (workers.SecondLook). It needs no kernel.
func runMemoryMatch(ctx context.Context, args []string, stdout io.Writer) error {
	var c common
	var learned, query, embedModel, ollamaHost, chatModel, command string
	var output string
	f := newFlags("memory match", memoryMatchUsage)
	c.bindLog(f)
	f.str(&learned, "learned", "", "", "the instruction a worker learned a command for")
	f.str(&query, "query", "", "", "the new instruction")
	f.str(&embedModel, "model", "AMF_EMBED_MODEL", "", "Ollama embedding model, as the workers' AMF_EMBED_MODEL; empty = the local embedder")
	f.StringVar(&embedModel, "embed-model", embedModel, "the same as --model")
	f.str(&ollamaHost, "ollama", "OLLAMA_HOST", defaultOllama, "Ollama address")
	f.str(&command, "command", "", "", "the learned command: after a reuse verdict, ask the chat model the workers' second look about it")
	f.str(&chatModel, "chat-model", "AMF_MODEL", workers.DefaultModel, "chat model for the second look")
	outputFlag(f, &output, "json")
	if err := f.parse(args); err != nil {
		return err
	}
	if err := checkOutput(output, "json"); err != nil {
		return err
	}
	if f.NArg() > 0 {
		return fmt.Errorf("memory match takes its instructions as --learned and --query, not %q (quote each instruction)", strings.Join(f.Args(), " "))
	}
	if strings.TrimSpace(learned) == "" || strings.TrimSpace(query) == "" {
		return fmt.Errorf(`memory match needs both instructions, e.g. amf memory match --learned "show the disk usage" --query "display the disk usage"`)
	}
	if c.logLevel == "info" {
		c.logLevel = "warn"
	}
	log := c.logger()
	var emb knowledge.Embedder
	client, _, err := ollamaClient(ollamaHost)
	if err != nil && (embedModel != "" || command != "") {
		return err
	}
	// The workers' choice: Ollama's embedder when it answers, else the
	// local one (with a warning).
	emb = knowledge.ChooseEmbedder(ctx, client, embedModel, log)
	cal, err := knowledge.Calibrate(ctx, emb)
	if err != nil {
		return fmt.Errorf("memory match: %w", err)
	}
	v, err := cal.Judge(ctx, emb, learned, query)
	if err != nil {
		return fmt.Errorf("memory match: %w", err)
	}
	res := matchResult{Verdict: v, Command: command}
	if v.Reuse && command != "" {
		look := &workers.SecondLook{LLM: client, Model: chatModel}
		l, err := look.Check(ctx, query, command, nil)
		switch {
		case err != nil:
			res.Reuse, res.Why, res.SecondLook = false, "the model could not take a second look ("+err.Error()+"); asking it for a command instead", "failed"
		case !l.Same:
			res.Reuse, res.Why, res.SecondLook = false, "the model's second look says this command does not do exactly this request; asking it for a command instead", "no"
		default:
			res.SecondLook = "yes"
		}
	}
	if output == "json" {
		b, err := json.Marshal(res)
		if err != nil {
			return err
		}
		_, err = fmt.Fprintln(stdout, string(b))
		return err
	}
	if res.Reuse {
		_, err = fmt.Fprintln(stdout, "reuse")
	} else {
		_, err = fmt.Fprintln(stdout, "ask: "+res.Why)
	}
	return err
}

// memoryMatchMain is the memory subcommand's entry for match.
func memoryMatchMain(ctx context.Context, args []string) error {
	return runMemoryMatch(ctx, args, os.Stdout)
}
