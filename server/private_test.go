package server_test

import (
	"context"
	"encoding/json"
	"errors"
	"io"
	"log/slog"
	"net"
	"net/http"
	"net/url"
	"strings"
	"testing"
	"time"

	"github.com/gorilla/websocket"

	"github.com/arena-server/arena/arenatest"
	"github.com/arena-server/arena/cluster"
	"github.com/arena-server/arena/game"
	"github.com/arena-server/arena/games/tag"
	"github.com/arena-server/arena/internal/natstest"
	"github.com/arena-server/arena/protocol"
	"github.com/arena-server/arena/server"
)

const roomPassword = "correct-h0rse-battery"

// vault is tag with a secret room option, key.
var vault = func() game.Mode {
	m := tag.Mode
	m.Name = "vault"
	m.RoomOptions = append([]game.Option{{Name: "key", Type: game.OptionString, Secret: true}}, tag.Mode.RoomOptions...)
	return m
}()

// withLogs logs everything the server says, debug included, into b.
func withLogs(b *arenatest.LogBuffer) func(*server.Config) {
	return func(c *server.Config) {
		c.Logger = slog.New(slog.NewJSONHandler(b, &slog.HandlerOptions{Level: slog.LevelDebug}))
		c.Modes = append(c.Modes, vault)
	}
}

// postFrom posts body to url from the address ip, following redirects, and
// decodes the answer into v.
func postFrom(t *testing.T, ip, url, body string, v any) *http.Response {
	t.Helper()
	nd := &net.Dialer{LocalAddr: &net.TCPAddr{IP: net.ParseIP(ip)}, Timeout: 5 * time.Second}
	tr := &http.Transport{DialContext: nd.DialContext}
	defer tr.CloseIdleConnections()
	resp, err := (&http.Client{Transport: tr}).Post(url, "application/json", strings.NewReader(body))
	if err != nil {
		t.Fatal(err)
	}
	defer resp.Body.Close()
	data, _ := io.ReadAll(resp.Body)
	if v != nil {
		if err := json.Unmarshal(data, v); err != nil {
			t.Fatalf("POST %s: HTTP %d %q: %v", url, resp.StatusCode, data, err)
		}
	}
	return resp
}

type seatAnswer struct {
	Seat    string `json:"seat"`
	URL     string `json:"url"`
	Code    string `json:"code"`
	Message string `json:"message"`
}

// seatFor asks base for a seat in room with password, from ip.
func seatFor(t *testing.T, ip, base, room, password string) (seatAnswer, int) {
	t.Helper()
	body, _ := json.Marshal(map[string]string{"password": password})
	var a seatAnswer
	resp := postFrom(t, ip, strings.TrimSuffix(base, "/")+"/api/rooms/"+room+"/join", string(body), &a)
	return a, resp.StatusCode
}

func listed(t *testing.T, srv *arenatest.Server, name string) bool {
	t.Helper()
	for _, r := range roomsOf(t, srv) {
		if r.Name == name {
			return true
		}
	}
	return false
}

// TestPrivateRoomWithAPassword: a private room with a password is created
// over HTTP, listed nowhere, never matched; a join without a seat is
// refused for good; wrong passwords are refused, then throttled; the right
// one gets a seat, used once, to play. Neither the logs nor the room's
// document hold the password, and the room moved to another server still
// asks for it.
func TestPrivateRoomWithAPassword(t *testing.T) {
	t.Parallel()
	var logs, logsB arenatest.LogBuffer
	srv := arenatest.Start(t, arenatest.Options{Config: func(c *server.Config) { withLogs(&logs)(c); withAdmin(c) }})
	srv.SetPasswordThrottle(2)
	create := `{"name":"hideout","mode":"tag","private":true,"password":"` + roomPassword + `"}`
	var info server.RoomInfo
	if code := postFrom(t, victimIP, srv.URL+"/api/rooms", create, &info).StatusCode; code != http.StatusCreated {
		t.Fatalf("create: HTTP %d; want 201", code)
	}
	if info.Name != "hideout" || info.Mode != "tag" || !info.Private || !info.Password {
		t.Errorf("created %+v", info)
	}
	var refused seatAnswer
	if code := postFrom(t, victimIP, srv.URL+"/api/rooms", `{"name":"hideout","mode":"tag"}`, &refused).StatusCode; code != http.StatusConflict {
		t.Errorf("a second creation: HTTP %d %+v; want 409", code, refused)
	}

	if listed(t, srv, "hideout") {
		t.Error("GET /api/rooms lists the private room")
	}
	var stats struct{ Rooms []server.RoomInfo }
	adminStats(t, srv, &stats)
	if len(stats.Rooms) != 1 || !stats.Rooms[0].Private {
		t.Errorf("the admin's room list %+v; want hideout, marked private", stats.Rooms)
	}
	var match struct{ Room string }
	postJSON(t, srv.URL+"/api/matchmake", `{"mode":"tag"}`, &match)
	if match.Room == "" || match.Room == "hideout" {
		t.Errorf("matchmake chose %q", match.Room)
	}
	if c := dialNative(t, srv.WSURL+"?mode=tag"); c.welcome.Room == "hideout" {
		t.Error("a quick-join landed in the private room")
	}

	refusedWith(t, srv, attackerIP, "?room=hideout", protocol.CodePasswordRequired, websocket.ClosePolicyViolation)
	refusedWith(t, srv, attackerIP, "?room=hideout&seat=made-up", protocol.CodePasswordRequired, websocket.ClosePolicyViolation)
	for range 2 {
		if a, code := seatFor(t, attackerIP, srv.URL, "hideout", "hunter2"); code != http.StatusForbidden || a.Code != protocol.CodeBadPassword || a.Seat != "" {
			t.Fatalf("a wrong password: HTTP %d %+v; want 403 bad_password", code, a)
		}
	}
	if a, code := seatFor(t, attackerIP, srv.URL, "hideout", roomPassword); code != http.StatusTooManyRequests || a.Seat != "" {
		t.Errorf("past the throttle, even the right password: HTTP %d %+v; want 429", code, a)
	}
	if got := metric(t, srv, `arena_room_password_failures_total{result="wrong"}`); got != 2 {
		t.Errorf("wrong passwords counted %v; want 2", got)
	}
	if got := metric(t, srv, `arena_room_password_failures_total{result="throttled"}`); got != 1 {
		t.Errorf("throttled attempts counted %v; want 1", got)
	}

	a, code := seatFor(t, victimIP, srv.URL, "hideout", roomPassword)
	if code != http.StatusOK || a.Seat == "" || a.URL != srv.URL {
		t.Fatalf("the right password: HTTP %d %+v; want a seat and url %s", code, a, srv.URL)
	}
	player := dialNativeFrom(t, victimIP, srv.WSURL+"?room=hideout&seat="+url.QueryEscape(a.Seat))
	if player.welcome.Room != "hideout" {
		t.Fatalf("joined %q with the seat", player.welcome.Room)
	}
	plays(t, player)
	refusedWith(t, srv, victimIP, "?room=hideout&seat="+url.QueryEscape(a.Seat), protocol.CodePasswordRequired, websocket.ClosePolicyViolation)

	doc, err := srv.Manager().Export(context.Background(), "hideout")
	if err != nil {
		t.Fatal(err)
	}
	if strings.Contains(string(doc), roomPassword) || !strings.Contains(string(doc), "$argon2id$v=19$m=19456,t=2,p=1$") {
		t.Errorf("the document holds the password, or not its hash: %s", doc)
	}

	// Moved to another server, the room still asks for the password.
	srvB := arenatest.Start(t, arenatest.Options{Config: withLogs(&logsB)})
	if _, err := srvB.Manager().Import(doc); err != nil {
		t.Fatal(err)
	}
	refusedWith(t, srvB, attackerIP, "?room=hideout", protocol.CodePasswordRequired, websocket.ClosePolicyViolation)
	if listed(t, srvB, "hideout") {
		t.Error("the moved room is listed")
	}
	b, code := seatFor(t, victimIP, srvB.URL, "hideout", roomPassword)
	if code != http.StatusOK || b.Seat == "" {
		t.Fatalf("the right password on b: HTTP %d %+v", code, b)
	}
	plays(t, dialNativeFrom(t, victimIP, srvB.WSURL+"?room=hideout&seat="+url.QueryEscape(b.Seat)))

	for name, l := range map[string]*arenatest.LogBuffer{"a": &logs, "b": &logsB} {
		if text := l.String(); strings.Contains(text, roomPassword) || strings.Contains(text, "hunter2") || strings.Contains(text, "$argon2id") {
			t.Errorf("server %s logged a password or its hash:\n%s", name, text)
		} else if !strings.Contains(text, "hideout") {
			t.Errorf("server %s logged nothing of the room: is the capture working?\n%s", name, text)
		}
	}
}

var errNotYet = errors.New("not yet")

// TestSecretOptionsAreNotListed: a room option its mode marks secret is in
// no room list, the mode list declares it, and a room given one is never
// matched.
func TestSecretOptionsAreNotListed(t *testing.T) {
	t.Parallel()
	var logs arenatest.LogBuffer
	srv := arenatest.Start(t, arenatest.Options{Config: withLogs(&logs)})
	owner := dialNative(t, srv.WSURL+"?room=keyed&mode=vault&room.key=open-sesame&room.cooldown=3")
	if owner.welcome.Room != "keyed" {
		t.Fatalf("joined %q", owner.welcome.Room)
	}
	var keyed server.RoomInfo
	for _, r := range roomsOf(t, srv) {
		if r.Name == "keyed" {
			keyed = r
		}
	}
	if keyed.Name == "" || keyed.Options["key"] != "" || keyed.Options["cooldown"] != "3" {
		t.Errorf("listed %+v; want keyed, with its cooldown and without its key", keyed)
	}
	var modes struct{ Modes []server.ModeInfo }
	getJSON(t, srv.URL+"/api/modes", &modes)
	declared := false
	for _, m := range modes.Modes {
		for _, o := range m.RoomOptions {
			declared = declared || (m.Name == "vault" && o.Name == "key" && o.Secret)
		}
	}
	if !declared {
		t.Error("/api/modes does not declare vault's secret option")
	}
	var match struct{ Room string }
	postJSON(t, srv.URL+"/api/matchmake", `{"mode":"vault"}`, &match)
	if match.Room == "keyed" {
		t.Error("matchmake chose the room with a secret option")
	}
	if c := dialNative(t, srv.WSURL+"?mode=vault"); c.welcome.Room == "keyed" {
		t.Error("a quick-join landed in the room with a secret option")
	}
	if strings.Contains(logs.String(), "open-sesame") {
		t.Error("the secret option was logged")
	}
}

// TestPrivateRoomInACluster: a private room with a password and a secret
// option, created on node a: its directory entry says private and holds
// neither the secret nor the password nor its hash; node b lists it
// nowhere and never matches it; b sends a join's password on to a, whose
// seat plays there.
func TestPrivateRoomInACluster(t *testing.T) {
	t.Parallel()
	var logs arenatest.LogBuffer
	nodes := arenatest.StartCluster(t, natstest.Start(t), 2, withLogs(&logs))
	a, b := nodes[0], nodes[1]
	create := `{"name":"vault-1","mode":"vault","options":{"key":"open-sesame"},"private":true,"password":"` + roomPassword + `"}`
	if code := postFrom(t, victimIP, a.URL+"/api/rooms", create, nil).StatusCode; code != http.StatusCreated {
		t.Fatalf("create on a: HTTP %d", code)
	}
	var entry cluster.RoomEntry
	arenatest.Eventually(t, 10*time.Second, 20*time.Millisecond, func() error {
		for _, e := range b.Cluster().Directory().Rooms() {
			if e.Name == "vault-1" {
				entry = e
				return nil
			}
		}
		return errNotYet
	})
	raw, _ := json.Marshal(entry)
	if !entry.Private || !entry.Secret || strings.Contains(string(raw), "open-sesame") || strings.Contains(string(raw), roomPassword) || strings.Contains(string(raw), "argon2") {
		t.Errorf("the directory entry %s; want private and secret, without the key or the password", raw)
	}
	if code := postFrom(t, victimIP, b.URL+"/api/rooms", `{"name":"vault-1","mode":"vault"}`, nil).StatusCode; code != http.StatusConflict {
		t.Errorf("creating it again on b: HTTP %d; want 409", code)
	}
	if listed(t, b, "vault-1") || listed(t, a, "vault-1") {
		t.Error("a node lists the private room")
	}
	var match struct{ Room string }
	postJSON(t, b.URL+"/api/matchmake", `{"mode":"vault"}`, &match)
	if match.Room == "vault-1" {
		t.Error("b's matchmake chose the private room")
	}
	seat, code := seatFor(t, victimIP, b.URL, "vault-1", roomPassword)
	if code != http.StatusOK || seat.Seat == "" || strings.TrimSuffix(seat.URL, "/") != a.URL {
		t.Fatalf("a seat through b: HTTP %d %+v; want a seat on %s", code, seat, a.URL)
	}
	// A redirect from b holds no seat in a passworded room.
	c := dialNode(t, b.URL, "room=vault-1", "")
	if c.Msg.Type != protocol.BinRedirect || c.Msg.Seat != "" {
		t.Errorf("b's answer %#x, seat %q; want a redirect without a seat", c.Msg.Type, c.Msg.Seat)
	}
	player := dialNode(t, seat.URL, "room=vault-1&seat="+url.QueryEscape(seat.Seat), "")
	if player.Msg.Type != protocol.BinWelcome || player.Welcome.Room != "vault-1" {
		t.Fatalf("the join with the seat: %#x %s %s", player.Msg.Type, player.Msg.Code, player.Msg.Message)
	}

	// a drains: the room moves to b, where its player resumes without a
	// seat, and a new player still needs the password.
	go a.Stop(t)
	for player.Msg.Type != protocol.BinRedirect {
		if _, err := player.Next(5 * time.Second); err != nil {
			t.Fatalf("no redirect when a drains: %v", err)
		}
	}
	back := dialNode(t, b.URL, "room=vault-1", player.Welcome.Token)
	if back.Msg.Type != protocol.BinWelcome || !back.Welcome.Resumed {
		t.Fatalf("the resume on b: %#x %s %s; want a welcome, resumed", back.Msg.Type, back.Msg.Code, back.Msg.Message)
	}
	stranger := dialNode(t, b.URL, "room=vault-1", "")
	if stranger.Msg.Type != protocol.BinError || stranger.Msg.Code != protocol.CodePasswordRequired {
		t.Errorf("a join of the moved room without a seat: %#x %s; want password_required", stranger.Msg.Type, stranger.Msg.Code)
	}
	if listed(t, b, "vault-1") {
		t.Error("b lists the moved private room")
	}
	ctx, cancel := context.WithTimeout(context.Background(), 5*time.Second)
	defer cancel()
	doc, err := b.Cluster().Directory().LoadDoc(ctx, "vault-1")
	if err != nil {
		t.Fatal(err)
	}
	if strings.Contains(string(doc), roomPassword) || !strings.Contains(string(doc), "$argon2id$") {
		t.Errorf("the stored document holds the password, or not its hash: %s", doc)
	}
	if strings.Contains(logs.String(), roomPassword) || strings.Contains(logs.String(), "open-sesame") {
		t.Error("a node logged the password or the secret option")
	}
}

// TestRoomRequestsAreJSON: the room endpoints take JSON bodies only, which
// a page of another site cannot send without a preflight.
func TestRoomRequestsAreJSON(t *testing.T) {
	t.Parallel()
	srv := arenatest.Start(t, arenatest.Options{})
	for _, path := range []string{"/api/rooms", "/api/rooms/x/join"} {
		resp, err := http.Post(srv.URL+path, "text/plain", strings.NewReader(`{"name":"x"}`))
		if err != nil {
			t.Fatal(err)
		}
		resp.Body.Close()
		if resp.StatusCode != http.StatusUnsupportedMediaType {
			t.Errorf("POST %s as text/plain: HTTP %d; want 415", path, resp.StatusCode)
		}
	}
	var created server.RoomInfo
	if code := postJSON(t, srv.URL+"/api/rooms", `{"mode":"tag","private":true}`, &created); code != http.StatusCreated || !strings.HasPrefix(created.Name, "tag-") {
		t.Errorf("a nameless creation: HTTP %d %+v; want 201 and a fresh name", code, created)
	}
	var refused seatAnswer
	if code := postJSON(t, srv.URL+"/api/rooms", `{"name":"default"}`, &refused); code != http.StatusConflict {
		t.Errorf("creating the default room: HTTP %d %+v; want 409", code, refused)
	}
	if code := postJSON(t, srv.URL+"/api/rooms/nowhere/join", `{"password":"x"}`, &refused); code != http.StatusNotFound {
		t.Errorf("a seat in no room: HTTP %d %+v; want 404", code, refused)
	}
	// A private room without a password gives a seat for the asking.
	var seat seatAnswer
	if code := postJSON(t, srv.URL+"/api/rooms/"+created.Name+"/join", `{}`, &seat); code != http.StatusOK || seat.Seat == "" {
		t.Errorf("a seat in a private room without password: HTTP %d %+v", code, seat)
	}
}
