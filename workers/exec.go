package workers

import (
	"errors"
	"strconv"
	"strings"
	"time"
	"unicode/utf8"

	"github.com/amf-os/amf/internal/clip"
	"github.com/amf-os/amf/kernel/bus"
	"github.com/amf-os/amf/sandbox"
)

// tailBytes bounds how much output is kept for the model's feedback and
// the done event's summary.
const tailBytes = 4 << 10

// execOutcome is what one command did.
type execOutcome struct {
	command string
	result  sandbox.Result
	refusal *sandbox.Refusal
	err     error // could not run at all
	stdout  *tail
	stderr  *tail
}

// ok reports a command that ran and succeeded.
func (o execOutcome) ok() bool {
	return o.err == nil && o.refusal == nil && o.result.ExitCode == 0 && !o.result.TimedOut && o.result.LimitHit == "" && o.result.Signal == ""
}

// reason says in one line why the command did not succeed.
func (o execOutcome) reason() string {
	switch {
	case o.refusal != nil:
		return o.refusal.Error()
	case o.err != nil:
		return "could not run: " + o.err.Error()
	case o.result.TimedOut:
		return "timed out after " + o.result.Duration.Round(time.Millisecond).String()
	case o.result.LimitHit != "":
		return "stopped by the " + o.result.LimitHit + " limit"
	case o.result.Signal != "":
		return "killed by signal " + o.result.Signal
	case o.result.ExitCode != 0:
		msg := "exit code " + strconv.Itoa(o.result.ExitCode)
		if why := errorLine(o.stderr.String(), o.command); why != "" {
			msg += ": " + why
		}
		return msg
	}
	return ""
}

// try checks one command against the policy, then runs it, streaming its
// steps as events. timeout, when positive, bounds this command alone.
func (r *run) try(cmd string, timeout time.Duration) execOutcome {
	out := execOutcome{command: cmd, stdout: &tail{max: tailBytes}, stderr: &tail{max: tailBytes}}
	checked, ref := r.validate(cmd)
	if ref != nil {
		out.refusal = ref
		r.reject(cmd, ref.Rule, ref.Reason, checked)
		return out
	}
	if err := r.ctx.Err(); err != nil {
		// Stopped between proposing and running: a backend may still
		// start a process for a done context, so do not ask it to.
		out.err = err
		return out
	}
	start := time.Now()
	e := r.em.event(bus.EventExecStart)
	e.Command = cmd
	if checked > 0 {
		e.Phases = phasesMS(map[string]time.Duration{bus.PhaseValidation: checked})
	}
	r.em.emit(e)
	res, err := r.s.cfg.Runner.Run(r.ctx, sandbox.Spec{
		Command:   cmd,
		WorkDir:   r.workDir(),
		Env:       envList(r.task.Env),
		Profile:   r.task.Policy,
		Workspace: r.task.Workspace,
		Timeout:   timeout,
	}, func(s sandbox.Stream, line string) {
		if s == sandbox.Stderr {
			out.stderr.add(line)
			r.em.emitText(bus.EventStderr, line)
			return
		}
		out.stdout.add(line)
		r.em.emitText(bus.EventStdout, line)
	})
	took := time.Since(start)
	r.phases[bus.PhaseExecution] += took
	if errors.As(err, &ref) {
		// A runner without a separate check refuses here.
		out.refusal = ref
		r.reject(cmd, ref.Rule, ref.Reason, 0)
		return out
	}
	out.result, out.err = res, err
	end := r.em.event(bus.EventExecEnd)
	end.Command = cmd
	end.Exec = execResult(res)
	end.Phases = phasesMS(map[string]time.Duration{bus.PhaseExecution: took})
	if err != nil {
		end.Reason = err.Error()
	}
	r.em.emit(end)
	return out
}

// validate checks a command with the runner's policy before it runs, when
// the runner can, so that a refusal starts no process and the time spent
// checking is measured on its own.
func (r *run) validate(cmd string) (time.Duration, *sandbox.Refusal) {
	v, ok := r.s.cfg.Runner.(validator)
	if !ok {
		return 0, nil
	}
	start := time.Now()
	var err error
	switch sv := v.(type) {
	case scopedValidator:
		err = sv.ValidateIn(cmd, r.task.Policy, r.task.Workspace, envList(r.task.Env))
	case envValidator:
		err = sv.ValidateEnv(cmd, r.task.Policy, envList(r.task.Env))
	default:
		err = v.Validate(cmd, r.task.Policy)
	}
	d := time.Since(start)
	r.phases[bus.PhaseValidation] += d
	if err == nil {
		return d, nil
	}
	var ref *sandbox.Refusal
	if errors.As(err, &ref) {
		return d, ref
	}
	return d, &sandbox.Refusal{Rule: "validation", Reason: err.Error()}
}

// reject announces a command that will not run.
func (r *run) reject(cmd, rule, reason string, checked time.Duration) {
	e := r.em.event(bus.EventRejected)
	e.Command, e.Rule, e.Reason = cmd, rule, reason
	if checked > 0 {
		e.Phases = phasesMS(map[string]time.Duration{bus.PhaseValidation: checked})
	}
	r.em.emit(e)
}

func execResult(res sandbox.Result) *bus.ExecResult {
	return &bus.ExecResult{
		ExitCode:   res.ExitCode,
		Signal:     res.Signal,
		DurationMS: float64(res.Duration.Microseconds()) / 1000,
		PeakMemKB:  res.PeakMemKB,
		LimitHit:   res.LimitHit,
		TimedOut:   res.TimedOut,
		Truncated:  res.Truncated,
	}
}

func envList(m map[string]string) []string {
	out := make([]string, 0, len(m))
	for k, v := range m {
		out = append(out, k+"="+v)
	}
	return out
}

// tail keeps the last max bytes of a line stream.
type tail struct {
	max     int
	lines   []string
	size    int
	dropped bool // earlier lines were let go
}

func (t *tail) add(line string) {
	t.lines = append(t.lines, line)
	t.size += len(line) + 1
	for t.size > t.max && len(t.lines) > 1 {
		t.size -= len(t.lines[0]) + 1
		t.lines = t.lines[1:]
		t.dropped = true
	}
}

// tailOf keeps the end of s within n bytes, cut at a line start when one
// is near, and marks the cut.
func tailOf(s string, n int) string {
	s = strings.TrimRight(s, "\n")
	if len(s) <= n {
		return s
	}
	cut := len(s) - n
	if i := strings.IndexByte(s[cut:], '\n'); i >= 0 && i < n/2 {
		cut += i + 1
	}
	for cut < len(s) && !utf8.RuneStart(s[cut]) {
		cut++
	}
	return "…\n" + s[cut:]
}

func (t *tail) String() string { return strings.Join(t.lines, "\n") }

// reasonBytes bounds the stderr line a failure reason quotes.
const reasonBytes = 240

// errorWords mark a line that says what went wrong.
var errorWords = []string{"error", "not found", "no such", "cannot", "can't", "could not", "couldn't",
	"invalid", "denied", "not permitted", "unrecognized", "unrecognised", "unknown", "illegal",
	"failed", "fatal", "missing", "not supported", "refused", "timed out", "too many", "syntax"}

// errorLine picks the stderr line that says why a command failed: the
// first one a program of the command prefixes with its name ("ls: cannot
// access …"), else the first naming an error, else the last line —
// usage text after the error says less than the error. It is one line,
// bounded.
func errorLine(stderr, command string) string {
	var lines []string
	for _, l := range strings.Split(stderr, "\n") {
		if l = strings.TrimSpace(l); l != "" {
			lines = append(lines, l)
		}
	}
	if len(lines) == 0 {
		return ""
	}
	pick := ""
	progs := append(sandbox.Programs(command), "bash", "sh")
	for _, l := range lines {
		for _, p := range progs {
			if strings.HasPrefix(l, p+":") {
				pick = l
				break
			}
		}
		if pick != "" {
			break
		}
	}
	if pick == "" {
		for _, l := range lines {
			low := strings.ToLower(l)
			for _, w := range errorWords {
				if strings.Contains(low, w) {
					pick = l
					break
				}
			}
			if pick != "" {
				break
			}
		}
	}
	if pick == "" {
		pick = lines[len(lines)-1]
	}
	return clip.String(pick, reasonBytes)
}
