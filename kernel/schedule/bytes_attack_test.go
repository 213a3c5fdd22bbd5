package schedule_test

import (
	"context"
	"errors"
	"fmt"
	"strings"
	"testing"
	"time"

	"github.com/nats-io/nats.go"
	"github.com/nats-io/nats.go/jetstream"

	"github.com/amf-os/amf/kernel"
	"github.com/amf-os/amf/kernel/bus"
	"github.com/amf-os/amf/kernel/client"
	"github.com/amf-os/amf/kernel/kerneltest"
	"github.com/amf-os/amf/kernel/schedule"
)

// bigBody is a schedule whose command is n bytes of c, run hourly (no
// run is stored while the test runs).
func bigBody(id string, n int, c string) string {
	return `{"id":"` + id + `","command":"` + strings.Repeat(c, n) + `","schedule":"every 1h","pool":"nobody"}`
}

// askCreate makes a schedule with a request on subject and returns the
// task API's error code and text ("" when it was made).
func askCreate(t *testing.T, nc *nats.Conn, subject, body string) (code, text string) {
	t.Helper()
	msg, err := nc.Request(subject, []byte(body), 30*time.Second)
	if err != nil {
		t.Fatalf("create on %s: %v", subject, err)
	}
	return msg.Header.Get("Nats-Service-Error-Code"), msg.Header.Get("Nats-Service-Error")
}

// checkBytesRefusal checks a refusal by the schedule-bytes quota: 429,
// naming the limit and the setting that raises it.
func checkBytesRefusal(t *testing.T, what, code, text string) {
	t.Helper()
	if code != "429" {
		t.Fatalf("%s: %s %q, want 429 quota", what, code, text)
	}
	for _, want := range []string{"quota reached", client.LimitScheduleBytes, schedule.QuotaScheduleBytesSetting, "amf schedule rm"} {
		if !strings.Contains(text, want) {
			t.Errorf("%s: %q does not say %q", what, text, want)
		}
	}
}

// storedBytes is what the schedules stream holds.
func storedBytes(t *testing.T, k *kerneltest.Kernel) uint64 {
	t.Helper()
	st, err := k.JS.Stream(context.Background(), bus.Names{}.SchedulesStream())
	if err != nil {
		t.Fatal(err)
	}
	info, err := st.Info(context.Background())
	if err != nil {
		t.Fatal(err)
	}
	return info.State.Bytes
}

// One owner making schedules of 8 KiB, on its maker subject and on its
// owner's subject alike, is refused once they would take its bytes of
// the schedules store, while another owner still makes its own; a delete
// makes room again. Without the bound the only limit is the count of
// schedules (100 by default, of up to 1 MiB each, each copied by every
// run kept): one owner fills the store every owner shares.
func TestAttackOneOwnerFillsItsScheduleBytesOnly(t *testing.T) {
	t.Parallel()
	k := kerneltest.Start(t)
	const limit = 512 << 10
	hog := serve(t, k, &schedule.Store{JS: k.JS, OwnerBytes: limit}, "bytes-hog")
	victim := clientOf(t, k, "bytes-victim")
	nc := hog.C.NC
	owner := bus.OwnerOfCredential(bus.CredentialID(client.UserKey(nc)))
	subjects := []string{bus.Names{}.ScheduleCreate(client.UserKey(nc), ""), bus.Names{}.As(owner, "schedules.create")}

	made := 0
	var code, text string
	for i := 0; ; i++ {
		if i == 100 {
			t.Fatalf("one owner made %d schedules of 8 KiB (%d bytes stored) with a quota of %d bytes", made, storedBytes(t, k), limit)
		}
		code, text = askCreate(t, nc, subjects[i%2], bigBody(fmt.Sprintf("hog-%d", i), 8<<10, "x"))
		if code != "" {
			break
		}
		made++
	}
	checkBytesRefusal(t, "past the quota", code, text)
	if made == 0 {
		t.Fatal("the owner's first schedule was refused: the quota counts more than its schedules")
	}
	// Refused on the other subject too.
	code, text = askCreate(t, nc, subjects[(made+1)%2], bigBody("hog-again", 8<<10, "x"))
	checkBytesRefusal(t, "past the quota again", code, text)
	// The store holds no more than the owner's quota's worth.
	t.Logf("%d schedules, %d bytes stored, quota %d", made, storedBytes(t, k), limit)
	if got := storedBytes(t, k); got > limit {
		t.Fatalf("the schedules stream holds %d bytes after one owner's flood, more than its quota %d", got, limit)
	}

	// Another owner is not refused.
	if _, err := victim.Create(context.Background(), mustTask(t, bigBody("victim-1", 8<<10, "x"))); err != nil {
		t.Fatalf("another owner while one is at its quota: %v", err)
	}
	// A delete makes room, counted from the store.
	if err := hog.Delete(context.Background(), "hog-0"); err != nil {
		t.Fatal(err)
	}
	if code, text := askCreate(t, nc, subjects[0], bigBody("hog-after-delete", 8<<10, "x")); code != "" {
		t.Fatalf("after a delete: %s %s", code, text)
	}
	_, err := hog.Create(context.Background(), mustTask(t, bigBody("hog-past-again", 8<<10, "x")))
	if !errors.Is(err, client.ErrQuota) || !strings.Contains(err.Error(), schedule.QuotaScheduleBytesSetting) {
		t.Fatalf("the client library past the quota: %v, want ErrQuota naming %s", err, schedule.QuotaScheduleBytesSetting)
	}
}

// The bytes an owner's schedules take are read from the store, so a
// restarted kernel counts what the owner made before, with the default
// quota: one schedule near the largest body takes most of it, a second
// is refused.
func TestAttackScheduleBytesAreCountedAcrossARestart(t *testing.T) {
	t.Parallel()
	dir := t.TempDir()
	f := start(t, dir)
	creds := f.k.Creds(kernel.UserSpec{Name: "bytes-restart", Role: kernel.RoleClient})
	nc := f.k.ConnectAs(creds)
	owner := bus.OwnerOfCredential(bus.CredentialID(client.UserKey(nc)))
	body := func(id string) string { return bigBody(id, bus.MaxTaskBytes-256, "x") }
	if code, text := askCreate(t, nc, bus.Names{}.As(owner, "schedules.create"), body("restart-1")); code != "" {
		t.Fatalf("the first large schedule: %s %s", code, text)
	}
	nc.Close()
	f.k.Stop()

	g := start(t, dir)
	nc = g.k.ConnectAs(creds)
	code, text := askCreate(t, nc, bus.Names{}.ScheduleCreate(client.UserKey(nc), ""), body("restart-2"))
	checkBytesRefusal(t, "after a restart", code, text)
	// Another owner still makes one as large.
	if _, err := g.as.Create(context.Background(), mustTask(t, body("restart-other"))); err != nil {
		t.Fatalf("another owner after a restart: %v", err)
	}
}

// One schedule is bounded as stored: a body under the task limit whose
// characters JSON stores in 6 bytes each would otherwise be kept at six
// times its size, and copied by every run.
func TestAttackOneHugeScheduleIsRefusedClearly(t *testing.T) {
	t.Parallel()
	f := start(t, t.TempDir())
	nc := f.as.C.NC
	code, text := askCreate(t, nc, bus.Names{}.ScheduleCreate(client.UserKey(nc), ""), bigBody("huge", bus.MaxTaskBytes-256, "<"))
	if code != "413" || !strings.Contains(text, "the limit is") || !strings.Contains(text, "shorten") {
		t.Fatalf("a schedule stored at 6 MiB: %s %q, want 413 naming the limit and what to do", code, text)
	}
	if got := storedBytes(t, f.k); got > 1<<20 {
		t.Fatalf("the schedules stream holds %d bytes after a refused schedule", got)
	}
	if _, err := f.as.Get(context.Background(), "huge"); !errors.Is(err, client.ErrScheduleNotFound) {
		t.Fatalf("the refused schedule: %v, want not found", err)
	}
}

// What an owner's schedules take of the store stays within its quota
// while they run: each run JetStream publishes is a copy of its
// schedule's body, kept for an hour, so the quota counts each schedule
// with the runs its run subject keeps.
func TestAttackRunningSchedulesStayWithinTheOwnersBytes(t *testing.T) {
	t.Parallel()
	k := kerneltest.Start(t)
	const limit = 512 << 10
	hog := serve(t, k, &schedule.Store{JS: k.JS, OwnerBytes: limit}, "bytes-runs")
	made := 0
	for i := 0; ; i++ {
		if i == 100 {
			t.Fatalf("one owner made %d schedules of 8 KiB with a quota of %d bytes", made, limit)
		}
		body := `{"id":"` + fmt.Sprintf("runs-%d", i) + `","command":"` + strings.Repeat("x", 8<<10) + `","schedule":"every 1s","pool":"nobody"}`
		_, err := hog.Create(context.Background(), mustTask(t, body))
		if errors.Is(err, client.ErrQuota) {
			break
		}
		if err != nil {
			t.Fatal(err)
		}
		made++
	}
	// Every run subject keeps at most its 16 newest runs: wait until the
	// first schedule's holds them all.
	st, err := k.JS.Stream(context.Background(), bus.Names{}.SchedulesStream())
	if err != nil {
		t.Fatal(err)
	}
	deadline := time.Now().Add(time.Minute)
	for {
		info, err := st.Info(context.Background(), jetstream.WithSubjectFilter(bus.Names{}.ScheduleRun("runs-0")))
		if err != nil {
			t.Fatal(err)
		}
		if info.State.Subjects[bus.Names{}.ScheduleRun("runs-0")] >= 16 {
			break
		}
		if time.Now().After(deadline) {
			t.Fatalf("schedule runs-0 kept %d runs within a minute", info.State.Subjects[bus.Names{}.ScheduleRun("runs-0")])
		}
		time.Sleep(500 * time.Millisecond)
	}
	time.Sleep(2 * time.Second) // a few runs more, rolled over
	t.Logf("%d schedules, %d bytes stored, quota %d", made, storedBytes(t, k), limit)
	if got := storedBytes(t, k); got > limit {
		t.Fatalf("%d running schedules of one owner take %d bytes of the store, more than its quota of %d", made, got, limit)
	}
}
