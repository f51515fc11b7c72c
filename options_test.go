package arena

import (
	"bytes"
	"flag"
	"os"
	"path/filepath"
	"regexp"
	"slices"
	"strings"
	"testing"
	"time"

	"github.com/arena-server/arena/room"
)

// env is a Run's environment: vars, and the package's data directory
// (testDataDir) unless vars name a store.
func env(vars map[string]string) func(string) string {
	return func(k string) string {
		if k == "ARENA_DATA_DIR" && vars[k] == "" {
			return testDataDir
		}
		return vars[k]
	}
}

func TestPortFromFlagEnvAndPORT(t *testing.T) {
	for _, tc := range []struct {
		args []string
		env  map[string]string
		want int
	}{
		{nil, nil, 8765},
		{nil, map[string]string{"PORT": "9000"}, 9000},
		{nil, map[string]string{"PORT": "9000", "ARENA_PORT": "9001"}, 9001},
		{[]string{"-port", "9002"}, map[string]string{"PORT": "9000", "ARENA_PORT": "9001"}, 9002},
	} {
		o, err := parseOptions(tc.args, env(tc.env), &bytes.Buffer{})
		if err != nil {
			t.Fatal(err)
		}
		if o.port != tc.want {
			t.Errorf("args %v env %v: port %d; want %d", tc.args, tc.env, o.port, tc.want)
		}
	}
}

func TestEveryFlagHasAnEnvironmentVariable(t *testing.T) {
	o, err := parseOptions(nil, env(map[string]string{
		"ARENA_TICK_RATE":       "30",
		"ARENA_ALLOWED_ORIGINS": "https://a.example, https://b.example",
		"ARENA_RESUME_GRACE":    "5s",
	}), &bytes.Buffer{})
	if err != nil {
		t.Fatal(err)
	}
	if o.server.Room.TickRate != 30 || o.server.Room.ResumeGrace != 5*time.Second || len(o.server.AllowedOrigins) != 2 {
		t.Errorf("environment not applied: %+v", o.server)
	}
	if _, err := parseOptions(nil, env(map[string]string{"ARENA_TICK_RATE": "fast"}), &bytes.Buffer{}); err == nil || !strings.Contains(err.Error(), "ARENA_TICK_RATE") {
		t.Errorf("bad environment value: %v; want an error naming the variable", err)
	}
}

// flagNames lists every flag arena defines.
func flagNames(t *testing.T) []string {
	var help bytes.Buffer
	if _, err := parseOptions([]string{"-h"}, env(nil), &help); err != flag.ErrHelp {
		t.Fatalf("-h: %v", err)
	}
	var names []string
	for _, m := range regexp.MustCompile(`(?m)^  -([a-z-]+)\s`).FindAllStringSubmatch(help.String(), -1) {
		names = append(names, m[1])
	}
	if len(names) < 10 {
		t.Fatalf("-h listed only %v:\n%s", names, help.String())
	}
	return names
}

func TestHelpAndREADMEListEveryOption(t *testing.T) {
	var help bytes.Buffer
	parseOptions([]string{"-h"}, env(nil), &help)
	readme, err := os.ReadFile("README.md")
	if err != nil {
		t.Fatal(err)
	}
	for _, name := range flagNames(t) {
		if name != "version" && !strings.Contains(help.String(), envName(name)) {
			t.Errorf("-h does not name the environment variable of -%s", name)
		}
		if !strings.Contains(string(readme), "`-"+name+"`") {
			t.Errorf("README.md's options table lacks -%s", name)
		}
	}
	// The table's defaults are the flags' own, as -h prints them.
	defaults := map[string]string{}
	for _, m := range regexp.MustCompile(`(?m)^  -([a-z-]+)\t.*\n.*\(default "?([^")]*)"?\)$`).FindAllStringSubmatch(help.String(), -1) {
		defaults[m[1]] = m[2]
	}
	if len(defaults) < 10 {
		t.Fatalf("found the defaults of only %v in -h", defaults)
	}
	for _, m := range regexp.MustCompile("(?m)^\\| `-([a-z-]+)` \\| [^|]* \\| ([^|]*) \\|").FindAllStringSubmatch(string(readme), -1) {
		if want, ok := defaults[m[1]]; ok && strings.Trim(strings.TrimSpace(m[2]), "`") != want {
			t.Errorf("README.md says -%s defaults to %q; it is %q", m[1], strings.TrimSpace(m[2]), want)
		}
	}
}

func TestConfigurationErrorsSayWhatToFix(t *testing.T) {
	for _, tc := range []struct {
		args    []string
		env     map[string]string
		want    []string
		notWant string
	}{
		{nil, map[string]string{"PORT": "abc"}, []string{`PORT="abc"`}, "ARENA_PORT"},
		{nil, map[string]string{"ARENA_PORT": "abc"}, []string{`ARENA_PORT="abc"`}, ""},
		{[]string{"-resume-grace", "5"}, nil, []string{"-resume-grace", "unit", "5s"}, ""},
		{nil, map[string]string{"ARENA_PING_INTERVAL": "2"}, []string{"ARENA_PING_INTERVAL", "unit", "2s"}, ""},
		{[]string{"-write-timeout", "soon"}, nil, []string{"-write-timeout", "5s"}, ""},
		{[]string{"-db", "mysql://u:secret@db/arena"}, nil, []string{"sqlite:PATH", "postgres://"}, "secret"},
		{[]string{"-nats", "nats://127.0.0.1:4222", "-db", "sqlite:x.db"}, nil, []string{"-nats", "every node must share one PostgreSQL"}, ""},
		{nil, map[string]string{"ARENA_NATS": "nats://127.0.0.1:4222", "ARENA_DB": "sqlite:x.db"}, []string{"every node must share one PostgreSQL"}, ""},
		{[]string{"-data-dir", ""}, nil, []string{"-data-dir"}, ""},
	} {
		_, err := parseOptions(tc.args, env(tc.env), &bytes.Buffer{})
		if err == nil {
			t.Errorf("args %v env %v accepted", tc.args, tc.env)
			continue
		}
		for _, w := range tc.want {
			if !strings.Contains(err.Error(), w) {
				t.Errorf("args %v env %v: %q does not say %q", tc.args, tc.env, err, w)
			}
		}
		if tc.notWant != "" && strings.Contains(err.Error(), tc.notWant) {
			t.Errorf("args %v env %v: %q blames %s", tc.args, tc.env, err, tc.notWant)
		}
	}
}

func TestDBFlags(t *testing.T) {
	for _, tc := range []struct {
		args []string
		want string
	}{
		{nil, "sqlite:" + filepath.Join("arena-data", "arena.db")},
		{[]string{"-data-dir", "/var/lib/arena"}, "sqlite:/var/lib/arena/arena.db"},
		{[]string{"-db", "sqlite:/tmp/a.db"}, "sqlite:/tmp/a.db"},
		{[]string{"-nats", "nats://127.0.0.1:4222", "-db", "postgres://arena@db/arena"}, "postgres://arena@db/arena"},
	} {
		o, err := parseOptions(tc.args, func(string) string { return "" }, &bytes.Buffer{})
		if err != nil {
			t.Errorf("%v: %v", tc.args, err)
			continue
		}
		if got := o.dbURL(); got != tc.want {
			t.Errorf("%v: store %q, want %q", tc.args, got, tc.want)
		}
	}
}

func TestKeepRoomsFlag(t *testing.T) {
	o, err := parseOptions([]string{"-keep-rooms", "lobby:dots, duel:blasters"}, env(map[string]string{"ARENA_ROOM_IDLE_TIMEOUT": "0s"}), &bytes.Buffer{})
	if err != nil {
		t.Fatal(err)
	}
	want := []room.KeptRoom{{Name: "lobby", Mode: "dots"}, {Name: "duel", Mode: "blasters"}}
	if !slices.Equal(o.server.KeepRooms, want) || o.server.Room.IdleTimeout != 0 {
		t.Errorf("kept rooms %v, idle timeout %v; want %v, 0", o.server.KeepRooms, o.server.Room.IdleTimeout, want)
	}
	if _, err := parseOptions(nil, env(map[string]string{"ARENA_KEEP_ROOMS": "lobby"}), &bytes.Buffer{}); err == nil || !strings.Contains(err.Error(), "NAME:MODE") {
		t.Errorf("ARENA_KEEP_ROOMS=lobby: %v; want an error saying NAME:MODE", err)
	}
}
