package arena

import (
	"bytes"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"net/http"
	"net/http/cookiejar"
	"regexp"
	"strings"
	"testing"
	"time"

	"github.com/gorilla/websocket"

	"github.com/arena-server/arena/accounts"
	"github.com/arena-server/arena/arenatest"
	"github.com/arena-server/arena/games/dots"
	"github.com/arena-server/arena/games/tag"
	"github.com/arena-server/arena/internal/natstest"
	"github.com/arena-server/arena/internal/oidctest"
	"github.com/arena-server/arena/protocol"
	"github.com/arena-server/arena/server"
)

// session is what the accounts API answers a sign-in with.
type session struct {
	AccessToken  string `json:"access_token"`
	RefreshToken string `json:"refresh_token"`
	Account      struct {
		ID, Name string
		Guest    bool
	} `json:"account"`
}

// call makes one JSON request of the HTTP API at addr, and decodes the
// answer into out if it is a success.
func call(t *testing.T, method, addr, path, bearer string, body any, out any) int {
	t.Helper()
	var rd bytes.Reader
	if body != nil {
		b, _ := json.Marshal(body)
		rd = *bytes.NewReader(b)
	}
	req, err := http.NewRequest(method, "http://"+addr+path, &rd)
	if err != nil {
		t.Fatal(err)
	}
	req.Header.Set("Content-Type", "application/json")
	if bearer != "" {
		req.Header.Set("Authorization", "Bearer "+bearer)
	}
	resp, err := http.DefaultClient.Do(req)
	if err != nil {
		t.Fatalf("%s %s: %v", method, path, err)
	}
	defer resp.Body.Close()
	if out != nil && resp.StatusCode < 300 {
		if err := json.NewDecoder(resp.Body).Decode(out); err != nil {
			t.Fatalf("%s %s: %v", method, path, err)
		}
	}
	return resp.StatusCode
}

// signedIn opens an arena.v1.json connection to addr that signs in with
// access, and returns it with its welcome's account.
func signedIn(t *testing.T, addr, query, access string) (*websocket.Conn, string, string) {
	t.Helper()
	d := websocket.Dialer{Subprotocols: []string{protocol.SubprotocolJSON}, HandshakeTimeout: 5 * time.Second}
	conn, _, err := d.Dial("ws://"+addr+"/ws?auth=1&"+query, nil)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { conn.Close() })
	if err := conn.WriteJSON(map[string]string{"t": "auth", "token": access}); err != nil {
		t.Fatal(err)
	}
	for {
		_ = conn.SetReadDeadline(time.Now().Add(5 * time.Second))
		_, data, err := conn.ReadMessage()
		if err != nil {
			t.Fatalf("waiting for the welcome: %v", err)
		}
		var w struct {
			T       string
			Account *struct{ ID, Name string }
		}
		if err := json.Unmarshal(data, &w); err != nil {
			t.Fatal(err)
		}
		switch {
		case w.T == "welcome" && w.Account != nil:
			return conn, w.Account.ID, w.Account.Name
		case w.T == "welcome":
			t.Fatalf("welcome without an account: %s", data)
		case w.T == "error":
			t.Fatalf("instead of a welcome: %s", data)
		}
	}
}

// closedWith reads conn until it closes, and returns its close frame.
func closedWith(t *testing.T, conn *websocket.Conn, within time.Duration) *websocket.CloseError {
	t.Helper()
	deadline := time.Now().Add(within)
	for {
		_ = conn.SetReadDeadline(deadline)
		if _, _, err := conn.ReadMessage(); err != nil {
			var ce *websocket.CloseError
			if errors.As(err, &ce) {
				return ce
			}
			t.Fatalf("the connection ended without a close frame within %v: %v", within, err)
		}
	}
}

// TestAccountsEndToEnd runs the stock program with its default store (an
// SQLite file under -data-dir): a guest made over HTTP plays as its
// account, and an admin's ban closes its connection at once with the
// reason, refuses its joins and its sign-ins, until it is lifted.
func TestAccountsEndToEnd(t *testing.T) {
	addr := startRun(t, []string{"-admin-token", "admin-secret"}, dots.Mode, tag.Mode)

	var guest session
	if code := call(t, "POST", addr, "/api/auth/guest", "", map[string]string{"name": "Wanda"}, &guest); code != http.StatusCreated {
		t.Fatalf("POST /api/auth/guest: %d", code)
	}
	if !guest.Account.Guest || guest.Account.Name != "Wanda" || guest.AccessToken == "" || guest.RefreshToken == "" {
		t.Fatalf("guest session %+v", guest)
	}
	conn, id, name := signedIn(t, addr, "room=e2e&name=Other", guest.AccessToken)
	if id != guest.Account.ID || name != "Wanda" {
		t.Fatalf("welcome's account %s %q; want %s Wanda", id, name, guest.Account.ID)
	}

	ban := map[string]string{"reason": "griefing", "duration": "1h"}
	if code := call(t, "POST", addr, "/admin/api/accounts/"+id+"/ban", "admin-secret", ban, nil); code != http.StatusOK {
		t.Fatalf("ban: %d", code)
	}
	if ce := closedWith(t, conn, 5*time.Second); ce.Code != server.CloseBanned {
		t.Fatalf("after the ban the connection closed with %d %q; want %d", ce.Code, ce.Text, server.CloseBanned)
	}
	// The ban holds for new joins and for the refresh token.
	d := websocket.Dialer{Subprotocols: []string{protocol.SubprotocolJSON}}
	again, _, err := d.Dial("ws://"+addr+"/ws?auth=1&room=e2e", nil)
	if err != nil {
		t.Fatal(err)
	}
	defer again.Close()
	_ = again.WriteJSON(map[string]string{"t": "auth", "token": guest.AccessToken})
	if ce := closedWith(t, again, 5*time.Second); ce.Code != server.CloseBanned || !strings.Contains(ce.Text, "griefing") {
		t.Fatalf("a banned account's join closed with %d %q; want %d and the reason", ce.Code, ce.Text, server.CloseBanned)
	}
	if code := call(t, "POST", addr, "/api/auth/refresh", "", map[string]string{"refresh_token": guest.RefreshToken}, nil); code != http.StatusForbidden {
		t.Fatalf("a banned account's refresh: %d; want 403", code)
	}
	if code := call(t, "POST", addr, "/admin/api/accounts/"+id+"/unban", "admin-secret", nil, nil); code != http.StatusOK {
		t.Fatalf("unban: %d", code)
	}
	signedIn(t, addr, "room=e2e", guest.AccessToken)
}

// TestAccountsAcrossACluster runs two nodes of the stock program that
// share a PostgreSQL: an account made on one plays on the other, and
// deleting it on one closes its connection on the other at once. A
// deleted account leaves no row for the other node's poll to find, so
// only the news on NATS can do that.
func TestAccountsAcrossACluster(t *testing.T) {
	ns := natstest.Start(t)
	a := startNode(t, ns, "a")
	b := startNode(t, ns, "b")
	addrA, addrB := strings.TrimSuffix(strings.TrimPrefix(a.url, "http://"), "/"), strings.TrimSuffix(strings.TrimPrefix(b.url, "http://"), "/")

	var s session
	body := map[string]string{"email": "nora@example.com", "password": "correct horse battery", "name": "Nora"}
	if code := call(t, "POST", addrA, "/api/auth/register", "", body, &s); code != http.StatusCreated {
		t.Fatalf("register on a: %d", code)
	}
	var onB session
	if code := call(t, "POST", addrB, "/api/auth/login", "", map[string]string{"email": "NORA@example.com", "password": "correct horse battery"}, &onB); code != http.StatusOK || onB.Account.ID != s.Account.ID {
		t.Fatalf("login on b: %d, account %s; want 200 and %s", code, onB.Account.ID, s.Account.ID)
	}
	// b checks a token a signed, with no round trip to a: the key is in
	// the store they share.
	conn, id, _ := signedIn(t, addrB, fmt.Sprintf("room=cl-%d&mode=tag", time.Now().UnixNano()), s.AccessToken)
	if id != s.Account.ID {
		t.Fatalf("on b, account %s; want %s", id, s.Account.ID)
	}
	if code := call(t, "DELETE", addrA, "/api/me", onB.AccessToken, nil, nil); code != http.StatusNoContent {
		t.Fatalf("DELETE /api/me on a: %d", code)
	}
	if ce := closedWith(t, conn, 5*time.Second); ce.Code != server.CloseSignedOut {
		t.Fatalf("after the deletion on a, b closed the connection with %d %q; want %d", ce.Code, ce.Text, server.CloseSignedOut)
	}
	arenatest.Eventually(t, 5*time.Second, 50*time.Millisecond, func() error {
		if code := call(t, "GET", addrB, "/api/me", s.AccessToken, nil, nil); code != http.StatusUnauthorized {
			return fmt.Errorf("GET /api/me on b with the deleted account's token: %d", code)
		}
		return nil
	})
}

// TestOIDCSignInThroughTheProgram signs in through an OpenID Connect
// provider started in the test, with the stock program configured by its
// flags: the provider's user becomes an account, the page is handed its
// refresh token (never in a URL), and a second sign-in is the same
// account.
func TestOIDCSignInThroughTheProgram(t *testing.T) {
	port := freePort(t)
	redirect := "http://127.0.0.1:" + port + accounts.OIDCCallbackPath
	user := oidctest.User{Subject: "u-42", Name: "Olga", Email: "olga@example.com", EmailVerified: true}
	p := oidctest.New(t, oidctest.Config{ClientID: "arena", ClientSecret: "provider-secret", RedirectURIs: []string{redirect}, User: user})
	addr := startRun(t, []string{"-port", port, "-oidc-issuer", p.Issuer(), "-oidc-client-id", "arena",
		"-oidc-client-secret", "provider-secret", "-oidc-redirect-url", redirect}, dots.Mode)

	refreshFromSignIn := func() string {
		t.Helper()
		jar, _ := cookiejar.New(nil)
		c := &http.Client{Jar: jar, Timeout: 10 * time.Second}
		resp, err := c.Get("http://" + addr + accounts.OIDCStartPath)
		if err != nil {
			t.Fatal(err)
		}
		body, _ := io.ReadAll(resp.Body)
		resp.Body.Close()
		if resp.StatusCode != http.StatusOK || resp.Request.URL.Path != accounts.OIDCCallbackPath {
			t.Fatalf("sign-in ended at %s with %s:\n%s", resp.Request.URL.Path, resp.Status, body)
		}
		if strings.Contains(resp.Request.URL.RawQuery, "token") {
			t.Fatalf("a token in the URL: %s", resp.Request.URL)
		}
		m := regexp.MustCompile(`localStorage\.setItem\("arena\.refresh", "([^"]+)"\)`).FindSubmatch(body)
		if m == nil {
			t.Fatalf("the answer hands the page no refresh token:\n%s", body)
		}
		return string(m[1])
	}
	var first session
	if code := call(t, "POST", addr, "/api/auth/refresh", "", map[string]string{"refresh_token": refreshFromSignIn()}, &first); code != http.StatusOK {
		t.Fatalf("refresh of the sign-in's token: %d", code)
	}
	if first.Account.Name != "Olga" || first.Account.Guest {
		t.Fatalf("the provider's user became %+v; want Olga, not a guest", first.Account)
	}
	var second session
	if code := call(t, "POST", addr, "/api/auth/refresh", "", map[string]string{"refresh_token": refreshFromSignIn()}, &second); code != http.StatusOK || second.Account.ID != first.Account.ID {
		t.Fatalf("a second sign-in: %d, account %s; want the same account %s", code, second.Account.ID, first.Account.ID)
	}
	_, id, _ := signedIn(t, addr, "room=oidc", second.AccessToken)
	if id != first.Account.ID {
		t.Fatalf("plays as %s; want %s", id, first.Account.ID)
	}
}

// TestStorageThroughTheProgram: the stock program serves player storage
// on its store: a guest saves an object, reads it back with its version,
// and a stale version is refused.
func TestStorageThroughTheProgram(t *testing.T) {
	addr := startRun(t, nil, dots.Mode)
	var s session
	if code := call(t, "POST", addr, "/api/auth/guest", "", map[string]string{}, &s); code != http.StatusCreated {
		t.Fatalf("guest: %d", code)
	}
	do := func(method, header, value string, body any) *http.Response {
		t.Helper()
		b, _ := json.Marshal(body)
		req, _ := http.NewRequest(method, "http://"+addr+"/api/storage/saves/slot1", bytes.NewReader(b))
		req.Header.Set("Authorization", "Bearer "+s.AccessToken)
		req.Header.Set("Content-Type", "application/json")
		if header != "" {
			req.Header.Set(header, value)
		}
		resp, err := http.DefaultClient.Do(req)
		if err != nil {
			t.Fatal(err)
		}
		resp.Body.Close()
		return resp
	}
	created := do("PUT", "If-None-Match", "*", map[string]any{"value": map[string]int{"level": 3}, "read": "owner"})
	if created.StatusCode != http.StatusCreated || created.Header.Get("ETag") == "" {
		t.Fatalf("create: %d, ETag %q", created.StatusCode, created.Header.Get("ETag"))
	}
	if got := do("GET", "", "", nil); got.StatusCode != http.StatusOK || got.Header.Get("ETag") != created.Header.Get("ETag") {
		t.Fatalf("read: %d, ETag %q; want 200, %q", got.StatusCode, got.Header.Get("ETag"), created.Header.Get("ETag"))
	}
	if upd := do("PUT", "If-Match", created.Header.Get("ETag"), map[string]any{"value": map[string]int{"level": 4}}); upd.StatusCode != http.StatusOK {
		t.Fatalf("update: %d", upd.StatusCode)
	}
	if stale := do("PUT", "If-Match", created.Header.Get("ETag"), map[string]any{"value": map[string]int{"level": 5}}); stale.StatusCode != http.StatusPreconditionFailed {
		t.Fatalf("a stale version: %d; want 412", stale.StatusCode)
	}
}

// TestProgressThroughTheProgram plays a game of tag to its goal between
// two signed-in guests on the stock program: the finished game reaches
// the match history of both, their ratings in tag, and the tag_wins
// board, on its own, with nobody waiting for it.
func TestProgressThroughTheProgram(t *testing.T) {
	addr := startRun(t, nil, tag.Mode)
	var ann, bob session
	for _, s := range []*session{&ann, &bob} {
		if code := call(t, "POST", addr, "/api/auth/guest", "", map[string]string{}, s); code != http.StatusCreated {
			t.Fatalf("guest: %d", code)
		}
	}
	room := fmt.Sprintf("room=g%d&mode=tag&room.goal=1", time.Now().UnixNano())
	a, _, _ := signedIn(t, addr, room, ann.AccessToken)
	signedIn(t, addr, room, bob.AccessToken)
	// Within a second or so one of them, not it, scores the goal.
	for over := false; !over; {
		_ = a.SetReadDeadline(time.Now().Add(10 * time.Second))
		_, data, err := a.ReadMessage()
		if err != nil {
			t.Fatalf("waiting for room_over: %v", err)
		}
		over = strings.Contains(string(data), `"room_over"`)
	}
	var history struct {
		Matches []struct {
			Mode    string
			Players []struct{ Account string }
		}
	}
	arenatest.Eventually(t, 5*time.Second, 20*time.Millisecond, func() error {
		if code := call(t, "GET", addr, "/api/matches?account="+bob.Account.ID, "", nil, &history); code != http.StatusOK || len(history.Matches) != 1 {
			return fmt.Errorf("bob's history: %d, %+v", code, history)
		}
		return nil
	})
	if m := history.Matches[0]; m.Mode != "tag" || len(m.Players) != 2 {
		t.Fatalf("the match in the history: %+v", m)
	}
	resp, err := http.Get("http://" + addr + "/metrics")
	if err != nil {
		t.Fatal(err)
	}
	metrics, _ := io.ReadAll(resp.Body)
	resp.Body.Close()
	for _, line := range []string{"arena_results_stored_total 1", "arena_results_store_lost_total 0", "arena_results_store_queued 0"} {
		if !strings.Contains(string(metrics), "\n"+line+"\n") {
			t.Errorf("/metrics lacks %q", line)
		}
	}
	var profile struct {
		Ratings []struct {
			Mode  string
			Games int
		}
	}
	if code := call(t, "GET", addr, "/api/accounts/"+ann.Account.ID, "", nil, &profile); code != http.StatusOK ||
		len(profile.Ratings) != 1 || profile.Ratings[0].Mode != "tag" || profile.Ratings[0].Games != 1 {
		t.Fatalf("ann's profile: %d, %+v; want one game rated in tag", code, profile)
	}
	var board struct {
		Entries []struct {
			Account string
			Score   int64
			Rank    int
		}
	}
	if code := call(t, "GET", addr, "/api/leaderboards/tag_wins", "", nil, &board); code != http.StatusOK || len(board.Entries) == 0 ||
		board.Entries[0].Rank != 1 || board.Entries[0].Score != 1 {
		t.Fatalf("tag_wins: %d, %+v; want the winner first with 1 win", code, board)
	}
}

// TestExportHoldsProgress: an account's export holds what the store keeps
// of its progress: here, an object of its storage.
func TestExportHoldsProgress(t *testing.T) {
	addr := startRun(t, nil, dots.Mode)
	var s session
	if code := call(t, "POST", addr, "/api/auth/guest", "", map[string]string{}, &s); code != http.StatusCreated {
		t.Fatalf("guest: %d", code)
	}
	req, _ := http.NewRequest("PUT", "http://"+addr+"/api/storage/saves/slot1", strings.NewReader(`{"value":{"level":7}}`))
	req.Header.Set("Authorization", "Bearer "+s.AccessToken)
	req.Header.Set("If-None-Match", "*")
	resp, err := http.DefaultClient.Do(req)
	if err != nil {
		t.Fatal(err)
	}
	resp.Body.Close()
	if resp.StatusCode != http.StatusCreated {
		t.Fatalf("save: %d", resp.StatusCode)
	}
	var export struct {
		Account  struct{ ID string }
		Progress struct {
			Storage []struct {
				Collection, Key string
				Value           json.RawMessage
			}
			Matches []json.RawMessage
		}
	}
	if code := call(t, "GET", addr, "/api/me/export", s.AccessToken, nil, &export); code != http.StatusOK {
		t.Fatalf("export: %d", code)
	}
	if export.Account.ID != s.Account.ID || len(export.Progress.Storage) != 1 || export.Progress.Storage[0].Key != "slot1" ||
		string(export.Progress.Storage[0].Value) != `{"level":7}` {
		t.Fatalf("export %+v; want the account with its saved slot1", export)
	}
}
