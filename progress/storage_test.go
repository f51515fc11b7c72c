package progress

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"log/slog"
	"net/http"
	"net/http/httptest"
	"path/filepath"
	"strconv"
	"strings"
	"testing"
	"time"

	"github.com/arena-server/arena/accounts"
	"github.com/arena-server/arena/game"
	"github.com/arena-server/arena/internal/pgtest"
	"github.com/arena-server/arena/store"
)

// storageBackends are the stores every storage test runs against: an
// SQLite file and a database on a real PostgreSQL server.
var storageBackends = []struct {
	name string
	url  func(t *testing.T) string
}{
	{store.SQLite, func(t *testing.T) string { return "sqlite:" + filepath.Join(t.TempDir(), "arena.db") }},
	{store.Postgres, func(t *testing.T) string { return pgtest.DB(t) }},
}

// storageRig is a Service on a real store, its API on a real socket, and
// accounts to call it as.
type storageRig struct {
	t    *testing.T
	db   *store.DB
	acc  *accounts.Service
	svc  *Service
	http *httptest.Server
}

func newStorageRig(t *testing.T, dbURL string) *storageRig {
	t.Helper()
	ctx := context.Background()
	db, err := store.Open(ctx, dbURL)
	if err != nil {
		t.Fatal(err)
	}
	log := slog.New(slog.NewTextHandler(io.Discard, nil))
	acc, err := accounts.New(ctx, accounts.Config{DB: db, Log: log})
	if err != nil {
		t.Fatal(err)
	}
	svc, err := New(ctx, Config{DB: db, Accounts: acc, Log: log})
	if err != nil {
		t.Fatal(err)
	}
	srv := httptest.NewServer(svc.Handler())
	t.Cleanup(func() {
		srv.Close()
		svc.Close()
		acc.Close()
		db.Close()
	})
	return &storageRig{t: t, db: db, acc: acc, svc: svc, http: srv}
}

// player signs a new account in, returning its ID and access token.
func (g *storageRig) player(name string) (id, token string) {
	g.t.Helper()
	sess, err := g.acc.SignInExternal(context.Background(), "https://issuer.test", name, name, "")
	if err != nil {
		g.t.Fatal(err)
	}
	return sess.Account.ID, sess.AccessToken
}

type answer struct {
	status int
	header http.Header
	body   map[string]any
	raw    string
}

// do sends a request of the API with token as its bearer ("" for none)
// and headers as pairs.
func (g *storageRig) do(method, path, token, body string, headers ...string) answer {
	g.t.Helper()
	var rd io.Reader
	if body != "" {
		rd = strings.NewReader(body)
	}
	req, err := http.NewRequest(method, g.http.URL+path, rd)
	if err != nil {
		g.t.Fatal(err)
	}
	if token != "" {
		req.Header.Set("Authorization", "Bearer "+token)
	}
	for i := 0; i+1 < len(headers); i += 2 {
		if headers[i] == "" {
			continue
		}
		req.Header.Set(headers[i], headers[i+1])
	}
	res, err := http.DefaultClient.Do(req)
	if err != nil {
		g.t.Fatal(err)
	}
	defer res.Body.Close()
	raw, _ := io.ReadAll(res.Body)
	a := answer{status: res.StatusCode, header: res.Header, raw: string(raw)}
	_ = json.Unmarshal(raw, &a.body)
	return a
}

func (a answer) want(t *testing.T, what string, status int, code string) answer {
	t.Helper()
	if a.status != status || (code != "" && a.body["code"] != code) {
		t.Fatalf("%s: %d %s; want %d %s", what, a.status, a.raw, status, code)
	}
	return a
}

func (a answer) version(t *testing.T) string {
	t.Helper()
	tag := a.header.Get("ETag")
	v, err := strconv.ParseInt(strings.Trim(tag, `"`), 10, 64)
	if err != nil || v <= 0 || !strings.HasPrefix(tag, `"`) || a.body["version"] != float64(v) {
		t.Fatalf("ETag %q does not carry the body's version %v", tag, a.body["version"])
	}
	return tag
}

func TestStorageAPI(t *testing.T) {
	for _, b := range storageBackends {
		t.Run(b.name, func(t *testing.T) {
			t.Parallel()
			storageAPIContract(t, b.url)
		})
	}
}

func storageAPIContract(t *testing.T, newURL func(t *testing.T) string) {
	t.Run("versions: create, stale If-Match is 412, no precondition is 428, delete", func(t *testing.T) {
		g := newStorageRig(t, newURL(t))
		_, tok := g.player("ann")
		path := "/api/storage/saves/slot-1"
		g.do("GET", path, tok, "").want(t, "GET of nothing", 404, "not_found")
		g.do("PUT", path, tok, `{"value":{"level":1}}`).want(t, "PUT without a precondition", 428, "precondition_required")

		created := g.do("PUT", path, tok, `{"value": {"level": 1,  "hp": [1, 2]}}`, "If-None-Match", "*").want(t, "create", 201, "")
		v1 := created.version(t)
		if created.body["read"] != "owner" || created.body["write"] != "owner" || created.body["key"] != "slot-1" {
			t.Fatalf("created %s", created.raw)
		}
		g.do("PUT", path, tok, `{"value":2}`, "If-None-Match", "*").want(t, "create over it", 412, "version_mismatch")

		got := g.do("GET", path, tok, "").want(t, "GET", 200, "")
		if got.version(t) != v1 || !strings.Contains(got.raw, `"value":{"level":1,"hp":[1,2]}`) {
			t.Fatalf("GET = %s (ETag %s), want the compacted value at %s", got.raw, got.header.Get("ETag"), v1)
		}

		v2 := g.do("PUT", path, tok, `{"value":{"level":2},"read":"public"}`, "If-Match", v1).want(t, "update", 200, "").version(t)
		if v2 == v1 {
			t.Fatal("the version did not change")
		}
		g.do("PUT", path, tok, `{"value":{"level":3}}`, "If-Match", v1).want(t, "stale update", 412, "version_mismatch")
		g.do("DELETE", path, tok, "", "If-Match", v1).want(t, "stale delete", 412, "version_mismatch")
		g.do("DELETE", path, tok, "").want(t, "delete without If-Match", 428, "precondition_required")
		for _, bad := range []string{"1", `"x"`, `"-3"`, `W/"1"`} {
			g.do("PUT", path, tok, `{"value":1}`, "If-Match", bad).want(t, "If-Match "+bad, 400, "bad_request")
		}
		g.do("PUT", "/api/storage/saves/slot-2", tok, `{"value":1}`, "If-Match", v2).want(t, "update of nothing", 412, "version_mismatch")
		g.do("DELETE", path, tok, "", "If-Match", v2).want(t, "delete", 204, "")
		g.do("GET", path, tok, "").want(t, "GET after delete", 404, "not_found")
		g.do("DELETE", path, tok, "", "If-Match", "*").want(t, "delete again", 404, "not_found")
		// Created again, it has a version its old ETags cannot match.
		v3 := g.do("PUT", path, tok, `{"value":0}`, "If-None-Match", "*").want(t, "create again", 201, "").version(t)
		if v3 == v1 || v3 == v2 {
			t.Fatalf("recreated at %s, a version it had before", v3)
		}
		g.do("DELETE", path, tok, "", "If-Match", "*").want(t, "delete any version", 204, "")
	})

	t.Run("a bearer is required, and checked", func(t *testing.T) {
		g := newStorageRig(t, newURL(t))
		g.do("GET", "/api/storage/saves", "", "").want(t, "list without a bearer", 401, "unauthorized")
		g.do("GET", "/api/storage/saves/k", "not-a-token", "").want(t, "GET with a bad token", 401, "unauthorized")
		g.do("PUT", "/api/storage/saves/k", "", `{"value":1}`, "If-None-Match", "*").want(t, "PUT without a bearer", 401, "unauthorized")
		g.do("DELETE", "/api/storage/saves/k", "", "", "If-Match", "*").want(t, "DELETE without a bearer", 401, "unauthorized")
	})

	t.Run("another account reads public objects only", func(t *testing.T) {
		g := newStorageRig(t, newURL(t))
		ann, annTok := g.player("ann")
		_, bobTok := g.player("bob")
		g.do("PUT", "/api/storage/profile/card", annTok, `{"value":{"title":"hero"},"read":"public"}`, "If-None-Match", "*").want(t, "public", 201, "")
		g.do("PUT", "/api/storage/profile/secret", annTok, `{"value":"mine"}`, "If-None-Match", "*").want(t, "private", 201, "")

		pub := g.do("GET", "/api/storage/profile/card?account="+ann, bobTok, "").want(t, "another's public object", 200, "")
		if pub.body["account"] != ann || !strings.Contains(pub.raw, `"title":"hero"`) {
			t.Fatalf("public object: %s", pub.raw)
		}
		g.do("GET", "/api/storage/profile/secret?account="+ann, bobTok, "").want(t, "another's private object", 404, "not_found")
		list := g.do("GET", "/api/storage/profile?account="+ann, bobTok, "").want(t, "another's listing", 200, "")
		if objs := list.body["objects"].([]any); len(objs) != 1 || objs[0].(map[string]any)["key"] != "card" {
			t.Fatalf("another's listing: %s", list.raw)
		}
		own := g.do("GET", "/api/storage/profile?account="+ann, annTok, "").want(t, "own listing by ID", 200, "")
		if objs := own.body["objects"].([]any); len(objs) != 2 {
			t.Fatalf("own listing: %s", own.raw)
		}
		// Bob's writes are Bob's: there is no way to write Ann's.
		g.do("PUT", "/api/storage/profile/card?account="+ann, bobTok, `{"value":"x"}`, "If-None-Match", "*").want(t, "Bob's own card", 201, "")
		if a := g.do("GET", "/api/storage/profile/card?account="+ann, bobTok, ""); !strings.Contains(a.raw, "hero") {
			t.Fatalf("Ann's card after Bob's write: %s", a.raw)
		}
		g.do("GET", "/api/storage/profile?account=", bobTok, "").want(t, "empty account", 400, "bad_request")
	})

	t.Run("server-only objects are refused to clients", func(t *testing.T) {
		g := newStorageRig(t, newURL(t))
		ann, tok := g.player("ann")
		saved := make(chan game.SaveResult, 1)
		g.svc.Save(game.Save{Account: ann, Collection: "stats", Key: "wins", Value: json.RawMessage(`{"wins": 3}`), ServerOnly: true}, func(r game.SaveResult) { saved <- r })
		res := <-saved
		if res.Err != nil || res.Version <= 0 {
			t.Fatalf("save: %+v", res)
		}
		got := g.do("GET", "/api/storage/stats/wins", tok, "").want(t, "GET of a server object", 200, "")
		if got.body["write"] != "server" || !strings.Contains(got.raw, `"value":{"wins":3}`) {
			t.Fatalf("server object: %s", got.raw)
		}
		tag := got.version(t)
		g.do("PUT", "/api/storage/stats/wins", tok, `{"value":{"wins":99}}`, "If-Match", tag).want(t, "PUT of a server object", 403, "server_only")
		g.do("DELETE", "/api/storage/stats/wins", tok, "", "If-Match", tag).want(t, "DELETE of a server object", 403, "server_only")
		if got := g.do("GET", "/api/storage/stats/wins", tok, ""); !strings.Contains(got.raw, `"wins":3`) {
			t.Fatalf("after refused writes: %s", got.raw)
		}
	})

	t.Run("limits: names, value size, account size, strict bodies", func(t *testing.T) {
		g := newStorageRig(t, newURL(t))
		_, tok := g.player("ann")
		for _, p := range []string{"/api/storage/a%20b/k", "/api/storage/c/" + strings.Repeat("k", 65), "/api/storage/c/%C3%A9", "/api/storage/c/a%2Fb"} {
			if a := g.do("PUT", p, tok, `{"value":1}`, "If-None-Match", "*"); a.status != 400 && a.status != 404 {
				t.Fatalf("PUT %s: %d %s", p, a.status, a.raw)
			}
		}
		g.do("GET", "/api/storage/"+strings.Repeat("c", 65), tok, "").want(t, "list of a long name", 400, "bad_request")
		// 16 KiB of compact JSON passes, one byte more does not; the
		// whitespace compaction removes is not counted.
		big := `"` + strings.Repeat("x", MaxObjectBytes-2) + `"`
		g.do("PUT", "/api/storage/c/big", tok, `{"value":   `+big+`   }`, "If-None-Match", "*").want(t, "16 KiB", 201, "")
		g.do("PUT", "/api/storage/c/bigger", tok, `{"value":"x`+big[1:]+`}`, "If-None-Match", "*").want(t, "16 KiB + 1", 413, "too_large")
		g.do("PUT", "/api/storage/c/huge", tok, `{"value":"`+strings.Repeat("x", storageBody)+`"}`, "If-None-Match", "*").want(t, "a body too large", 413, "too_large")
		for _, body := range []string{
			`{"value":1,"extra":2}`, `{"value":1,"VALUE":2}`, `{"value":{"a":1,"a":2}}`, `{"value":1} {}`,
			`{"value":null}`, `{}`, `{"value":1,"read":"everyone"}`, `not json`,
		} {
			g.do("PUT", "/api/storage/c/k", tok, body, "If-None-Match", "*").want(t, "body "+body, 400, "bad_request")
		}
		// The account's objects together: 1 MiB.
		n := 0
		for ; ; n++ {
			a := g.do("PUT", fmt.Sprintf("/api/storage/fill/k%d", n), tok, `{"value":`+big+`}`, "If-None-Match", "*")
			if a.status == 413 {
				a.want(t, "past the account's limit", 413, "storage_full")
				break
			}
			a.want(t, "filling", 201, "")
			if n > 100 {
				t.Fatal("the account's limit never came")
			}
		}
		size, err := g.db.ObjectsSize(context.Background(), g.mustAccount(tok))
		if err != nil || size > MaxAccountBytes || size+MaxObjectBytes <= MaxAccountBytes {
			t.Fatalf("the account holds %d bytes (%v) when full, limit %d", size, err, MaxAccountBytes)
		}
	})

	t.Run("listing pages by key", func(t *testing.T) {
		g := newStorageRig(t, newURL(t))
		_, tok := g.player("ann")
		var want []string
		for i := range 7 {
			k := fmt.Sprintf("item-%02d", i)
			want = append(want, k)
			g.do("PUT", "/api/storage/inv/"+k, tok, fmt.Sprintf(`{"value":%d}`, i), "If-None-Match", "*").want(t, "put", 201, "")
		}
		g.do("PUT", "/api/storage/other/x", tok, `{"value":1}`, "If-None-Match", "*").want(t, "put", 201, "")
		var got []string
		after := ""
		for pages := 0; ; pages++ {
			a := g.do("GET", "/api/storage/inv?limit=3&after="+after, tok, "").want(t, "page", 200, "")
			for _, o := range a.body["objects"].([]any) {
				got = append(got, o.(map[string]any)["key"].(string))
			}
			next, _ := a.body["next"].(string)
			if next == "" {
				break
			}
			if pages > 3 {
				t.Fatal("the pages do not end")
			}
			after = next
		}
		if fmt.Sprint(got) != fmt.Sprint(want) {
			t.Fatalf("pages: %v, want %v", got, want)
		}
		empty := g.do("GET", "/api/storage/none", tok, "").want(t, "empty collection", 200, "")
		if empty.raw != "{\"objects\":[]}\n" {
			t.Fatalf("empty listing: %q", empty.raw)
		}
		for _, q := range []string{"limit=0", "limit=101", "limit=x", "after=a/b"} {
			g.do("GET", "/api/storage/inv?"+q, tok, "").want(t, q, 400, "bad_request")
		}
	})

	t.Run("a store that is down is 503, and the save's outcome an error", func(t *testing.T) {
		g := newStorageRig(t, newURL(t))
		ann, tok := g.player("ann")
		g.db.Close() // the access token is checked without the store
		for _, c := range []struct{ method, path, body, h, v string }{
			{"GET", "/api/storage/c", "", "", ""},
			{"GET", "/api/storage/c/k", "", "", ""},
			{"PUT", "/api/storage/c/k", `{"value":1}`, "If-None-Match", "*"},
			{"DELETE", "/api/storage/c/k", "", "If-Match", "*"},
		} {
			a := g.do(c.method, c.path, tok, c.body, c.h, c.v).want(t, c.method+" with the store down", 503, "unavailable")
			if a.header.Get("Retry-After") == "" {
				t.Fatalf("%s: no Retry-After", c.method)
			}
		}
		saved := make(chan game.SaveResult, 1)
		g.svc.Save(game.Save{Account: ann, Collection: "c", Key: "k", Value: json.RawMessage(`1`)}, func(r game.SaveResult) { saved <- r })
		select {
		case res := <-saved:
			if !errors.Is(res.Err, game.ErrStorageUnavailable) || res.Version != 0 {
				t.Fatalf("a save with the store down: %+v", res)
			}
		case <-time.After(2 * saveTimeout):
			t.Fatal("no outcome for a save with the store down")
		}
		if _, err := g.svc.Load(context.Background(), ann, []string{"c"}); !errors.Is(err, game.ErrStorageUnavailable) {
			t.Fatalf("a load with the store down: %v", err)
		}
	})
}

// mustAccount is the account of an access token.
func (g *storageRig) mustAccount(token string) string {
	g.t.Helper()
	id, err := g.acc.Authenticate(context.Background(), token)
	if err != nil {
		g.t.Fatal(err)
	}
	return id.Account
}

func TestStorageLoadAndSave(t *testing.T) {
	for _, b := range storageBackends {
		t.Run(b.name, func(t *testing.T) {
			t.Parallel()
			g := newStorageRig(t, b.url(t))
			ann, tok := g.player("ann")
			g.do("PUT", "/api/storage/inv/sword", tok, `{"value":{"dmg":3}}`, "If-None-Match", "*").want(t, "put", 201, "")
			g.do("PUT", "/api/storage/skip/x", tok, `{"value":1}`, "If-None-Match", "*").want(t, "put", 201, "")

			// Saves are written in the order they come, each reported.
			var results []chan game.SaveResult
			for _, sv := range []game.Save{
				{Account: ann, Collection: "inv", Key: "shield", Value: json.RawMessage(`{"def":1}`), Public: true},
				{Account: ann, Collection: "inv", Key: "shield", Value: json.RawMessage(`{"def":2}`)},
				{Account: ann, Collection: "bad name", Key: "k", Value: json.RawMessage(`1`)},
				{Account: ann, Collection: "inv", Key: "junk", Value: json.RawMessage(`{not json`)},
				{Account: ann, Collection: "inv", Key: "huge", Value: json.RawMessage(`"` + strings.Repeat("x", MaxObjectBytes) + `"`)},
				{Account: "nobody", Collection: "inv", Key: "k", Value: json.RawMessage(`1`)},
			} {
				// The outcome's own channel: the writer reports while this
				// loop still grows the slice.
				c := make(chan game.SaveResult, 1)
				results = append(results, c)
				g.svc.Save(sv, func(r game.SaveResult) { c <- r })
			}
			var got []game.SaveResult
			for _, c := range results {
				select {
				case r := <-c:
					got = append(got, r)
				case <-time.After(10 * time.Second):
					t.Fatal("a save had no outcome")
				}
			}
			if got[0].Err != nil || got[1].Err != nil || got[1].Version <= got[0].Version {
				t.Fatalf("saves in order: %+v, %+v", got[0], got[1])
			}
			for _, r := range got[2:] {
				if r.Err == nil || errors.Is(r.Err, game.ErrStorageUnavailable) {
					t.Fatalf("a bad save's outcome: %+v", r)
				}
			}

			loaded, err := g.svc.Load(context.Background(), ann, []string{"inv", "absent"})
			if err != nil {
				t.Fatal(err)
			}
			b, _ := json.Marshal(loaded)
			if string(b) != `{"inv":{"shield":{"def":2},"sword":{"dmg":3}}}` {
				t.Fatalf("Load = %s", b)
			}
			if a := g.do("GET", "/api/storage/inv/shield", tok, ""); a.body["read"] != "owner" || a.body["write"] != "owner" {
				t.Fatalf("the last save's permissions hold: %s", a.raw)
			}
			if loaded, err := g.svc.Load(context.Background(), "nobody", []string{"inv"}); err != nil || len(loaded) != 0 {
				t.Fatalf("Load of nobody = %v, %v", loaded, err)
			}

			// Closed, the service refuses saves at once, to try later.
			g.svc.Close()
			done := make(chan game.SaveResult, 1)
			g.svc.Save(game.Save{Account: ann, Collection: "inv", Key: "k", Value: json.RawMessage(`1`)}, func(r game.SaveResult) { done <- r })
			if r := <-done; !errors.Is(r.Err, game.ErrStorageUnavailable) {
				t.Fatalf("a save after Close: %+v", r)
			}
		})
	}
}
