// Package ollamatest is a protocol-faithful fake Ollama server: a real HTTP
// server on the loopback interface that speaks the wire format of Ollama
// v0.17 for what AMF calls — the NDJSON stream of /api/chat ending in the
// done:true message with its duration fields, /api/embed, /api/show,
// /api/ps, /api/version, and Ollama's error bodies and status codes — so tests and benchmarks exercise the real
// github.com/ollama/ollama/api client instead of a mock of it.
//
// Replies are scripted: a queue of [Reply] values consumed one per
// completion request, or a [Handler] that decides the reply from the
// request. A reply can stream slowly, fail with an HTTP error, fail
// mid-stream, drop the connection after N tokens or hang; the whole server
// can hang ([Server.SetHang]: chat and embed; [Server.SetFrozen]: every
// route, as under SIGSTOP) or go down and come back on the same address.
//
//	srv := ollamatest.New(t, ollamatest.WithReplies(ollamatest.Reply{Content: "ls -la /var/log"}))
//	client := srv.Client() // or api.NewClient(url, http.DefaultClient) with srv.URL()
//	err := client.Chat(ctx, &api.ChatRequest{Model: "qwen3-coder", Messages: msgs}, fn)
//	reqs := srv.Requests() // what the client sent, for assertions
//
// It is an ordinary package, not a _test one, so benchmarks in other
// packages can start it with [Start].
package ollamatest
