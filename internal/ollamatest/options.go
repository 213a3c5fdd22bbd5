package ollamatest

import "time"

// Option configures a Server at Start.
type Option func(*config)

type config struct {
	addr       string
	models     []Model
	replies    []Reply
	handler    Handler
	fallback   *Reply
	tokenDelay time.Duration
	loadDelay  time.Duration
	version    string
	embedDims  int
}

// WithModels replaces DefaultModels.
func WithModels(models ...Model) Option { return func(c *config) { c.models = models } }

// WithReplies queues replies, consumed one per chat request.
func WithReplies(replies ...Reply) Option {
	return func(c *config) { c.replies = append(c.replies, replies...) }
}

// WithHandler decides every reply from its request; the queue is then
// unused.
func WithHandler(h Handler) Option { return func(c *config) { c.handler = h } }

// WithFallback is the reply when the queue is empty and there is no
// handler. Without it such a request gets a 500 error naming the cause.
func WithFallback(r Reply) Option { return func(c *config) { c.fallback = &r } }

// WithTokenDelay sets the pause between two streamed chunks (default 0:
// as fast as the connection takes them).
func WithTokenDelay(d time.Duration) Option { return func(c *config) { c.tokenDelay = d } }

// WithLoadDelay makes the first request for each model wait d, as Ollama
// does while it loads a model into memory; load_duration reports it.
func WithLoadDelay(d time.Duration) Option { return func(c *config) { c.loadDelay = d } }

// WithVersion is what /api/version reports (default "0.17.4").
func WithVersion(v string) Option { return func(c *config) { c.version = v } }
