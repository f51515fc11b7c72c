package server

import (
	"os"
	"regexp"
	"strconv"
	"strings"
	"testing"
)

// TestReasonsTable walks the table of reasons: each is named once and
// reaches the wire somehow.
func TestReasonsTable(t *testing.T) {
	labels := map[string]reasonID{}
	for why := reasonNone + 1; why < numReasons; why++ {
		info := why.info()
		if info.label == "" {
			t.Errorf("reason %d has no label", why)
			continue
		}
		if prev, dup := labels[info.label]; dup {
			t.Errorf("reasons %d and %d share the label %q", prev, why, info.label)
		}
		labels[info.label] = why
		// Only the reasons whose socket is gone, or whose close another
		// node chose, have neither a close code nor a status of their own.
		if info.close == 0 && info.status == 0 && why != reasonNetwork && why != reasonRelayClosed {
			t.Errorf("%s: neither a close code nor an HTTP status", info.label)
		}
		if info.after != 0 && info.status == 0 {
			t.Errorf("%s: a Retry-After with no HTTP status", info.label)
		}
	}
	for _, e := range roomErrors {
		if e.ws == reasonNone && e.api == reasonNone {
			t.Errorf("room error %q maps to no reason", e.err)
		}
	}
}

// TestReasonsAgreeWithTheDocs checks the table against docs/protocol.md:
// every error code a reason sends is in its error table, every close code
// and fixed text in its close table, every refused upgrade's status and
// text in its handshake table.
func TestReasonsAgreeWithTheDocs(t *testing.T) {
	b, err := os.ReadFile("../docs/protocol.md")
	if err != nil {
		t.Fatal(err)
	}
	doc := string(b)
	errorsAt := strings.Index(doc, "### Error codes")
	closesAt := strings.Index(doc, "### Close codes")
	reconnectAt := strings.Index(doc, "## Reconnecting")
	if errorsAt < 0 || closesAt < errorsAt || reconnectAt < closesAt {
		t.Fatal("docs/protocol.md has no error and close code tables where expected")
	}
	codes := map[string]bool{}
	for _, m := range regexp.MustCompile("(?m)^\\| `(\\w+)` \\|").FindAllStringSubmatch(doc[errorsAt:closesAt], -1) {
		codes[m[1]] = true
	}
	closes := map[string]bool{} // "1013 room is full"
	quoted := regexp.MustCompile("`([^`]*)`")
	for _, m := range regexp.MustCompile("(?m)^\\| (\\d{4}) \\| ([^|]*) \\|").FindAllStringSubmatch(doc[closesAt:reconnectAt], -1) {
		if strings.TrimSpace(m[2]) == "(empty)" {
			closes[m[1]+" "] = true
		}
		for _, q := range quoted.FindAllStringSubmatch(m[2], -1) {
			closes[m[1]+" "+q[1]] = true
		}
	}
	upgrades := map[string]bool{} // "503 server is shutting down"
	for _, m := range regexp.MustCompile("(?m)^\\| (\\d{3}) \\| .* \\| `([^`]*)` \\|$").FindAllStringSubmatch(doc, -1) {
		upgrades[m[1]+" "+m[2]] = true
	}
	if len(codes) == 0 || len(closes) == 0 || len(upgrades) == 0 {
		t.Fatalf("parsed %d error codes, %d closes and %d refused upgrades from docs/protocol.md", len(codes), len(closes), len(upgrades))
	}
	for why := reasonNone + 1; why < numReasons; why++ {
		info := why.info()
		if info.code != "" && !codes[info.code] {
			t.Errorf("%s: error code %q is not in docs/protocol.md's error codes", info.label, info.code)
		}
		// A reason with no fixed text gives its own at the edge: the docs
		// describe it in words.
		fixed := info.text != "" || why == reasonLeft
		if info.close != 0 && fixed && !closes[strconv.Itoa(info.close)+" "+info.text] {
			t.Errorf("%s: close %d %q is not in docs/protocol.md's close codes", info.label, info.close, info.text)
		}
		if info.status != 0 && info.close == 0 && info.code == "" && info.text != "" && !upgrades[strconv.Itoa(info.status)+" "+info.text] {
			t.Errorf("%s: a refused upgrade's %d %q is not in docs/protocol.md", info.label, info.status, info.text)
		}
	}
}

// TestReasonsAgreeWithThePage checks the table's retry policies against
// the page's (web/client/js/net.js), which decides by codes only: for each
// refusal, what its retryPolicy makes of the error code and the close code
// is the table's policy.
func TestReasonsAgreeWithThePage(t *testing.T) {
	b, err := os.ReadFile("../web/client/js/net.js")
	if err != nil {
		t.Fatal(err)
	}
	js := string(b)
	object := func(name, key string) map[string]string {
		body := regexp.MustCompile(`(?s)export const ` + name + ` = \{(.*?)\n\};`).FindStringSubmatch(js)
		if body == nil {
			t.Fatalf("net.js has no %s object", name)
		}
		m := map[string]string{}
		for _, e := range regexp.MustCompile(`(?m)^\s*(`+key+`): (NEVER|LATER|NOW),`).FindAllStringSubmatch(body[1], -1) {
			m[e[1]] = strings.ToLower(e[2])
		}
		if len(m) == 0 {
			t.Fatalf("parsed nothing from net.js's %s", name)
		}
		return m
	}
	refusals, closes := object("REFUSALS", `\w+`), object("CLOSES", `\d+`)
	// net.js's retryPolicy(code, refusal).
	policy := func(code int, refusal string) string {
		if code == 1000 || code == 4001 {
			return "never"
		}
		if p, ok := refusals[refusal]; ok {
			return p
		}
		if code == 1008 {
			return "never"
		}
		if p, ok := closes[strconv.Itoa(code)]; ok {
			return p
		}
		return "later"
	}
	used := map[string]bool{}
	for why := reasonNone + 1; why < numReasons; why++ {
		info := why.info()
		if info.code == "" || info.close == 0 {
			continue // no refusal over a WebSocket: the page decides by the close code alone
		}
		used[info.code] = true
		if got := policy(info.close, info.code); got != info.retry.String() {
			t.Errorf("%s: net.js retries %s after %s and %d; the table says %s", info.label, got, info.code, info.close, info.retry)
		}
	}
	for code := range refusals {
		if !used[code] {
			t.Errorf("net.js's REFUSALS has %s, which no reason sends", code)
		}
	}
}
