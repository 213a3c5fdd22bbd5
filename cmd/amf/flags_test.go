package main

import (
	"bytes"
	"os"
	"strings"
	"testing"
	"time"

	"github.com/amf-os/amf/internal/clictx"
)

// TestUnparsableEnvWarnsAndKeepsTheDefault: every kind of flag says so
// when its environment twin does not parse, and keeps its default.
func TestUnparsableEnvWarnsAndKeepsTheDefault(t *testing.T) {
	var warned bytes.Buffer
	envWarnings = &warned
	t.Cleanup(func() { envWarnings = os.Stderr })
	t.Setenv("AMF_TEST_BOOL", "yes please")
	t.Setenv("AMF_TEST_INT", "four")
	t.Setenv("AMF_TEST_DURATION", "5 minutes")
	t.Setenv("AMF_TEST_GOOD_BOOL", "false")

	f := newFlags("test", "test")
	var b, good bool
	var n int
	var d time.Duration
	f.bool(&b, "b", "AMF_TEST_BOOL", true, "")
	f.int(&n, "n", "AMF_TEST_INT", 3, "")
	f.duration(&d, "d", "AMF_TEST_DURATION", time.Second, "")
	f.bool(&good, "g", "AMF_TEST_GOOD_BOOL", true, "")
	if err := f.parse(nil); err != nil {
		t.Fatal(err)
	}
	if !b || n != 3 || d != time.Second || good {
		t.Fatalf("b=%v n=%d d=%s good=%v, want the defaults and good=false", b, n, d, good)
	}
	for _, want := range []string{
		`ignoring AMF_TEST_BOOL="yes please": not true or false`,
		`ignoring AMF_TEST_INT="four": not a whole number`,
		`ignoring AMF_TEST_DURATION="5 minutes": not a duration`,
	} {
		if !strings.Contains(warned.String(), want) {
			t.Errorf("warnings %q lack %q", warned.String(), want)
		}
	}
	if strings.Contains(warned.String(), "AMF_TEST_GOOD_BOOL") {
		t.Errorf("a valid value was warned about: %q", warned.String())
	}
}

// TestOutputFlagIsOneForm: -o table|json|wide everywhere; --json of
// earlier releases still parses, as -o json, but help and completion
// show only -o.
func TestOutputFlagIsOneForm(t *testing.T) {
	var o string
	f := newFlags("x", "x")
	outputFlag(f, &o, "json", "wide")
	if err := f.parse([]string{"--json"}); err != nil || o != "json" {
		t.Fatalf("--json: %v, output %q; want json", err, o)
	}
	var help bytes.Buffer
	f.printDefaults(&help)
	if strings.Contains(help.String(), "--json") || !strings.Contains(help.String(), "-o table|json|wide") {
		t.Fatalf("help:\n%s", help.String())
	}
	if err := checkOutput("table", "json", "wide"); err != nil {
		t.Fatalf("-o table: %v", err)
	}
	if err := checkOutput("yaml", "json", "wide"); err == nil || !strings.Contains(err.Error(), "say table, json or wide") {
		t.Fatalf("-o yaml: %v", err)
	}
}

// TestContextEnvIsClictxs: the flag's environment twin is the name the
// context package's messages give.
func TestContextEnvIsClictxs(t *testing.T) {
	if clictx.EnvFile != "AMF_CONTEXT" {
		t.Fatalf("clictx.EnvFile = %q, but --context reads AMF_CONTEXT", clictx.EnvFile)
	}
}
