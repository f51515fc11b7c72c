package main

import (
	"bytes"
	"context"
	"strings"
	"testing"
	"time"
)

// TestMatchmaker runs `arena-bench matchmaker` end to end, tiny, so that
// the table BENCHMARKS.md reports cannot rot.
func TestMatchmaker(t *testing.T) {
	var stdout, stderr bytes.Buffer
	code := run(context.Background(), []string{"matchmaker", "-players", "400", "-rates", "20,2", "-seeds", "2"}, &stdout, &stderr)
	if code != 0 {
		t.Fatalf("exit %d\n%s\n%s", code, stdout.String(), stderr.String())
	}
	for _, want := range []string{
		"| 20 | rating | 400 | 0 | ", "| 20 | first-come | 400 | 0 | ", "| 20 | rating/first-come | ",
		"| 2 | rating | 400 | 0 | ", "| 2 | first-come | 400 | 0 | ",
		"Load average at the end",
	} {
		if !strings.Contains(stdout.String(), want) {
			t.Errorf("output lacks %q:\n%s", want, stdout.String())
		}
	}
}

// TestResults runs `arena-bench results` end to end, tiny: both backends
// (a real PostgreSQL, as the store's tests use), the stream and the
// burst. The figures of so short a run mean nothing; that every result
// was written, and the tables came out, does.
func TestResults(t *testing.T) {
	ctx, cancel := context.WithTimeout(context.Background(), time.Minute)
	defer cancel()
	var stdout, stderr bytes.Buffer
	code := run(ctx, []string{"results", "-results", "20", "-rate", "100", "-burst", "10", "-players", "4", "-accounts", "20", "-repeats", "1"}, &stdout, &stderr)
	if code != 0 {
		t.Fatalf("exit %d\n%s\n%s", code, stdout.String(), stderr.String())
	}
	for _, want := range []string{
		"| sqlite | 100/s | ", "| postgres | 100/s | ",
		"| sqlite | burst of 10 | ", "| postgres | burst of 10 | ",
		"| 20 | 0 | 0 |\n", "| 10 | 0 | 0 |\n", // written, none dropped, no retries
		"Result's own time", "Load average at the end",
	} {
		if !strings.Contains(stdout.String(), want) {
			t.Errorf("output lacks %q:\n%s", want, stdout.String())
		}
	}
}

func TestMatchmakerAndResultsBadFlags(t *testing.T) {
	for _, args := range [][]string{
		{"matchmaker", "-players", "0"},
		{"matchmaker", "-rates", "fast"},
		{"matchmaker", "-seeds", "1000"},
		{"matchmaker", "stray"},
		{"results", "-backends", "mysql"},
		{"results", "-burst", "5000"},
		{"results", "-results", "0", "-burst", "0"},
		{"results", "-boards", "4"},
		{"results", "stray"},
	} {
		var stdout, stderr bytes.Buffer
		if code := run(context.Background(), args, &stdout, &stderr); code == 0 {
			t.Errorf("%v: exit 0", args)
		}
	}
}
