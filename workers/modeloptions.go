package workers

import (
	"encoding/json"
	"fmt"
	"maps"
	"reflect"
	"slices"
	"strings"
	"time"

	"github.com/ollama/ollama/api"
)

// DefaultKeepAlive is how long Ollama keeps the model loaded after a
// request. Every request carries the same value, so no request makes
// Ollama reload or re-plan the model.
const DefaultKeepAlive = 30 * time.Minute

// DefaultModelOptions suit command generation: little randomness, so the
// same request gets the same command and a correction changes what the
// feedback asks for, not what chance picks.
func DefaultModelOptions() map[string]any {
	return map[string]any{"temperature": 0.2, "top_p": 0.9}
}

// ollamaOptions are the option names Ollama accepts (api.Options and its
// runner options), by their JSON names.
var ollamaOptions = func() map[string]bool {
	out := map[string]bool{}
	for _, f := range reflect.VisibleFields(reflect.TypeOf(api.Options{})) {
		if tag := strings.Split(f.Tag.Get("json"), ",")[0]; tag != "" && tag != "-" {
			out[tag] = true
		}
	}
	return out
}()

// ParseModelOptions reads model options given as a JSON object, such as
// {"temperature": 0, "num_ctx": 8192}: names Ollama does not know and
// values of the wrong type are errors that say so.
func ParseModelOptions(text string) (map[string]any, error) {
	if strings.TrimSpace(text) == "" {
		return nil, nil
	}
	var m map[string]any
	if err := json.Unmarshal([]byte(text), &m); err != nil {
		return nil, fmt.Errorf("%w: model options must be a JSON object such as {\"temperature\": 0.2}: %v", ErrConfig, err)
	}
	if err := checkModelOptions(m); err != nil {
		return nil, err
	}
	return m, nil
}

func checkModelOptions(m map[string]any) error {
	for _, k := range slices.Sorted(maps.Keys(m)) {
		if !ollamaOptions[k] {
			return fmt.Errorf("%w: model option %q is not one Ollama knows (see `ollama show --parameters` and Ollama's Modelfile docs: temperature, top_p, top_k, num_ctx, num_predict, seed, …)", ErrConfig, k)
		}
	}
	var o api.Options
	if err := o.FromMap(m); err != nil {
		return fmt.Errorf("%w: model options: %v", ErrConfig, err)
	}
	return nil
}

// requestOptions are the options of every model request: the defaults,
// then the operator's.
func requestOptions(cfg map[string]any) map[string]any {
	out := DefaultModelOptions()
	maps.Copy(out, cfg)
	return out
}
