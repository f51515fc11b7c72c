package main

import (
	"bytes"
	"context"
	"strings"
	"testing"
	"time"
)

// TestAccounts runs `arena-bench accounts` end to end, tiny: both
// backends (a real PostgreSQL, as the store's tests use), every phase, so
// that the benchmark BENCHMARKS.md reports cannot rot. The figures of so
// short a run mean nothing; that it ran and wrote its tables does.
func TestAccounts(t *testing.T) {
	ctx, cancel := context.WithTimeout(context.Background(), 2*time.Minute)
	defer cancel()
	var stdout, stderr bytes.Buffer
	code := run(ctx, []string{"accounts",
		"-repeats", "1", "-joins", "5", "-hashes", "1", "-accounts", "2",
		"-players", "4", "-rooms", "1", "-login-rate", "10",
		"-ramp", "200ms", "-warmup", "200ms", "-duration", "1s",
		"-clients", "2", "-op-duration", "300ms",
	}, &stdout, &stderr)
	if code != 0 {
		t.Fatalf("exit %d\n%s\n%s", code, stdout.String(), stderr.String())
	}
	for _, want := range []string{
		"ms of CPU per hash",
		"| sqlite | ", "| postgres | ",
		"p99 added ms",
		"| sqlite | logins | ", "| postgres | no logins | ",
		"floor-args: -players 4 -bytes ",
		"| guest | ", "| login | ", "| refresh | ", "postgres/sqlite",
		"Load average at the end",
	} {
		if !strings.Contains(stdout.String(), want) {
			t.Errorf("output lacks %q:\n%s", want, stdout.String())
		}
	}
}

func TestAccountsBadFlags(t *testing.T) {
	for _, args := range [][]string{
		{"accounts", "-backends", "mysql"},
		{"accounts", "-repeats", "0"},
		{"accounts", "stray"},
		{"accounts-server"},
	} {
		var stdout, stderr bytes.Buffer
		if code := run(context.Background(), args, &stdout, &stderr); code == 0 {
			t.Errorf("%v: exit 0", args)
		}
	}
}
