package main

import (
	"os"
	"path/filepath"
	"regexp"
	"slices"
	"strings"
	"testing"
)

// TestConfigurationDocNamesEverySetting holds docs/CONFIGURATION.md to
// the code: every AMF_* environment twin a command of amf reads has a row
// there, and every row names one that the code still reads.
func TestConfigurationDocNamesEverySetting(t *testing.T) {
	doc, err := os.ReadFile("../../docs/CONFIGURATION.md")
	if err != nil {
		t.Fatal(err)
	}
	name := regexp.MustCompile(`AMF_[A-Z0-9_]*[A-Z0-9]`)
	inDoc := map[string]bool{}
	for _, row := range strings.Split(string(doc), "\n") {
		if strings.HasPrefix(row, "| `AMF_") {
			cell := strings.SplitN(row, "|", 3)[1]
			for _, n := range name.FindAllString(cell, -1) {
				inDoc[n] = true
			}
		}
	}
	files, err := filepath.Glob("*.go")
	if err != nil {
		t.Fatal(err)
	}
	quoted := regexp.MustCompile(`"(AMF_[A-Z0-9_]*[A-Z0-9])"`)
	inCode := map[string]bool{}
	for _, f := range files {
		if strings.HasSuffix(f, "_test.go") {
			continue
		}
		src, err := os.ReadFile(f)
		if err != nil {
			t.Fatal(err)
		}
		for _, m := range quoted.FindAllStringSubmatch(string(src), -1) {
			inCode[m[1]] = true
		}
	}
	if len(inCode) < 20 {
		t.Fatalf("found only %d AMF_* names in cmd/amf: the scan is broken", len(inCode))
	}
	var undocumented, stale []string
	for n := range inCode {
		if !inDoc[n] {
			undocumented = append(undocumented, n)
		}
	}
	for n := range inDoc {
		if !inCode[n] {
			stale = append(stale, n)
		}
	}
	slices.Sort(undocumented)
	slices.Sort(stale)
	if len(undocumented) > 0 {
		t.Errorf("settings the code reads but docs/CONFIGURATION.md has no row for: %v", undocumented)
	}
	if len(stale) > 0 {
		t.Errorf("rows of docs/CONFIGURATION.md naming settings no command reads: %v", stale)
	}
}
