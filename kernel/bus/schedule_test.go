package bus_test

import (
	"errors"
	"strings"
	"testing"
	"time"

	"github.com/amf-os/amf/kernel/bus"
)

func TestParseSchedule(t *testing.T) {
	good := map[string]string{
		"every 5m":            "@every 5m0s",
		"  every   90s ":      "@every 1m30s",
		"@every 1s":           "@every 1s",
		"*/5 * * * *":         "0 */5 * * * *",
		"0 9 * * mon-fri":     "0 0 9 * * mon-fri",
		"30 2 1,15 jan-jun ?": "0 30 2 1,15 jan-jun ?",
		"@daily":              "@daily",
	}
	for in, want := range good {
		got, zone, err := bus.ParseSchedule(in)
		if err != nil || got != want || zone != "" {
			t.Errorf("ParseSchedule(%q) = %q, %q, %v; want %q in UTC", in, got, zone, err, want)
		}
	}
	if got, zone, err := bus.ParseSchedule("TZ=Europe/Paris 0 9 * * mon-fri"); err != nil || got != "0 0 9 * * mon-fri" || zone != "Europe/Paris" {
		t.Errorf("cron in a zone: %q %q %v", got, zone, err)
	}
	bad := map[string]string{
		"":                          "schedule is empty",
		"every 0s":                  "at least 1s",
		"every 500ms":               "at least 1s",
		"every 2562047h":            "at most 366 days",
		"every -5m":                 "at least 1s",
		"every banana":              `"banana" is not a duration`,
		"every":                     "not known",
		"@fortnightly":              "not known",
		"0 */5 * * * *":             "has 6 fields; it takes 5",
		"* * *":                     "has 3 fields",
		"61 * * * *":                `minute field "61"`,
		"* 24 * * *":                `hour field "24"`,
		"* * 0 * *":                 `day-of-month field "0"`,
		"* * * 13 *":                `month field "13"`,
		"* * * * 7":                 `day-of-week field "7"`,
		"*/0 * * * *":               `step "0"`,
		"5-1 * * * *":               "runs backwards",
		"tuesday * * * *":           `"tuesday" is not a value`,
		"TZ=Mars/Olympus 0 9 * * *": `"Mars/Olympus" is not a time zone`,
		"TZ= 0 9 * * *":             "is not a time zone",
		"TZ=Local 0 9 * * *":        "is not a time zone",
		"TZ=Europe/Paris every 5m":  "a time zone goes with a cron expression",
		"TZ=Europe/Paris 0 9 * *":   "has 4 fields",
	}
	for in, want := range bad {
		_, _, err := bus.ParseSchedule(in)
		if !errors.Is(err, bus.ErrInvalidTask) || !strings.Contains(err.Error(), want) {
			t.Errorf("ParseSchedule(%q) = %v; want an invalid-task error saying %q", in, err, want)
		}
	}
}

func TestTaskScheduleFields(t *testing.T) {
	task, err := bus.DecodeTask([]byte(`{"id":"disk","command":"df -h","schedule":"every 5m"}`))
	if err != nil || task.Schedule != "every 5m" {
		t.Fatalf("decode scheduled task: %+v %v", task, err)
	}
	for _, in := range []string{
		`{"command":"df","schedule":"every banana"}`,
		`{"command":"df","schedule":"every 5m","schedule_id":"x"}`,
		`{"command":"df","schedule_id":"a.b"}`,
		`{"id":"` + strings.Repeat("s", bus.MaxScheduleIDLen+1) + `","command":"df","schedule":"every 5m"}`,
	} {
		if _, err := bus.DecodeTask([]byte(in)); !errors.Is(err, bus.ErrInvalidTask) {
			t.Errorf("DecodeTask(%s) = %v, want ErrInvalidTask", in, err)
		}
	}
}

func TestRunIDIsTheRunsSecond(t *testing.T) {
	at := time.Date(2026, 11, 27, 9, 45, 0, 0, time.UTC)
	if got, want := bus.RunID("disk", at), "disk-20261127T094500Z"; got != want {
		t.Fatalf("RunID = %q, want %q", got, want)
	}
	// The same run published twice, a little apart, is one task.
	if a, b := bus.RunID("disk", at.Add(-300*time.Millisecond)), bus.RunID("disk", at.Add(400*time.Millisecond)); a != b {
		t.Fatalf("one run, two ids: %q %q", a, b)
	}
	long := bus.Schedule{ID: strings.Repeat("s", bus.MaxScheduleIDLen), RunKey: []byte("k1")}
	if !bus.ValidToken(long.RunID(at)) {
		t.Fatal("the longest schedule id makes run ids that are not task ids")
	}
	// A run's id ends in a tag its schedule's key decides: known to
	// every kernel, not to whoever knows only the schedule and the time.
	a := bus.Schedule{ID: "disk", RunKey: []byte("k1")}
	b := bus.Schedule{ID: "disk", RunKey: []byte("k2")}
	if a.RunID(at) != a.RunID(at.Add(400*time.Millisecond)) || a.RunID(at) == b.RunID(at) ||
		!strings.HasPrefix(a.RunID(at), bus.RunID("disk", at)+"-") || a.RunID(at) == bus.RunID("disk", at) {
		t.Fatalf("keyed run ids: %q %q", a.RunID(at), b.RunID(at))
	}
}

func FuzzParseSchedule(f *testing.F) {
	for _, s := range []string{"every 5m", "*/5 * * * *", "0 9 * * mon-fri", "@daily", "1-2/3,4 * ? jan sun", "TZ=Asia/Tokyo 0 9 * * *"} {
		f.Add(s)
	}
	f.Fuzz(func(t *testing.T, s string) {
		p, _, err := bus.ParseSchedule(s)
		if err == nil && p == "" {
			t.Fatalf("%q: accepted with no pattern", s)
		}
	})
}
