package bench

import (
	"bytes"
	"encoding/json"
	"fmt"
	"io"
	"net/http"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"sync"
	"syscall"
	"testing"
	"time"

	"github.com/amf-os/amf/internal/ssetest"
	"github.com/amf-os/amf/internal/testenv"
)

var (
	buildOnce sync.Once
	builtBin  string
	buildErr  error
)

// amfBin is the binary under measurement: AMF_BENCH_BIN, or `amf` built
// from this tree once per test binary.
func amfBin(b *testing.B) string {
	b.Helper()
	if p := os.Getenv("AMF_BENCH_BIN"); p != "" {
		return p
	}
	buildOnce.Do(func() {
		dir, err := os.MkdirTemp("", "amf-bench-bin-")
		if err != nil {
			buildErr = err
			return
		}
		builtBin = filepath.Join(dir, "amf")
		out, err := exec.Command("go", "build", "-o", builtBin, "../cmd/amf").CombinedOutput()
		if err != nil {
			buildErr = fmt.Errorf("build amf: %v: %s", err, out)
		}
	})
	if buildErr != nil {
		b.Fatal(buildErr)
	}
	return builtBin
}

// mesh is one `amf up` process reached over HTTP.
type mesh struct {
	base  string
	token string
	cmd   *exec.Cmd
	log   *lockedWriter
	// exited closes when the process has ended.
	exited chan struct{}
}

// startUp runs `amf up` with its own state dir and free ports, plus args,
// and waits until its bridge answers /healthz.
func startUp(b *testing.B, env []string, args ...string) *mesh {
	b.Helper()
	state := b.TempDir()
	natsAddr, httpAddr := testenv.FreeAddr(b), testenv.FreeAddr(b)
	cmd := exec.Command(amfBin(b), append([]string{"up"}, args...)...)
	cmd.Env = append(os.Environ(),
		"AMF_STATE_DIR="+state, "AMF_NATS_LISTEN="+natsAddr, "AMF_HTTP_LISTEN="+httpAddr,
		"AMF_PRINT_LOGIN_LINK=false", "AMF_LOG_LEVEL=warn")
	cmd.Env = append(cmd.Env, env...)
	log := &lockedWriter{w: &bytes.Buffer{}}
	cmd.Stdout, cmd.Stderr = log, log
	cmd.SysProcAttr = &syscall.SysProcAttr{Setpgid: true}
	if err := cmd.Start(); err != nil {
		b.Fatal(err)
	}
	m := &mesh{base: "http://" + httpAddr, cmd: cmd, log: log, exited: make(chan struct{})}
	go func() { _ = cmd.Wait(); close(m.exited) }()
	b.Cleanup(m.stop)
	deadline := time.Now().Add(60 * time.Second)
	for {
		tok, err := os.ReadFile(filepath.Join(state, "auth", "http-admin.token"))
		if err == nil {
			m.token = strings.TrimSpace(string(tok))
			if resp, err := http.Get(m.base + "/healthz"); err == nil {
				resp.Body.Close()
				if resp.StatusCode == 200 {
					return m
				}
			}
		}
		select {
		case <-m.exited:
			b.Fatalf("amf up exited: %s", log)
		case <-time.After(50 * time.Millisecond):
		}
		if time.Now().After(deadline) {
			b.Fatalf("amf up did not become healthy in 60s: %s", log)
		}
	}
}

func (m *mesh) stop() {
	_ = syscall.Kill(-m.cmd.Process.Pid, syscall.SIGTERM)
	select {
	case <-m.exited:
	case <-time.After(30 * time.Second):
		_ = syscall.Kill(-m.cmd.Process.Pid, syscall.SIGKILL)
		<-m.exited
	}
}

// client is an HTTP client that keeps connections alive per caller, as a
// real API client does.
func newClient() *http.Client {
	return &http.Client{Transport: &http.Transport{MaxIdleConnsPerHost: 64}, Timeout: 5 * time.Minute}
}

// submit posts a task and returns its id.
func (m *mesh) submit(c *http.Client, body string) (string, error) {
	req, _ := http.NewRequest(http.MethodPost, m.base+"/v1/tasks", strings.NewReader(body))
	req.Header.Set("Content-Type", "application/json")
	req.Header.Set("Authorization", "Bearer "+m.token)
	resp, err := c.Do(req)
	if err != nil {
		return "", err
	}
	defer resp.Body.Close()
	data, _ := io.ReadAll(resp.Body)
	if resp.StatusCode != http.StatusAccepted {
		return "", fmt.Errorf("submit: %d %s", resp.StatusCode, data)
	}
	var s struct {
		ID string `json:"id"`
	}
	if err := json.Unmarshal(data, &s); err != nil {
		return "", fmt.Errorf("submit: %w", err)
	}
	return s.ID, nil
}

// run submits a task asking for its events in the answer (Accept:
// text/event-stream), as `amf run` does, and reads them to the end,
// calling fn per message; submitted is called once the submission is
// answered. A build that answers with the task's id instead (no streamed
// submissions) is followed on events_url, so the same benchmark measures
// builds before and after.
func (m *mesh) run(c *http.Client, body string, submitted func(), fn func(ssetest.Message)) (string, error) {
	req, _ := http.NewRequest(http.MethodPost, m.base+"/v1/tasks", strings.NewReader(body))
	req.Header.Set("Content-Type", "application/json")
	req.Header.Set("Accept", "text/event-stream, application/json")
	req.Header.Set("Authorization", "Bearer "+m.token)
	resp, err := c.Do(req)
	if err != nil {
		return "", err
	}
	defer resp.Body.Close()
	if resp.StatusCode != http.StatusAccepted {
		data, _ := io.ReadAll(resp.Body)
		return "", fmt.Errorf("submit: %d %s", resp.StatusCode, data)
	}
	if submitted != nil {
		submitted()
	}
	if !strings.HasPrefix(resp.Header.Get("Content-Type"), "text/event-stream") {
		var s struct {
			ID string `json:"id"`
		}
		if err := json.NewDecoder(resp.Body).Decode(&s); err != nil {
			return "", fmt.Errorf("submit: %w", err)
		}
		return m.follow(c, s.ID, fn)
	}
	return readToEnd(resp.Body, fn)
}

// follow reads a task's event stream until it ends, calling fn per
// message, and returns the terminal event's type.
func (m *mesh) follow(c *http.Client, id string, fn func(ssetest.Message)) (string, error) {
	req, _ := http.NewRequest(http.MethodGet, m.base+"/v1/tasks/"+id+"/events", nil)
	req.Header.Set("Authorization", "Bearer "+m.token)
	resp, err := c.Do(req)
	if err != nil {
		return "", err
	}
	defer resp.Body.Close()
	if resp.StatusCode != http.StatusOK {
		data, _ := io.ReadAll(resp.Body)
		return "", fmt.Errorf("events: %d %s", resp.StatusCode, data)
	}
	return readToEnd(resp.Body, fn)
}

// readToEnd reads an SSE body to its end, calling fn per message, and
// returns the last event's type.
func readToEnd(body io.Reader, fn func(ssetest.Message)) (string, error) {
	var last string
	err := ssetest.Read(body, func(msg ssetest.Message) error {
		last = msg.Event
		if fn != nil {
			fn(msg)
		}
		return nil
	})
	return last, err
}

// lockedWriter is the process's log: stdout and stderr share it.
type lockedWriter struct {
	mu sync.Mutex
	w  *bytes.Buffer
}

func (l *lockedWriter) Write(p []byte) (int, error) {
	l.mu.Lock()
	defer l.mu.Unlock()
	return l.w.Write(p)
}

func (l *lockedWriter) String() string {
	l.mu.Lock()
	defer l.mu.Unlock()
	return l.w.String()
}
