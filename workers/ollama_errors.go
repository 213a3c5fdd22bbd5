package workers

import (
	"context"
	"errors"
	"fmt"
	"net"
	"net/http"
	"syscall"

	"github.com/ollama/ollama/api"

	"github.com/amf-os/amf/kernel/bus"
)

// modelProblem turns an error from the model into a sentence that says
// what to do about it, and whether trying again may help.
func modelProblem(err error, host, model string) (msg string, transient bool) {
	at := "Ollama"
	if host != "" {
		at = "Ollama at " + host
	}
	var se api.StatusError
	var ae api.AuthorizationError
	var ne net.Error
	var stall *stallError
	switch {
	case errors.As(err, &stall) && stall.first:
		return fmt.Sprintf("%s sent no token within %v of asking %s: check that it is responsive (`ollama ps`, the Ollama log); a wedged Ollama needs a restart. If the model is just slow to load, raise --model-first-token (AMF_MODEL_FIRST_TOKEN)", at, stall.after, model), false
	case errors.As(err, &stall):
		return fmt.Sprintf("the model stream from %s stalled: no token for %v after %d chunks; check `ollama ps` and the Ollama log (a stuck runner needs an Ollama restart), or raise --model-stall (AMF_MODEL_STALL) on a machine this slow", at, stall.after, stall.chunks), false
	case errors.As(err, &se) && se.StatusCode == http.StatusNotFound:
		return fmt.Sprintf("model %s not found on %s: run `ollama pull %s` (or set AMF_MODEL to a model you have)", model, at, model), false
	case errors.As(err, &se):
		return fmt.Sprintf("%s answered %d: %s", at, se.StatusCode, orDefault(se.ErrorMessage, se.Status)), se.StatusCode >= 500
	case errors.As(err, &ae):
		return fmt.Sprintf("%s refused the request (%d): check its access settings", at, ae.StatusCode), false
	case errors.Is(err, context.DeadlineExceeded) || errors.As(err, &ne) && ne.Timeout():
		// It took the connection but said nothing: running, not answering.
		return fmt.Sprintf("%s accepted the connection but did not answer in time: it may be frozen or wedged; check `ollama ps` and the Ollama log, and restart `ollama serve` if it stays silent", at), true
	case errors.Is(err, syscall.ECONNREFUSED):
		return fmt.Sprintf("cannot reach %s: is `ollama serve` running? (set OLLAMA_HOST if it listens elsewhere)", at), true
	case errors.As(err, &ne):
		return fmt.Sprintf("cannot reach %s: %v; is `ollama serve` running? (set OLLAMA_HOST if it listens elsewhere)", at, err), true
	case errors.Is(err, errStreamCut):
		return fmt.Sprintf("the model stream from %s broke off before the answer was complete; if it keeps happening, check `ollama ps` and the Ollama log (the model may be running out of memory)", at), true
	}
	return fmt.Sprintf("the model stream from %s failed: %v; check the Ollama log", at, err), true
}

// modelRule is the rule of a failed model request: stalled or not.
func modelRule(err error) string {
	var stall *stallError
	if errors.As(err, &stall) {
		return bus.RuleModelStalled
	}
	return bus.RuleModel
}
