package workers_test

import (
	"strings"
	"testing"

	"github.com/amf-os/amf/internal/ollamatest"
	"github.com/amf-os/amf/kernel/bus"
	"github.com/amf-os/amf/workers"
)

// verdictMesh solves with a learner that records what it is taught.
func verdictMesh(t *testing.T, replies ...ollamatest.Reply) (*loopMesh, *recordingLearner) {
	t.Helper()
	l := &recordingLearner{}
	return newLoopMesh(t, &workers.SolverConfig{Learner: l}, ollamatest.WithReplies(replies...)), l
}

func answerText(evs []bus.Event) string {
	var b strings.Builder
	for _, e := range ofType(evs, bus.EventAnswer) {
		b.WriteString(e.Text)
	}
	return b.String()
}

// The answer is asked for as {"answers_request", "answer"}; the user
// reads only the prose, streamed, and a command whose output answered is
// learned.
func TestAnswerThatAnswersIsStreamedAsProseAndLearned(t *testing.T) {
	m, l := verdictMesh(t, cmdReply("count", "echo 3"),
		ollamatest.Reply{Content: `{"answers_request": true, "answer": "There are \"3\" files.\nThat is all."}`})
	evs := m.wait(m.submit(bus.Task{Instruction: "how many files are here"}))
	done := last(evs)
	want := "There are \"3\" files.\nThat is all."
	if done.Type != bus.EventDone || done.Answer != want {
		t.Fatalf("ended %+v, want done with answer %q", done, want)
	}
	if got := answerText(evs); got != want {
		t.Fatalf("streamed answer = %q, want %q (prose, not JSON)", got, want)
	}
	if count(evs, bus.EventLearned) != 1 || len(l.learned) != 1 {
		t.Fatalf("an answering command was not learned: %v", types(evs))
	}
	if l.learned[0].ExampleOnly {
		t.Fatalf("a command whose output answered was learned as an example only: %+v", l.learned[0])
	}
	reqs := answerRequests(m.srv)
	if len(reqs) != 1 || !strings.Contains(string(reqs[0].Format), "answers_request") {
		t.Fatalf("the answer request does not ask for the verdict: %+v", reqs)
	}
}

// "what is the disk usage" answered by ls: the output does not answer,
// so the command is not learned — and not reused blindly later.
func TestAnswerThatDoesNotAnswerIsNotLearned(t *testing.T) {
	m, l := verdictMesh(t, cmdReply("list", "echo a.txt b.txt"),
		ollamatest.Reply{Content: `{"answers_request": false, "answer": "The output lists two files; it says nothing about disk usage."}`})
	evs := m.wait(m.submit(bus.Task{Instruction: "what is the disk usage"}))
	if e := last(evs); e.Type != bus.EventDone || !strings.Contains(e.Answer, "nothing about disk usage") {
		t.Fatalf("ended %+v", e)
	}
	if count(evs, bus.EventLearned) != 0 || len(l.learned) != 0 {
		t.Fatalf("learned a command whose output did not answer: %v", types(evs))
	}
	mustContain(t, "progress", answerProgress(evs), "not learned", "does not answer")
}

// A model that ignores the format answers in prose: the prose is the
// answer, streamed as it comes, and with no verdict nothing is learned.
func TestAnswerWithoutVerdictIsShownButNotLearned(t *testing.T) {
	m, l := verdictMesh(t, cmdReply("x", "echo hi"), ollamatest.Reply{Content: "It printed hi."})
	evs := m.wait(m.submit(bus.Task{Instruction: "say hi"}))
	if e := last(evs); e.Type != bus.EventDone || e.Answer != "It printed hi." || answerText(evs) != "It printed hi." {
		t.Fatalf("ended %+v, streamed %q", e, answerText(evs))
	}
	if len(l.learned) != 0 {
		t.Fatal("learned without a verdict")
	}
	mustContain(t, "progress", answerProgress(evs), "not learned", "no verdict")
}

func answerProgress(evs []bus.Event) string {
	var b strings.Builder
	for _, e := range ofType(evs, bus.EventProgress) {
		b.WriteString(e.Text + "\n")
	}
	return b.String()
}

// A success without the answer's verdict (no_answer), or steered by a
// session's history its submitter wrote, is learned as an example only:
// it never counts towards replaying the command for everyone.
func TestSuccessOfNoAnswerOrSessionTaskIsLearnedAsExampleOnly(t *testing.T) {
	m, l := verdictMesh(t, cmdReply("count", "echo 3"), cmdReply("count", "echo 4"),
		cmdReply("count", "echo 5"), ollamatest.Reply{Content: `{"answers_request": true, "answer": "Five."}`})
	for _, task := range []bus.Task{
		{Instruction: "how many files are here", NoAnswer: true},
		{Instruction: "how many files are there", NoAnswer: true, Session: "s1"},
		{Instruction: "how many files are in it", Session: "s1"},
	} {
		if e := last(m.wait(m.submit(task))); e.Type != bus.EventDone {
			t.Fatalf("%+v ended %+v", task, e)
		}
	}
	l.mu.Lock()
	defer l.mu.Unlock()
	if len(l.learned) != 3 {
		t.Fatalf("learned %d records, want 3", len(l.learned))
	}
	for _, rec := range l.learned {
		if !rec.ExampleOnly {
			t.Errorf("%q learned as a success that counts towards blind reuse", rec.Instruction)
		}
	}
}
