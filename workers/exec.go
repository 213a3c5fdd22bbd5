package workers

import (
	"errors"
	"strconv"
	"strings"
	"time"

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
		return "timed out"
	case o.result.LimitHit != "":
		return "stopped by the " + o.result.LimitHit + " limit"
	case o.result.Signal != "":
		return "killed by signal " + o.result.Signal
	case o.result.ExitCode != 0:
		msg := "exit code " + strconv.Itoa(o.result.ExitCode)
		if last := lastLine(o.stderr.String()); last != "" {
			msg += ": " + last
		}
		return msg
	}
	return ""
}

// runCommand validates and runs one command, streaming its steps as events.
func (r *run) runCommand(cmd string) execOutcome {
	out := execOutcome{command: cmd, stdout: &tail{max: tailBytes}, stderr: &tail{max: tailBytes}}
	start := time.Now()
	e := r.em.event(bus.EventExecStart)
	e.Command = cmd
	r.em.emit(e)
	res, err := r.w.Runner.Run(r.ctx, sandbox.Spec{
		Command: cmd,
		WorkDir: r.workDir(),
		Env:     envList(r.task.Env),
		Profile: r.task.Policy,
	}, func(s sandbox.Stream, line string) {
		if s == sandbox.Stderr {
			out.stderr.add(line)
			r.em.emitText(bus.EventStderr, line)
			return
		}
		out.stdout.add(line)
		r.em.emitText(bus.EventStdout, line)
	})
	r.phases["execution"] += time.Since(start)
	var ref *sandbox.Refusal
	if errors.As(err, &ref) {
		out.refusal = ref
		rej := r.em.event(bus.EventRejected)
		rej.Command, rej.Rule, rej.Reason = cmd, ref.Rule, ref.Reason
		r.em.emit(rej)
		return out
	}
	out.result, out.err = res, err
	end := r.em.event(bus.EventExecEnd)
	end.Command = cmd
	end.Exec = execResult(res)
	if err != nil {
		end.Reason = err.Error()
	}
	r.em.emit(end)
	return out
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
	max   int
	lines []string
	size  int
}

func (t *tail) add(line string) {
	t.lines = append(t.lines, line)
	t.size += len(line) + 1
	for t.size > t.max && len(t.lines) > 1 {
		t.size -= len(t.lines[0]) + 1
		t.lines = t.lines[1:]
	}
}

func (t *tail) String() string { return strings.Join(t.lines, "\n") }

func lastLine(s string) string {
	s = strings.TrimSpace(s)
	if i := strings.LastIndexByte(s, '\n'); i >= 0 {
		return s[i+1:]
	}
	return s
}
