package arenatest

import (
	"bufio"
	"encoding/json"
	"net/http"
	"os"
	"os/exec"
	"regexp"
	"slices"
	"strings"
	"testing"
	"time"

	"github.com/arena-server/arena/server"
)

// RunMainEnv names the variable under which a test binary runs its
// program's main instead of its tests: a TestMain that calls main when it is
// "1" lets StartMain test the real program.
const RunMainEnv = "ARENA_TEST_RUN_MAIN"

// StartMain runs the test binary again as the program itself (see
// RunMainEnv) with args and the extra environment entries ("K=V"), and waits
// up to 10 s for its "arena listening" log line. It returns the process and
// the address it listens on; the process is killed when the test ends.
func StartMain(t testing.TB, env []string, args ...string) (*exec.Cmd, string) {
	t.Helper()
	cmd := exec.Command(os.Args[0], args...)
	// No overload guard (see Start): the machine's load is the tests'.
	cmd.Env = append(append(os.Environ(), RunMainEnv+"=1", "ARENA_MAX_SCHED_LATENCY=0"), env...)
	// The store in a directory of the test's own, unless the test names
	// one: a program run from a package's directory would otherwise leave
	// arena-data/ there, and share it with every other test.
	if !slices.ContainsFunc(env, func(kv string) bool {
		return strings.HasPrefix(kv, "ARENA_DB=") || strings.HasPrefix(kv, "ARENA_DATA_DIR=")
	}) && !slices.Contains(args, "-db") && !slices.Contains(args, "-data-dir") {
		cmd.Env = append(cmd.Env, "ARENA_DATA_DIR="+t.TempDir())
	}
	stderr, err := cmd.StderrPipe()
	if err != nil {
		t.Fatal(err)
	}
	if err := cmd.Start(); err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() {
		_ = cmd.Process.Kill()
		_ = cmd.Wait()
	})
	addr := make(chan string, 1)
	go func() {
		re := regexp.MustCompile(`msg="arena listening" addr=(\S+)`)
		sc := bufio.NewScanner(stderr)
		for sc.Scan() {
			if m := re.FindStringSubmatch(sc.Text()); m != nil {
				select {
				case addr <- m[1]:
				default:
				}
			}
		}
	}()
	select {
	case a := <-addr:
		return cmd, a
	case <-time.After(10 * time.Second):
		t.Fatal("the program did not start listening within 10 s")
		return nil, ""
	}
}

// Modes asks the server at addr (host:port) for GET /api/modes, with a 5 s
// deadline.
func Modes(t testing.TB, addr string) []server.ModeInfo {
	t.Helper()
	c := &http.Client{Timeout: 5 * time.Second}
	resp, err := c.Get("http://" + addr + "/api/modes")
	if err != nil {
		t.Fatal(err)
	}
	defer resp.Body.Close()
	var body struct{ Modes []server.ModeInfo }
	if resp.StatusCode != http.StatusOK {
		t.Fatalf("GET /api/modes: %s", resp.Status)
	}
	if err := json.NewDecoder(resp.Body).Decode(&body); err != nil {
		t.Fatalf("GET /api/modes: %v", err)
	}
	return body.Modes
}

// ModeList writes modes as "dots* tag", the default starred, for comparing
// in tests.
func ModeList(modes []server.ModeInfo) string {
	s := ""
	for i, m := range modes {
		if i > 0 {
			s += " "
		}
		s += m.Name
		if m.Default {
			s += "*"
		}
	}
	return s
}
