package workers

import (
	"context"
	"errors"
	"fmt"
	"strings"
	"sync"
	"time"

	"github.com/ollama/ollama/api"

	"github.com/amf-os/amf/kernel/bus"
)

// modelServer is what Ollama's client offers beside chat; *api.Client
// implements it. An LLM without it is not checked or described.
type modelServer interface {
	Show(ctx context.Context, req *api.ShowRequest) (*api.ShowResponse, error)
	ListRunning(ctx context.Context) (*api.ProcessResponse, error)
}

var _ modelServer = (*api.Client)(nil)

// probeTimeout bounds one look at the model server (show, ps).
const probeTimeout = 5 * time.Second

// modelHealth is the solver's view of its model server, for heartbeats:
// every request's outcome updates it.
type modelHealth struct {
	mu sync.Mutex
	h  bus.ModelHealth
}

func (m *modelHealth) set(status, reason string) {
	m.mu.Lock()
	defer m.mu.Unlock()
	if m.h.Status != status || m.h.Reason != reason {
		m.h.Since = time.Now().UTC()
	}
	m.h.Status, m.h.Reason = status, reason
}

// ModelHealth is how the model server answered lately; nil when the
// solver has no model.
func (s *Solver) ModelHealth() *bus.ModelHealth {
	if s.cfg.LLM == nil {
		return nil
	}
	s.health.mu.Lock()
	defer s.health.mu.Unlock()
	h := s.health.h
	h.Name, h.Host = s.cfg.Model, s.cfg.LLMHost
	if h.Status == "" {
		h.Status = bus.ModelUnknown
	}
	return &h
}

// CheckModel asks the model server whether it answers and has the model
// (Ollama's /api/show), and records the outcome in ModelHealth. The error
// says what is wrong and what to do.
func (s *Solver) CheckModel(ctx context.Context) error {
	if s.cfg.LLM == nil {
		return errors.New("no model configured: instruction tasks will fail; set OLLAMA_HOST to an Ollama server")
	}
	ms, ok := s.cfg.LLM.(modelServer)
	if !ok {
		return nil
	}
	ctx, cancel := context.WithTimeout(ctx, probeTimeout)
	defer cancel()
	_, err := ms.Show(ctx, &api.ShowRequest{Model: s.cfg.Model})
	if err != nil {
		msg, _ := modelProblem(err, s.cfg.LLMHost, s.cfg.Model)
		s.health.set(bus.ModelDegraded, msg)
		return errors.New(msg)
	}
	s.health.set(bus.ModelOK, "")
	return nil
}

// waitingText says what a late first token waits for: Ollama loading the
// model (it is not in /api/ps yet), or a loaded model busy elsewhere.
func (s *Solver) waitingText(ctx context.Context) string {
	at := ollamaAt(s.cfg.LLMHost)
	base := fmt.Sprintf("waiting for the model: %s has not sent the first token of %s yet", at, s.cfg.Model)
	ms, ok := s.cfg.LLM.(modelServer)
	if !ok {
		return base
	}
	ctx, cancel := context.WithTimeout(ctx, probeTimeout)
	defer cancel()
	ps, err := ms.ListRunning(ctx)
	if err != nil {
		return base + fmt.Sprintf(" (and `ollama ps` did not answer: %v)", err)
	}
	for _, m := range ps.Models {
		if sameModel(m.Name, s.cfg.Model) || sameModel(m.Model, s.cfg.Model) {
			return base + "; the model is loaded, so Ollama is busy with the prompt or other requests"
		}
	}
	return fmt.Sprintf("waiting for the model: %s is loading %s (not in `ollama ps` yet); a cold load can take a minute", at, s.cfg.Model)
}

// sameModel compares model names as Ollama does: "qwen3-coder" is
// "qwen3-coder:latest".
func sameModel(a, b string) bool {
	norm := func(s string) string {
		s = strings.ToLower(strings.TrimSpace(s))
		if !strings.Contains(s[strings.LastIndexByte(s, '/')+1:], ":") {
			s += ":latest"
		}
		return s
	}
	return a != "" && b != "" && norm(a) == norm(b)
}

func ollamaAt(host string) string {
	if host == "" {
		return "Ollama"
	}
	return "Ollama at " + host
}
