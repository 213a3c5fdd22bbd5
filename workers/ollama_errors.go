package workers

import (
	"errors"
	"fmt"
	"net"
	"net/http"
	"syscall"

	"github.com/ollama/ollama/api"
)

// modelProblem turns an error from the model into a sentence that says
// what to do about it, and whether trying again may help.
func modelProblem(err error, host, model string) (msg string, transient bool) {
	var se api.StatusError
	var ae api.AuthorizationError
	var ne net.Error
	switch {
	case errors.As(err, &se) && se.StatusCode == http.StatusNotFound:
		return fmt.Sprintf("model %s not found on Ollama at %s: run `ollama pull %s` (or set AMF_MODEL to a model you have)", model, host, model), false
	case errors.As(err, &se):
		return fmt.Sprintf("Ollama at %s answered %d: %s", host, se.StatusCode, orDefault(se.ErrorMessage, se.Status)), se.StatusCode >= 500
	case errors.As(err, &ae):
		return fmt.Sprintf("Ollama at %s refused the request (%d): check its access settings", host, ae.StatusCode), false
	case errors.Is(err, syscall.ECONNREFUSED):
		return fmt.Sprintf("cannot reach Ollama at %s: is `ollama serve` running? (set OLLAMA_HOST if it listens elsewhere)", host), true
	case errors.As(err, &ne):
		return fmt.Sprintf("cannot reach Ollama at %s: %v; is `ollama serve` running? (set OLLAMA_HOST if it listens elsewhere)", host, err), true
	}
	return fmt.Sprintf("the model stream from Ollama at %s broke off: %v", host, err), true
}
