package bus

import (
	"fmt"
	"maps"
	"math"
	"slices"
	"strings"
)

// ModelOptions are the model options one task may set, by Ollama's names.
// Workers send them over their own options for this task's requests only.
type ModelOptions map[string]float64

// taskModelOption bounds one option a task may set. Only sampling options
// are allowed: they change what the model picks, never how Ollama loads
// it, so a task cannot make Ollama reload the model (num_ctx, num_batch,
// num_gpu, num_thread, use_mmap), keep it loaded (keep_alive), or cost the
// other tasks of the worker anything.
type taskModelOption struct {
	min, max float64
	whole    bool
}

// MaxTaskNumPredict bounds the tokens a task may let one reply run to.
const MaxTaskNumPredict = 4096

var taskModelOptions = map[string]taskModelOption{
	"temperature":       {0, 2, false},
	"top_p":             {0, 1, false},
	"min_p":             {0, 1, false},
	"typical_p":         {0, 1, false},
	"top_k":             {1, 1000, true},
	"seed":              {math.MinInt32, math.MaxInt32, true},
	"num_predict":       {1, MaxTaskNumPredict, true},
	"repeat_penalty":    {0, 2, false},
	"repeat_last_n":     {0, 4096, true},
	"presence_penalty":  {-2, 2, false},
	"frequency_penalty": {-2, 2, false},
}

// runnerOptions name why the options a task must not set are refused.
var runnerOptions = map[string]string{
	"num_ctx":    "it sets the context size; another value makes Ollama reload the model for every task of the worker",
	"keep_alive": "it decides how long the model stays loaded for every task; it is the worker's --model-keep-alive",
	"num_batch":  "it changes how Ollama loads the model",
	"num_gpu":    "it changes how Ollama loads the model",
	"main_gpu":   "it changes how Ollama loads the model",
	"num_thread": "it changes how Ollama loads the model",
	"use_mmap":   "it changes how Ollama loads the model",
	"num_keep":   "it changes what Ollama keeps of the prompt when the context is full",
	"stop":       "it can cut the JSON reply the worker asks for",
}

// Validate says which option is not one a task may set, or out of range,
// and what to do instead.
func (o ModelOptions) Validate() error {
	allowed := strings.Join(slices.Sorted(maps.Keys(taskModelOptions)), ", ")
	for _, k := range slices.Sorted(maps.Keys(o)) {
		v := o[k]
		b, ok := taskModelOptions[k]
		switch {
		case runnerOptions[k] != "":
			return fmt.Errorf("%w: model_options: a task may not set %q: %s; set it for the worker (amf worker --model-options). A task may set: %s", ErrInvalidTask, k, runnerOptions[k], allowed)
		case !ok:
			return fmt.Errorf("%w: model_options: %q is not an option a task may set; a task may set: %s", ErrInvalidTask, k, allowed)
		case math.IsNaN(v) || v < b.min || v > b.max:
			return fmt.Errorf("%w: model_options: %s %v is out of range %v–%v", ErrInvalidTask, k, v, b.min, b.max)
		case b.whole && v != math.Trunc(v):
			return fmt.Errorf("%w: model_options: %s %v must be a whole number", ErrInvalidTask, k, v)
		}
	}
	return nil
}
