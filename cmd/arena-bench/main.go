// Command arena-bench is a load generator for real-time game servers that
// speak the seed protocol (arena, the seed's Python server, …) or arena's
// native binary protocol (-protocol native): N simulated
// players over real WebSockets, spread over R rooms, with a ramp-up, a
// warm-up and a measured window. It reports what players feel — updates per
// second, input-to-visible latency, disconnects, bandwidth — and, given the
// server's pid, the server's CPU and peak memory, plus its own CPU so that
// a saturated generator is not mistaken for a slow server.
//
// Usage:
//
//	arena-bench [flags]                      run a load test
//	arena-bench report [flags] results.jsonl  summarise runs of scripts/bench
//	arena-bench floor [flags]                 the kernel's cost of the same writes, with no server
//	arena-bench attack -kind K [flags]        victims on one address play while another attacks
//	arena-bench nats -port P -dir D           a NATS server with JetStream on 127.0.0.1, for a cluster's nodes
//	arena-bench accounts [flags]              issue 24's accounts figures, SQLite and PostgreSQL side by side
//	arena-bench matchmaker [flags]            issue 25's matchmaker against first come, on simulated queues
//	arena-bench results [flags]               issue 25's results: room_over to written, SQLite and PostgreSQL side by side
//
// Progress goes to stderr, the table to stdout, and -json FILE writes the
// result as JSON with the same keys as the Colyseus anchor's driver.
package main

import (
	"context"
	"encoding/json"
	"errors"
	"flag"
	"fmt"
	"io"
	"os"
	"os/signal"
	"runtime/pprof"
	"strings"
	"syscall"
	"time"

	"github.com/arena-server/arena/internal/loadgen"
)

func main() {
	ctx, stop := signal.NotifyContext(context.Background(), os.Interrupt, syscall.SIGTERM)
	defer stop()
	os.Exit(run(ctx, os.Args[1:], os.Stdout, os.Stderr))
}

func run(ctx context.Context, args []string, stdout, stderr io.Writer) int {
	if len(args) > 0 {
		switch args[0] {
		case "report":
			return runReport(args[1:], stdout, stderr)
		case "floor":
			return runFloor(args[1:], stdout, stderr)
		case "attack":
			return runAttack(ctx, args[1:], stdout, stderr)
		case "accounts":
			return runAccounts(ctx, args[1:], stdout, stderr)
		case "matchmaker":
			return runMatchmaker(ctx, args[1:], stdout, stderr)
		case "results":
			return runResults(ctx, args[1:], stdout, stderr)
		case "accounts-server":
			return runAccountsServer(ctx, args[1:], stdout, stderr)
		case "nats":
			return runNATS(ctx, args[1:], stdout, stderr)
		case "floor-readers":
			return runFloorReaders(args[1:], stderr)
		}
	}
	cfg, jsonPath, quiet, cpuProfile, err := parseFlags(args, stderr)
	if errors.Is(err, flag.ErrHelp) {
		return 0
	}
	if err != nil {
		fmt.Fprintln(stderr, "arena-bench:", err)
		return 2
	}
	if !quiet {
		cfg.Progress = stderr
		fmt.Fprintf(stderr, "arena-bench: %d players (%d probes) → %s in %d room(s), %s; ramp %v, warm-up %v, window %v\n",
			cfg.Players, cfg.Probes, cfg.URL, cfg.Rooms, cfg.Behaviour, cfg.Ramp, cfg.Warmup, cfg.Duration)
	}
	if cpuProfile != "" {
		f, err := os.Create(cpuProfile)
		if err != nil {
			fmt.Fprintln(stderr, "arena-bench:", err)
			return 1
		}
		defer f.Close()
		if err := pprof.StartCPUProfile(f); err != nil {
			fmt.Fprintln(stderr, "arena-bench:", err)
			return 1
		}
		defer pprof.StopCPUProfile()
	}
	res, err := loadgen.Run(ctx, cfg)
	if err != nil {
		fmt.Fprintln(stderr, "arena-bench:", err)
		return 1
	}
	if err := res.WriteTable(stdout); err != nil {
		fmt.Fprintln(stderr, "arena-bench:", err)
		return 1
	}
	if jsonPath != "" {
		if err := writeJSON(jsonPath, res); err != nil {
			fmt.Fprintln(stderr, "arena-bench:", err)
			return 1
		}
	}
	return 0
}

func parseFlags(args []string, stderr io.Writer) (cfg loadgen.Config, jsonPath string, quiet bool, cpuProfile string, err error) {
	fs := flag.NewFlagSet("arena-bench", flag.ContinueOnError)
	fs.SetOutput(stderr)
	fs.StringVar(&cfg.URL, "url", "ws://127.0.0.1:8765/", "server WebSocket URL")
	protocol := fs.String("protocol", "seed", "wire protocol: "+strings.Join(loadgen.ProtocolNames(), ", "))
	fs.IntVar(&cfg.Players, "players", 100, "simulated players")
	fs.IntVar(&cfg.Rooms, "rooms", 1, "spread players over this many rooms (?room=bench-<i>); 1 uses the default room")
	fs.IntVar(&cfg.Probes, "probes", 20, "players that measure input-to-visible latency (of -players)")
	behaviour := fs.String("behaviour", "hold", "what the other players do: hold (a move every tick; with -protocol native, a held key that turns back every 10 ticks), walk (hold, turning at random) or idle")
	fs.Float64Var(&cfg.Moving, "moving", 1, "fraction of the players (probes aside) that move; the others are idle")
	fs.DurationVar(&cfg.Ramp, "ramp", 5*time.Second, "spread connections over this long")
	fs.DurationVar(&cfg.Warmup, "warmup", 3*time.Second, "wait this long after the ramp before measuring")
	fs.DurationVar(&cfg.Duration, "duration", 10*time.Second, "measured window")
	fs.DurationVar(&cfg.MoveInterval, "move-interval", 50*time.Millisecond, "time between a holding player's moves (the server's tick)")
	fs.IntVar(&cfg.ServerPID, "pid", 0, "server process to report CPU % and peak RSS of (0: none)")
	fs.BoolVar(&cfg.Compress, "compress", false, "offer permessage-deflate, as browsers do (every player then decompresses every state)")
	fs.BoolVar(&cfg.Fire, "fire", false, "with -protocol native, players also hold the action button and aim a new way at each turn (blasters bots that shoot as they move)")
	fs.Uint64Var(&cfg.Seed, "seed", 1, "seed for every random choice")
	fs.StringVar(&cfg.Label, "label", "", "name of this run in the results")
	fs.StringVar(&jsonPath, "json", "", "also write the result as JSON to this file (- for stdout)")
	fs.BoolVar(&quiet, "quiet", false, "no progress on stderr")
	fs.StringVar(&cpuProfile, "cpuprofile", "", "write the generator's own CPU profile to this file")
	fs.Usage = func() {
		fmt.Fprintf(stderr, "arena-bench: load generator for servers of the seed protocol or arena's native protocol.\n\n"+
			"Usage:\n  arena-bench [flags]\n  arena-bench report -h\n\nFlags:\n")
		fs.PrintDefaults()
	}
	if err = fs.Parse(args); err != nil {
		return
	}
	if fs.NArg() > 0 {
		err = fmt.Errorf("unexpected arguments %q", fs.Args())
		return
	}
	if cfg.Protocol, err = loadgen.Lookup(*protocol); err != nil {
		return
	}
	cfg.Behaviour, err = loadgen.ParseBehaviour(*behaviour)
	return
}

func writeJSON(path string, v any) error {
	b, err := json.Marshal(v)
	if err != nil {
		return err
	}
	b = append(b, '\n')
	if path == "-" {
		_, err = os.Stdout.Write(b)
		return err
	}
	return os.WriteFile(path, b, 0o644)
}
