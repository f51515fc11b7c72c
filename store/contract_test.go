package store

import (
	"context"
	"errors"
	"fmt"
	"io/fs"
	"os"
	"path/filepath"
	"reflect"
	"strconv"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/arena-server/arena/internal/pgtest"
	"github.com/pressly/goose/v3"
)

func TestMain(m *testing.M) { os.Exit(pgtest.Main(m)) }

// backends gives each test a fresh database of each kind: an SQLite file
// and a database on a real PostgreSQL server.
var backends = []struct {
	name string
	url  func(t *testing.T) string
}{
	{SQLite, func(t *testing.T) string { return "sqlite:" + filepath.Join(t.TempDir(), "sub", "arena.db") }},
	{Postgres, func(t *testing.T) string { return pgtest.DB(t) }},
}

// TestContract runs the one contract suite against every backend.
func TestContract(t *testing.T) {
	for _, b := range backends {
		t.Run(b.name, func(t *testing.T) {
			t.Parallel()
			contract(t, b.name, b.url)
		})
	}
}

func contract(t *testing.T, dialect string, newURL func(t *testing.T) string) {
	ctx := context.Background()
	open := func(t *testing.T, u string) *DB {
		t.Helper()
		db, err := Open(ctx, u)
		if err != nil {
			t.Fatal(err)
		}
		t.Cleanup(func() { db.Close() })
		return db
	}
	known := func(t *testing.T) int64 {
		es, err := migrations.ReadDir("migrations/" + dialect)
		if err != nil || len(es) == 0 {
			t.Fatalf("no migrations for %s: %v", dialect, err)
		}
		// The newest migration's number: numbers may have gaps while the
		// branches that fill them are apart.
		v, err := strconv.ParseInt(strings.SplitN(es[len(es)-1].Name(), "_", 2)[0], 10, 64)
		if err != nil {
			t.Fatalf("migration %s: %v", es[len(es)-1].Name(), err)
		}
		return v
	}

	t.Run("migrates to the newest version, and again is a no-op", func(t *testing.T) {
		u := newURL(t)
		db := open(t, u)
		if db.Dialect != dialect || db.Version != known(t) {
			t.Fatalf("opened %s at version %d, want %s at %d", db.Dialect, db.Version, dialect, known(t))
		}
		if err := db.SetMeta(ctx, "k", "v"); err != nil {
			t.Fatal(err)
		}
		db.Close()
		again := open(t, u)
		if again.Version != known(t) {
			t.Fatalf("reopened at version %d", again.Version)
		}
		if v, ok, err := again.Meta(ctx, "k"); err != nil || !ok || v != "v" {
			t.Fatalf("after reopening, meta k = %q, %v, %v", v, ok, err)
		}
	})

	t.Run("every migration goes down and up again", func(t *testing.T) {
		u := newURL(t)
		db := open(t, u)
		fsys, err := fs.Sub(migrations, "migrations/"+dialect)
		if err != nil {
			t.Fatal(err)
		}
		gd := map[string]goose.Dialect{SQLite: goose.DialectSQLite3, Postgres: goose.DialectPostgres}[dialect]
		p, err := goose.NewProvider(gd, db.SQL, fsys)
		if err != nil {
			t.Fatal(err)
		}
		if _, err := p.DownTo(ctx, 0); err != nil {
			t.Fatalf("down: %v", err)
		}
		if _, err := db.SQL.ExecContext(ctx, `SELECT count(*) FROM accounts`); err == nil {
			t.Fatal("accounts is still there after the down migrations")
		}
		db.Close()
		again := open(t, u)
		if again.Version != known(t) {
			t.Fatalf("up again to version %d", again.Version)
		}
		if err := again.CreateAccount(ctx, Account{ID: "a1", Name: "Ann", CreatedAt: time.Now()}); err != nil {
			t.Fatal(err)
		}
	})

	t.Run("meta", func(t *testing.T) {
		db := open(t, newURL(t))
		if v, ok, err := db.Meta(ctx, "absent"); err != nil || ok || v != "" {
			t.Fatalf("absent key: %q, %v, %v", v, ok, err)
		}
		for _, v := range []string{"one", "two", "ünï?côdé"} {
			if err := db.SetMeta(ctx, "key", v); err != nil {
				t.Fatal(err)
			}
			if got, ok, err := db.Meta(ctx, "key"); err != nil || !ok || got != v {
				t.Fatalf("meta key = %q, %v, %v; want %q", got, ok, err, v)
			}
		}
	})

	t.Run("refuses a newer schema", func(t *testing.T) {
		u := newURL(t)
		db := open(t, u)
		// A newer arena applied migration 999.
		if _, err := db.SQL.ExecContext(ctx, db.rebind(`INSERT INTO goose_db_version (version_id, is_applied) VALUES (?, ?)`), 999, true); err != nil {
			t.Fatal(err)
		}
		db.Close()
		_, err := Open(ctx, u)
		if !errors.Is(err, ErrNewerSchema) {
			t.Fatalf("Open of a newer schema: %v, want ErrNewerSchema", err)
		}
		for _, want := range []string{"version 999", fmt.Sprintf("up to version %d", known(t))} {
			if !strings.Contains(err.Error(), want) {
				t.Errorf("error %q does not say %q", err, want)
			}
		}
	})

	accountsContract(t, func(t *testing.T) *DB { return open(t, newURL(t)) })

	if dialect == SQLite {
		t.Run("pragmas", func(t *testing.T) {
			db := open(t, newURL(t))
			for pragma, want := range map[string]string{"journal_mode": "wal", "foreign_keys": "1", "busy_timeout": "5000"} {
				var got string
				if err := db.SQL.QueryRowContext(ctx, "PRAGMA "+pragma).Scan(&got); err != nil || got != want {
					t.Errorf("PRAGMA %s = %q, %v; want %q", pragma, got, err, want)
				}
			}
		})
	}
}

func TestKind(t *testing.T) {
	for u, want := range map[string]string{
		"sqlite:arena-data/arena.db":            SQLite,
		"postgres://u:secret@db:5432/arena":     Postgres,
		"postgresql://db/arena?sslmode=require": Postgres,
		"sqlite:":                               "",
		"mysql://u:secret@db/arena":             "",
		"arena.db":                              "",
	} {
		got, err := Kind(u)
		if got != want || (want == "") != (err != nil) {
			t.Errorf("Kind(%q) = %q, %v; want %q", u, got, err, want)
		}
		if err != nil && strings.Contains(err.Error(), "secret") {
			t.Errorf("Kind(%q) error shows the password: %v", u, err)
		}
	}
}

func TestOpenFailsClearly(t *testing.T) {
	_, err := Open(context.Background(), "postgres://nobody:secret@127.0.0.1:1/none?sslmode=disable&connect_timeout=2")
	if err == nil || strings.Contains(err.Error(), "secret") {
		t.Fatalf("Open of nothing: %v", err)
	}
}

// t0 has nanoseconds and a zone other than UTC: what the store gives back
// is the same instant in UTC, to the microsecond.
var t0 = time.Date(2026, 12, 8, 4, 5, 6, 123456789, time.FixedZone("UTC+5:30", 5*3600+1800))

// stored is t as the store gives it back.
func stored(t time.Time) time.Time { return t.Truncate(time.Microsecond).UTC() }

func account(id, name, email string, created time.Time) Account {
	return Account{ID: id, Name: name, Email: email, CreatedAt: created}
}

func mustErr(t *testing.T, what string, err, want error) {
	t.Helper()
	if !errors.Is(err, want) {
		t.Fatalf("%s: %v, want %v", what, err, want)
	}
}

func must(t *testing.T, err error) {
	t.Helper()
	if err != nil {
		t.Fatal(err)
	}
}

// accountsContract is the accounts part of the contract: store/accounts.go.
func accountsContract(t *testing.T, open func(t *testing.T) *DB) {
	ctx := context.Background()

	t.Run("accounts are created and read back, times in UTC to the microsecond", func(t *testing.T) {
		db := open(t)
		a := Account{
			ID: "a1", Name: "Ann", Email: "Ann@Example.io", PasswordHash: "$argon2id$v=19$m=19456,t=2,p=1$c2FsdA$aGFzaA",
			CreatedAt: t0, BannedUntil: t0.Add(time.Hour), BanReason: "spam", RevokedBefore: t0.Add(-time.Nanosecond),
		}
		must(t, db.CreateAccount(ctx, a))
		want := a
		want.CreatedAt, want.BannedUntil, want.RevokedBefore = stored(a.CreatedAt), stored(a.BannedUntil), stored(a.RevokedBefore)
		got, err := db.AccountByID(ctx, "a1")
		if err != nil || !reflect.DeepEqual(got, want) {
			t.Fatalf("AccountByID = %+v, %v;\nwant %+v", got, err, want)
		}
		if got.CreatedAt.Location() != time.UTC || got.CreatedAt.Nanosecond() != 123456000 {
			t.Fatalf("CreatedAt %v: not UTC to the microsecond", got.CreatedAt)
		}
		for _, e := range []string{"Ann@Example.io", "ann@example.io", "ANN@EXAMPLE.IO"} {
			if got, err := db.AccountByEmail(ctx, e); err != nil || !reflect.DeepEqual(got, want) {
				t.Fatalf("AccountByEmail(%q) = %+v, %v", e, got, err)
			}
		}

		// A guest: no email, no password, not banned, never signed out.
		must(t, db.CreateAccount(ctx, account("g1", "guest-ab12c", "", t0)))
		must(t, db.CreateAccount(ctx, account("g2", "guest-xy34z", "", t0)))
		g, err := db.AccountByID(ctx, "g1")
		if err != nil || g != (Account{ID: "g1", Name: "guest-ab12c", CreatedAt: stored(t0)}) {
			t.Fatalf("guest = %+v, %v", g, err)
		}
		if !g.BannedUntil.IsZero() || !g.RevokedBefore.IsZero() {
			t.Fatalf("guest's unset times are not zero: %+v", g)
		}

		_, err = db.AccountByID(ctx, "nobody")
		mustErr(t, "AccountByID of nobody", err, ErrNotFound)
		_, err = db.AccountByEmail(ctx, "nobody@example.io")
		mustErr(t, "AccountByEmail of nobody", err, ErrNotFound)
		_, err = db.AccountByEmail(ctx, "")
		mustErr(t, "AccountByEmail of a guest's empty email", err, ErrNotFound)
		if err := db.CreateAccount(ctx, account("a1", "Other", "", t0)); err == nil || errors.Is(err, ErrNameTaken) || errors.Is(err, ErrEmailTaken) {
			t.Fatalf("CreateAccount of a taken ID: %v", err)
		}
	})

	t.Run("names and emails are unique case-insensitively", func(t *testing.T) {
		db := open(t)
		must(t, db.CreateAccount(ctx, account("a1", "Ann", "a@x.io", t0)))
		mustErr(t, "ANN", db.CreateAccount(ctx, account("a2", "ANN", "b@x.io", t0)), ErrNameTaken)
		mustErr(t, "A@X.IO", db.CreateAccount(ctx, account("a2", "Bob", "A@X.IO", t0)), ErrEmailTaken)
		// Beyond ASCII too, alike in both dialects.
		must(t, db.CreateAccount(ctx, account("a3", "Ärger", "", t0)))
		mustErr(t, "ärger", db.CreateAccount(ctx, account("a4", "ärger", "", t0)), ErrNameTaken)
		must(t, db.CreateAccount(ctx, account("a2", "Bob", "b@x.io", t0)))

		mustErr(t, "SetName to ANN", db.SetName(ctx, "a2", "ANN"), ErrNameTaken)
		must(t, db.SetName(ctx, "a1", "aNN")) // its own name, another case
		must(t, db.SetName(ctx, "a2", "Bobby"))
		must(t, db.CreateAccount(ctx, account("a5", "bob", "", t0))) // freed by the rename
		mustErr(t, "SetName of nobody", db.SetName(ctx, "nobody", "Zed"), ErrNotFound)

		// A guest registers: SetCredentials.
		must(t, db.CreateAccount(ctx, account("g1", "guest-1", "", t0)))
		mustErr(t, "SetCredentials to B@X.IO", db.SetCredentials(ctx, "g1", "B@X.IO", "h"), ErrEmailTaken)
		must(t, db.SetCredentials(ctx, "g1", "G@x.io", "h1"))
		if g, err := db.AccountByEmail(ctx, "g@X.IO"); err != nil || g.ID != "g1" || g.Email != "G@x.io" || g.PasswordHash != "h1" {
			t.Fatalf("after SetCredentials: %+v, %v", g, err)
		}
		mustErr(t, "SetCredentials of nobody", db.SetCredentials(ctx, "nobody", "n@x.io", "h"), ErrNotFound)

		must(t, db.SetPassword(ctx, "g1", "h2"))
		if g, err := db.AccountByID(ctx, "g1"); err != nil || g.PasswordHash != "h2" {
			t.Fatalf("after SetPassword: %+v, %v", g, err)
		}
		mustErr(t, "SetPassword of nobody", db.SetPassword(ctx, "nobody", "h"), ErrNotFound)
	})

	t.Run("deleting an account frees its name and email, takes its tokens and links, keeps its audit", func(t *testing.T) {
		db := open(t)
		must(t, db.CreateAccount(ctx, account("a1", "Ann", "a@x.io", t0)))
		must(t, db.AddRefresh(ctx, Refresh{Hash: "h1", Family: "f1", AccountID: "a1", IssuedAt: t0, ExpiresAt: t0.Add(time.Hour)}))
		must(t, db.LinkExternal(ctx, "https://issuer.example", "sub-1", "a1"))
		must(t, db.Audit(ctx, AuditEntry{At: t0, Actor: "a1", Action: "register", AccountID: "a1"}))

		must(t, db.DeleteAccount(ctx, "a1"))
		_, err := db.AccountByID(ctx, "a1")
		mustErr(t, "AccountByID after deletion", err, ErrNotFound)
		mustErr(t, "DeleteAccount again", db.DeleteAccount(ctx, "a1"), ErrNotFound)
		_, err = db.AccountByExternal(ctx, "https://issuer.example", "sub-1")
		mustErr(t, "AccountByExternal after deletion", err, ErrNotFound)
		if ls, err := db.ExternalLinks(ctx, "a1"); err != nil || len(ls) != 0 {
			t.Fatalf("links after deletion: %v, %v", ls, err)
		}
		var n int
		must(t, db.SQL.QueryRowContext(ctx, `SELECT count(*) FROM refresh_tokens`).Scan(&n))
		if n != 0 {
			t.Fatalf("%d refresh tokens after deletion", n)
		}
		if es, err := db.AuditLog(ctx, "a1", 0); err != nil || len(es) != 1 || es[0].Action != "register" {
			t.Fatalf("audit after deletion: %+v, %v", es, err)
		}

		// A new account takes the name and email, and the subject anew.
		must(t, db.CreateAccount(ctx, account("a2", "ANN", "A@X.IO", t0)))
		must(t, db.LinkExternal(ctx, "https://issuer.example", "sub-1", "a2"))
	})

	t.Run("bans, unbans, sign-outs everywhere and sanctions", func(t *testing.T) {
		db := open(t)
		now := t0
		for _, id := range []string{"banned", "expired", "signedout", "longago", "clean"} {
			must(t, db.CreateAccount(ctx, account(id, "n-"+id, "", t0)))
		}
		must(t, db.Ban(ctx, "banned", now.Add(time.Hour), "cheating"))
		must(t, db.Ban(ctx, "expired", now.Add(-time.Second), "spam"))
		must(t, db.AddRefresh(ctx, Refresh{Hash: "h1", Family: "f1", AccountID: "signedout", IssuedAt: t0, ExpiresAt: t0.Add(time.Hour)}))
		must(t, db.AddRefresh(ctx, Refresh{Hash: "h2", Family: "f2", AccountID: "signedout", IssuedAt: t0, ExpiresAt: t0.Add(time.Hour)}))
		must(t, db.AddRefresh(ctx, Refresh{Hash: "h3", Family: "f3", AccountID: "clean", IssuedAt: t0, ExpiresAt: t0.Add(time.Hour)}))
		must(t, db.RevokeSessions(ctx, "signedout", now.Add(-time.Minute)))
		must(t, db.RevokeSessions(ctx, "longago", now.Add(-time.Hour)))
		mustErr(t, "Ban of nobody", db.Ban(ctx, "nobody", now.Add(time.Hour), "x"), ErrNotFound)
		mustErr(t, "Unban of nobody", db.Unban(ctx, "nobody"), ErrNotFound)
		mustErr(t, "RevokeSessions of nobody", db.RevokeSessions(ctx, "nobody", now), ErrNotFound)

		a, err := db.AccountByID(ctx, "banned")
		if err != nil || !a.BannedUntil.Equal(stored(now.Add(time.Hour))) || a.BanReason != "cheating" {
			t.Fatalf("banned: %+v, %v", a, err)
		}
		a, err = db.AccountByID(ctx, "signedout")
		if err != nil || !a.RevokedBefore.Equal(stored(now.Add(-time.Minute))) {
			t.Fatalf("signed out: %+v, %v", a, err)
		}
		// Its refresh tokens went; another account's stayed.
		_, err = db.RotateRefresh(ctx, "h1", Refresh{Hash: "n1", IssuedAt: now, ExpiresAt: now.Add(time.Hour)}, now)
		mustErr(t, "rotation after RevokeSessions", err, ErrNotFound)
		if _, err := db.RotateRefresh(ctx, "h3", Refresh{Hash: "n3", IssuedAt: now, ExpiresAt: now.Add(time.Hour)}, now); err != nil {
			t.Fatalf("another account's token after RevokeSessions: %v", err)
		}

		sanctioned := func(since time.Time) []string {
			t.Helper()
			as, err := db.Sanctions(ctx, now, since)
			if err != nil {
				t.Fatal(err)
			}
			var ids []string
			for _, a := range as {
				ids = append(ids, a.ID)
			}
			return ids
		}
		if got, want := sanctioned(now.Add(-2*time.Minute)), []string{"banned", "signedout"}; !reflect.DeepEqual(got, want) {
			t.Fatalf("Sanctions = %v, want %v", got, want)
		}
		if got, want := sanctioned(now.Add(-2*time.Hour)), []string{"banned", "longago", "signedout"}; !reflect.DeepEqual(got, want) {
			t.Fatalf("Sanctions since long ago = %v, want %v", got, want)
		}
		must(t, db.Unban(ctx, "banned"))
		if a, err := db.AccountByID(ctx, "banned"); err != nil || !a.BannedUntil.IsZero() || a.BanReason != "" {
			t.Fatalf("after Unban: %+v, %v", a, err)
		}
		if got, want := sanctioned(now), []string(nil); !reflect.DeepEqual(got, want) {
			t.Fatalf("Sanctions after Unban = %v, want %v", got, want)
		}
	})

	t.Run("refresh tokens rotate; a spent one used again ends its family; an expired one is not found", func(t *testing.T) {
		db := open(t)
		must(t, db.CreateAccount(ctx, account("a1", "Ann", "", t0)))
		now := t0
		ttl := 30 * 24 * time.Hour
		mustErr(t, "AddRefresh for nobody", db.AddRefresh(ctx, Refresh{Hash: "x", Family: "fx", AccountID: "nobody", IssuedAt: now, ExpiresAt: now.Add(ttl)}), ErrNotFound)
		must(t, db.AddRefresh(ctx, Refresh{Hash: "h1", Family: "f1", AccountID: "a1", IssuedAt: now, ExpiresAt: now.Add(ttl)}))
		must(t, db.AddRefresh(ctx, Refresh{Hash: "other", Family: "f2", AccountID: "a1", IssuedAt: now, ExpiresAt: now.Add(ttl)}))

		// next's Family and AccountID are the old token's, whatever they say.
		id, err := db.RotateRefresh(ctx, "h1", Refresh{Hash: "h2", Family: "wrong", AccountID: "wrong", IssuedAt: now, ExpiresAt: now.Add(ttl)}, now)
		if err != nil || id != "a1" {
			t.Fatalf("RotateRefresh = %q, %v", id, err)
		}
		var family, acct string
		var issued, expires int64
		must(t, db.SQL.QueryRowContext(ctx, db.rebind(`SELECT family, account_id, issued_at, expires_at FROM refresh_tokens WHERE hash = ?`), "h2").Scan(&family, &acct, &issued, &expires))
		if family != "f1" || acct != "a1" || issued != now.UnixMicro() || expires != now.Add(ttl).UnixMicro() {
			t.Fatalf("rotated token: family %q, account %q, issued %d, expires %d", family, acct, issued, expires)
		}
		now = now.Add(time.Minute)
		if id, err := db.RotateRefresh(ctx, "h2", Refresh{Hash: "h3", IssuedAt: now, ExpiresAt: now.Add(ttl)}, now); err != nil || id != "a1" {
			t.Fatalf("second rotation = %q, %v", id, err)
		}

		// h1 again: theft. The family goes, h3 with it; f2 stays.
		_, err = db.RotateRefresh(ctx, "h1", Refresh{Hash: "h4", IssuedAt: now, ExpiresAt: now.Add(ttl)}, now)
		mustErr(t, "reuse of h1", err, ErrRefreshReused)
		_, err = db.RotateRefresh(ctx, "h3", Refresh{Hash: "h5", IssuedAt: now, ExpiresAt: now.Add(ttl)}, now)
		mustErr(t, "h3 after its family's reuse", err, ErrNotFound)
		_, err = db.RotateRefresh(ctx, "h1", Refresh{Hash: "h6", IssuedAt: now, ExpiresAt: now.Add(ttl)}, now)
		mustErr(t, "h1 after its family's end", err, ErrNotFound)
		var n int
		must(t, db.SQL.QueryRowContext(ctx, db.rebind(`SELECT count(*) FROM refresh_tokens WHERE family = ?`), "f1").Scan(&n))
		if n != 0 {
			t.Fatalf("%d tokens of a reused family remain", n)
		}

		// Expired: at its expiry and after.
		must(t, db.AddRefresh(ctx, Refresh{Hash: "e1", Family: "fe", AccountID: "a1", IssuedAt: now, ExpiresAt: now.Add(time.Hour)}))
		_, err = db.RotateRefresh(ctx, "e1", Refresh{Hash: "e2", IssuedAt: now, ExpiresAt: now.Add(ttl)}, now.Add(time.Hour))
		mustErr(t, "an expired token", err, ErrNotFound)
		_, err = db.RotateRefresh(ctx, "unknown", Refresh{Hash: "u2", IssuedAt: now, ExpiresAt: now.Add(ttl)}, now)
		mustErr(t, "an unknown token", err, ErrNotFound)
		must(t, db.DeleteExpiredRefresh(ctx, now.Add(time.Hour)))
		must(t, db.SQL.QueryRowContext(ctx, db.rebind(`SELECT count(*) FROM refresh_tokens WHERE hash = ?`), "e1").Scan(&n))
		if n != 0 {
			t.Fatal("DeleteExpiredRefresh left an expired token")
		}

		// RevokeFamily: one session ends, by any of its tokens; others stay.
		id, err = db.RotateRefresh(ctx, "other", Refresh{Hash: "other2", IssuedAt: now, ExpiresAt: now.Add(ttl)}, now)
		if err != nil || id != "a1" {
			t.Fatalf("rotation of f2 = %q, %v", id, err)
		}
		must(t, db.AddRefresh(ctx, Refresh{Hash: "k1", Family: "fk", AccountID: "a1", IssuedAt: now, ExpiresAt: now.Add(ttl)}))
		must(t, db.RevokeFamily(ctx, "other")) // the spent one names the family too
		must(t, db.RevokeFamily(ctx, "unknown"))
		_, err = db.RotateRefresh(ctx, "other2", Refresh{Hash: "other3", IssuedAt: now, ExpiresAt: now.Add(ttl)}, now)
		mustErr(t, "a token of a revoked family", err, ErrNotFound)
		if _, err := db.RotateRefresh(ctx, "k1", Refresh{Hash: "k2", IssuedAt: now, ExpiresAt: now.Add(ttl)}, now); err != nil {
			t.Fatalf("another family after RevokeFamily: %v", err)
		}
	})

	t.Run("a live refresh token's account is read without spending it", func(t *testing.T) {
		db := open(t)
		created := t0.Add(123 * time.Microsecond)
		must(t, db.CreateAccount(ctx, account("a1", "Ann", "ann@example.com", created)))
		until := t0.Add(time.Hour)
		must(t, db.Ban(ctx, "a1", until, "spam"))
		now := t0
		must(t, db.AddRefresh(ctx, Refresh{Hash: "h1", Family: "f1", AccountID: "a1", IssuedAt: now, ExpiresAt: now.Add(time.Hour)}))
		for i := 0; i < 2; i++ { // twice: reading spends nothing
			a, err := db.RefreshAccount(ctx, "h1", now)
			if err != nil || a.ID != "a1" || a.Name != "Ann" || a.Email != "ann@example.com" || !a.CreatedAt.Equal(stored(created)) ||
				!a.BannedUntil.Equal(stored(until)) || a.BanReason != "spam" {
				t.Fatalf("RefreshAccount = %+v, %v", a, err)
			}
		}
		if id, err := db.RotateRefresh(ctx, "h1", Refresh{Hash: "h2", IssuedAt: now, ExpiresAt: now.Add(time.Hour)}, now); err != nil || id != "a1" {
			t.Fatalf("rotation after RefreshAccount = %q, %v", id, err)
		}
		_, err := db.RefreshAccount(ctx, "h1", now)
		mustErr(t, "a spent token", err, ErrNotFound)
		_, err = db.RefreshAccount(ctx, "h2", now.Add(time.Hour))
		mustErr(t, "an expired token", err, ErrNotFound)
		_, err = db.RefreshAccount(ctx, "unknown", now)
		mustErr(t, "an unknown token", err, ErrNotFound)
		// Still the reuse it was: RefreshAccount did not hide h1's spending.
		_, err = db.RotateRefresh(ctx, "h1", Refresh{Hash: "h3", IssuedAt: now, ExpiresAt: now.Add(time.Hour)}, now)
		mustErr(t, "reuse of h1", err, ErrRefreshReused)
	})

	t.Run("one refresh token rotated by 8 at once: exactly one wins, and the family ends", func(t *testing.T) {
		db := open(t)
		must(t, db.CreateAccount(ctx, account("a1", "Ann", "", t0)))
		now := t0
		must(t, db.AddRefresh(ctx, Refresh{Hash: "h0", Family: "f1", AccountID: "a1", IssuedAt: now, ExpiresAt: now.Add(time.Hour)}))
		const n = 8
		var (
			wg    sync.WaitGroup
			start = make(chan struct{})
			errs  = make([]error, n)
		)
		for i := range n {
			wg.Go(func() {
				<-start
				_, errs[i] = db.RotateRefresh(ctx, "h0", Refresh{Hash: fmt.Sprint("next", i), IssuedAt: now, ExpiresAt: now.Add(time.Hour)}, now)
			})
		}
		close(start)
		wg.Wait()
		won, reused := 0, 0
		for i, err := range errs {
			switch {
			case err == nil:
				won++
			case errors.Is(err, ErrRefreshReused):
				reused++
			case errors.Is(err, ErrNotFound):
				// after another loser ended the family
			default:
				t.Errorf("rotation %d: %v", i, err)
			}
		}
		if won != 1 || reused < 1 {
			t.Fatalf("%d rotations won and %d saw reuse, want 1 and at least 1: %v", won, reused, errs)
		}
		var left int
		must(t, db.SQL.QueryRowContext(ctx, db.rebind(`SELECT count(*) FROM refresh_tokens WHERE family = ?`), "f1").Scan(&left))
		if left != 0 {
			t.Fatalf("%d tokens of the raced family remain", left)
		}
	})

	t.Run("external identities", func(t *testing.T) {
		db := open(t)
		must(t, db.CreateAccount(ctx, account("a1", "Ann", "", t0)))
		must(t, db.CreateAccount(ctx, account("a2", "Bob", "", t0)))
		const iss = "https://accounts.example"
		_, err := db.AccountByExternal(ctx, iss, "s1")
		mustErr(t, "AccountByExternal before linking", err, ErrNotFound)
		before := time.Now().Add(-time.Second)
		must(t, db.LinkExternal(ctx, iss, "s1", "a1"))
		must(t, db.LinkExternal(ctx, "https://studio.example", "s1", "a1"))
		must(t, db.LinkExternal(ctx, iss, "s1", "a1")) // again: no-op
		mustErr(t, "linking a linked identity to another account", db.LinkExternal(ctx, iss, "s1", "a2"), ErrExternalLinked)
		mustErr(t, "linking to nobody", db.LinkExternal(ctx, iss, "s2", "nobody"), ErrNotFound)
		a, err := db.AccountByExternal(ctx, iss, "s1")
		if err != nil || a.ID != "a1" || a.Name != "Ann" || !a.CreatedAt.Equal(stored(t0)) {
			t.Fatalf("AccountByExternal = %+v, %v", a, err)
		}
		_, err = db.AccountByExternal(ctx, iss, "S1") // subjects are exact
		mustErr(t, "AccountByExternal of another subject", err, ErrNotFound)
		ls, err := db.ExternalLinks(ctx, "a1")
		if err != nil || len(ls) != 2 {
			t.Fatalf("ExternalLinks = %+v, %v", ls, err)
		}
		for _, l := range ls {
			if l.Subject != "s1" || l.CreatedAt.Before(before) || l.CreatedAt.After(time.Now()) || l.CreatedAt.Location() != time.UTC {
				t.Fatalf("link %+v", l)
			}
		}
		if ls, err := db.ExternalLinks(ctx, "a2"); err != nil || len(ls) != 0 {
			t.Fatalf("ExternalLinks of an account with none = %+v, %v", ls, err)
		}
	})

	t.Run("signing keys come newest first and go by age", func(t *testing.T) {
		db := open(t)
		if ks, err := db.SigningKeys(ctx); err != nil || len(ks) != 0 {
			t.Fatalf("SigningKeys of none = %v, %v", ks, err)
		}
		for i, id := range []string{"k2", "k0", "k1"} { // stored out of order
			at := map[string]time.Duration{"k0": 0, "k1": time.Hour, "k2": 2 * time.Hour}[id]
			must(t, db.AddSigningKey(ctx, SigningKey{ID: id, Secret: []byte{byte(i), 0, 0xff, 0x80}, CreatedAt: t0.Add(at)}))
		}
		if err := db.AddSigningKey(ctx, SigningKey{ID: "k1", Secret: []byte("x"), CreatedAt: t0}); err == nil {
			t.Fatal("AddSigningKey of a taken ID succeeded")
		}
		ks, err := db.SigningKeys(ctx)
		want := []SigningKey{
			{"k2", []byte{0, 0, 0xff, 0x80}, stored(t0.Add(2 * time.Hour))},
			{"k1", []byte{2, 0, 0xff, 0x80}, stored(t0.Add(time.Hour))},
			{"k0", []byte{1, 0, 0xff, 0x80}, stored(t0)},
		}
		if err != nil || !reflect.DeepEqual(ks, want) {
			t.Fatalf("SigningKeys = %+v, %v;\nwant %+v", ks, err, want)
		}
		must(t, db.DeleteSigningKeysBefore(ctx, t0.Add(time.Hour))) // k1 is not before: it stays
		ks, err = db.SigningKeys(ctx)
		if err != nil || !reflect.DeepEqual(ks, want[:2]) {
			t.Fatalf("after deleting before k1: %+v, %v", ks, err)
		}
	})

	t.Run("the audit log comes newest first, for one account or all", func(t *testing.T) {
		db := open(t)
		entries := []AuditEntry{
			{At: t0.Add(2 * time.Second), Actor: "admin", Action: "ban", AccountID: "a1", Detail: "cheating"},
			{At: t0, Actor: "a1", Action: "register", AccountID: "a1"},
			{At: t0.Add(time.Second), Actor: "a2", Action: "register", AccountID: "a2", Detail: "ünï?côdé"},
			{At: t0.Add(2 * time.Second), Actor: "system", Action: "key rotation"},
		}
		for _, e := range entries {
			e.ID = 999 // the store numbers entries
			must(t, db.Audit(ctx, e))
		}
		actions := func(es []AuditEntry) []string {
			var as []string
			for _, e := range es {
				as = append(as, e.Action+"/"+e.AccountID)
			}
			return as
		}
		all, err := db.AuditLog(ctx, "", 0)
		// At ties are broken by insertion: the later first.
		if got, want := actions(all), []string{"key rotation/", "ban/a1", "register/a2", "register/a1"}; err != nil || !reflect.DeepEqual(got, want) {
			t.Fatalf("AuditLog(all) = %v, %v; want %v", got, err, want)
		}
		ids := map[int64]bool{}
		for _, e := range all {
			ids[e.ID] = true
		}
		if len(ids) != 4 || ids[999] {
			t.Fatalf("entry IDs %v: not the store's own, distinct", ids)
		}
		if all[2].Detail != "ünï?côdé" || all[2].Actor != "a2" || all[2].At != stored(t0.Add(time.Second)) {
			t.Fatalf("entry = %+v", all[2])
		}
		if es, err := db.AuditLog(ctx, "", 2); err != nil || !reflect.DeepEqual(actions(es), []string{"key rotation/", "ban/a1"}) {
			t.Fatalf("AuditLog(all, 2) = %v, %v", actions(es), err)
		}
		if es, err := db.AuditLog(ctx, "a1", 0); err != nil || !reflect.DeepEqual(actions(es), []string{"ban/a1", "register/a1"}) {
			t.Fatalf("AuditLog(a1) = %v, %v", actions(es), err)
		}
		if es, err := db.AuditLog(ctx, "a1", 1); err != nil || !reflect.DeepEqual(actions(es), []string{"ban/a1"}) {
			t.Fatalf("AuditLog(a1, 1) = %v, %v", actions(es), err)
		}
		if es, err := db.AuditLog(ctx, "nobody", 0); err != nil || len(es) != 0 {
			t.Fatalf("AuditLog(nobody) = %v, %v", es, err)
		}
	})

	t.Run("accounts are found by ID, or name or email substring, newest first", func(t *testing.T) {
		db := open(t)
		for _, a := range []Account{
			account("id-ann", "Ann", "ann@x.io", t0),
			account("id-joanna", "Joanna", "jo@ANNEX.io", t0.Add(time.Minute)),
			account("id-bob", "Bob", "bob@y.io", t0.Add(2*time.Minute)),
			account("id-pct", "100%_real", "", t0.Add(3*time.Minute)),
			account("id-xyz", "guest-xyz", "", t0.Add(4*time.Minute)),
			account("id-arg", "Ärger", "", t0.Add(-time.Minute)),
		} {
			must(t, db.CreateAccount(ctx, a))
		}
		find := func(q string, limit int) []string {
			t.Helper()
			as, err := db.FindAccounts(ctx, q, limit)
			if err != nil {
				t.Fatal(err)
			}
			var ids []string
			for _, a := range as {
				ids = append(ids, a.ID)
			}
			return ids
		}
		for _, c := range []struct {
			q     string
			limit int
			want  []string
		}{
			{"ANN", 10, []string{"id-joanna", "id-ann"}}, // name and email, newest first
			{"ann", 1, []string{"id-joanna"}},            // limited
			{"Y.IO", 10, []string{"id-bob"}},             // email
			{"id-bob", 10, []string{"id-bob"}},           // ID, exactly
			{"id-b", 10, nil},                            // not an ID's prefix
			{"%", 10, []string{"id-pct"}},                // a literal %, not a wildcard
			{"%_r", 10, []string{"id-pct"}},              // literal % and _
			{"0_", 10, nil},                              // _ matches only itself
			{`\`, 10, nil},                               // nor is \ an escape
			{"", 2, []string{"id-xyz", "id-pct"}},        // everyone, limited
			{"äRG", 10, []string{"id-arg"}},              // beyond ASCII
			{"zzz", 10, nil},                             // no one
			{"", 0, []string{"id-xyz", "id-pct", "id-bob", "id-joanna", "id-ann", "id-arg"}}, // no limit
		} {
			if got := find(c.q, c.limit); !reflect.DeepEqual(got, c.want) {
				t.Errorf("FindAccounts(%q, %d) = %v, want %v", c.q, c.limit, got, c.want)
			}
		}
	})
}
