package bus_test

import (
	"errors"
	"strings"
	"testing"

	"github.com/amf-os/amf/kernel/bus"
)

func TestTaskModelOptions(t *testing.T) {
	task, err := bus.DecodeTask([]byte(`{"instruction":"x","model_options":{"temperature":0.7,"seed":42,"top_k":20,"top_p":0.5,"num_predict":200}}`))
	if err != nil {
		t.Fatal(err)
	}
	want := bus.ModelOptions{"temperature": 0.7, "seed": 42, "top_k": 20, "top_p": 0.5, "num_predict": 200}
	if len(task.ModelOptions) != len(want) {
		t.Fatalf("model options %v, want %v", task.ModelOptions, want)
	}
	for k, v := range want {
		if task.ModelOptions[k] != v {
			t.Fatalf("model options %v, want %v", task.ModelOptions, want)
		}
	}
	again, err := bus.DecodeTask(task.Encode())
	if err != nil || again.ModelOptions["seed"] != 42 {
		t.Fatalf("round trip: %v %v", again.ModelOptions, err)
	}
}

// What a task may not set is refused at submission, saying why and what
// it may set instead.
func TestTaskModelOptionsRefused(t *testing.T) {
	cases := []struct{ name, options, mentions string }{
		{"context size", `{"num_ctx":32768}`, `may not set "num_ctx": it sets the context size`},
		{"keep alive", `{"keep_alive":"1h"}`, "model_options must be an object of numbers"},
		{"keep alive number", `{"keep_alive":3600}`, `may not set "keep_alive"`},
		{"load option", `{"num_gpu":0}`, `may not set "num_gpu"`},
		{"stop words", `{"stop":1}`, `may not set "stop"`},
		{"unknown", `{"temprature":0.5}`, `"temprature" is not an option a task may set; a task may set: `},
		{"too hot", `{"temperature":5}`, "temperature 5 is out of range 0–2"},
		{"unbounded reply", `{"num_predict":-1}`, "num_predict -1 is out of range 1–4096"},
		{"huge reply", `{"num_predict":100000}`, "num_predict 100000 is out of range"},
		{"fractional top_k", `{"top_k":2.5}`, "top_k 2.5 must be a whole number"},
		{"string value", `{"temperature":"hot"}`, "model_options must be an object of numbers"},
		{"not an object", `[1]`, "model_options must be an object of numbers"},
	}
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			_, err := bus.DecodeTask([]byte(`{"instruction":"x","model_options":` + c.options + `}`))
			if !errors.Is(err, bus.ErrInvalidTask) || !strings.Contains(err.Error(), c.mentions) {
				t.Fatalf("err = %v, want ErrInvalidTask saying %q", err, c.mentions)
			}
		})
	}
	_, err := bus.DecodeTask([]byte(`{"command":"ls","model_options":{"seed":1}}`))
	if !errors.Is(err, bus.ErrInvalidTask) || !strings.Contains(err.Error(), `"command" does not ask it`) {
		t.Fatalf("model options on a command task: %v", err)
	}
}
