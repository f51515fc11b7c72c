package store

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"sync"
	"testing"
	"time"
)

// TestStorage runs player storage's contract (store/storage.go) against
// every backend.
func TestStorage(t *testing.T) {
	for _, b := range backends {
		t.Run(b.name, func(t *testing.T) {
			t.Parallel()
			storageContract(t, func(t *testing.T) *DB {
				db, err := Open(context.Background(), b.url(t))
				if err != nil {
					t.Fatal(err)
				}
				t.Cleanup(func() { db.Close() })
				return db
			})
		})
	}
}

func obj(account, collection, key, value string) Object {
	return Object{Account: account, Collection: collection, Key: key, Value: json.RawMessage(value), Read: ReadOwner, Write: WriteOwner}
}

func storageContract(t *testing.T, open func(t *testing.T) *DB) {
	ctx := context.Background()
	withAccounts := func(t *testing.T, ids ...string) *DB {
		db := open(t)
		for _, id := range ids {
			must(t, db.CreateAccount(ctx, account(id, "name-"+id, "", t0)))
		}
		return db
	}

	t.Run("versions: create only, a stale version refused, any", func(t *testing.T) {
		db := withAccounts(t, "a1")
		v1, err := db.PutObject(ctx, obj("a1", "saves", "slot1", `{"level":1}`), VersionAbsent, false, 0, t0)
		must(t, err)
		got, err := db.GetObject(ctx, "a1", "saves", "slot1")
		must(t, err)
		if string(got.Value) != `{"level":1}` || got.Version != v1 || got.Read != ReadOwner || got.Write != WriteOwner || !got.UpdatedAt.Equal(stored(t0)) {
			t.Fatalf("GetObject = %+v, want version %d", got, v1)
		}
		_, err = db.PutObject(ctx, obj("a1", "saves", "slot1", `{}`), VersionAbsent, false, 0, t0)
		mustErr(t, "create over an object", err, ErrVersionMismatch)

		v2, err := db.PutObject(ctx, obj("a1", "saves", "slot1", `{"level":2}`), v1, false, 0, t0)
		must(t, err)
		if v2 <= v1 {
			t.Fatalf("version %d after %d", v2, v1)
		}
		_, err = db.PutObject(ctx, obj("a1", "saves", "slot1", `{"level":3}`), v1, false, 0, t0)
		mustErr(t, "write with a stale version", err, ErrVersionMismatch)
		_, err = db.PutObject(ctx, obj("a1", "saves", "other", `{}`), 12345, false, 0, t0)
		mustErr(t, "write of a missing object with a version", err, ErrVersionMismatch)
		v3, err := db.PutObject(ctx, obj("a1", "saves", "slot1", `{"level":3}`), VersionAny, false, 0, t0)
		must(t, err)
		if got, _ := db.GetObject(ctx, "a1", "saves", "slot1"); got.Version != v3 || string(got.Value) != `{"level":3}` {
			t.Fatalf("after an unconditional write: %+v, want version %d", got, v3)
		}

		// Deletion: a stale version is refused; a deleted object's versions
		// are never those of the one created after it.
		mustErr(t, "delete with a stale version", db.DeleteObject(ctx, "a1", "saves", "slot1", v2, false), ErrVersionMismatch)
		must(t, db.DeleteObject(ctx, "a1", "saves", "slot1", v3, false))
		_, err = db.GetObject(ctx, "a1", "saves", "slot1")
		mustErr(t, "get after deletion", err, ErrNotFound)
		mustErr(t, "delete again", db.DeleteObject(ctx, "a1", "saves", "slot1", VersionAny, false), ErrNotFound)
		// (Versions are times, after the first: the clock moves on.)
		v4, err := db.PutObject(ctx, obj("a1", "saves", "slot1", `{}`), VersionAbsent, false, 0, t0.Add(time.Second))
		must(t, err)
		for _, old := range []int64{v1, v2, v3} {
			if v4 == old {
				t.Fatalf("recreated object has version %d, as an old one did", v4)
			}
		}
		_, err = db.PutObject(ctx, obj("nobody", "saves", "slot1", `{}`), VersionAny, false, 0, t0)
		mustErr(t, "write for no account", err, ErrNotFound)
	})

	t.Run("of two writes over one version, one wins", func(t *testing.T) {
		db := withAccounts(t, "a1")
		v, err := db.PutObject(ctx, obj("a1", "c", "k", `0`), VersionAbsent, false, 0, t0)
		must(t, err)
		var wg sync.WaitGroup
		errs := make([]error, 8)
		for i := range errs {
			wg.Add(1)
			go func() {
				defer wg.Done()
				_, errs[i] = db.PutObject(ctx, obj("a1", "c", "k", fmt.Sprint(i)), v, false, 0, time.Now())
			}()
		}
		wg.Wait()
		won := 0
		for _, err := range errs {
			switch {
			case err == nil:
				won++
			case !errors.Is(err, ErrVersionMismatch):
				t.Fatalf("a losing write: %v", err)
			}
		}
		if won != 1 {
			t.Fatalf("%d writes over version %d won, want 1", won, v)
		}
	})

	t.Run("writes at once hold the account's limit", func(t *testing.T) {
		// Eight new objects of 5 bytes at once, against a limit of 20:
		// four fit, whichever they are, on each backend (Postgres's
		// writers wait on the account's row).
		db := withAccounts(t, "a1")
		var wg sync.WaitGroup
		errs := make([]error, 8)
		for i := range errs {
			wg.Add(1)
			go func() {
				defer wg.Done()
				_, errs[i] = db.PutObject(ctx, obj("a1", "c", fmt.Sprint("k", i), `12345`), VersionAbsent, false, 20, time.Now())
			}()
		}
		wg.Wait()
		fit := 0
		for _, err := range errs {
			switch {
			case err == nil:
				fit++
			case !errors.Is(err, ErrAccountFull):
				t.Fatalf("a write past the limit: %v", err)
			}
		}
		if n, err := db.ObjectsSize(ctx, "a1"); fit != 4 || err != nil || n != 20 {
			t.Fatalf("%d writes fit, the account holds %d bytes (%v); want 4 and 20", fit, n, err)
		}
	})

	t.Run("server-only objects refuse the client's writes", func(t *testing.T) {
		db := withAccounts(t, "a1")
		o := obj("a1", "stats", "wins", `3`)
		o.Write = WriteServer
		v, err := db.PutObject(ctx, o, VersionAny, true, 0, t0)
		must(t, err)
		_, err = db.PutObject(ctx, obj("a1", "stats", "wins", `99`), v, false, 0, t0)
		mustErr(t, "client's write of a server object", err, ErrServerOnly)
		_, err = db.PutObject(ctx, obj("a1", "stats", "wins", `99`), VersionAny, false, 0, t0)
		mustErr(t, "client's unconditional write of a server object", err, ErrServerOnly)
		mustErr(t, "client's deletion of a server object", db.DeleteObject(ctx, "a1", "stats", "wins", v, false), ErrServerOnly)
		v2, err := db.PutObject(ctx, o, v, true, 0, t0)
		must(t, err)
		must(t, db.DeleteObject(ctx, "a1", "stats", "wins", v2, true))
	})

	t.Run("the account's limit counts bytes, and a shrinking write passes", func(t *testing.T) {
		db := withAccounts(t, "a1", "a2")
		must2 := func(_ int64, err error) { t.Helper(); must(t, err) }
		must2(db.PutObject(ctx, obj("a1", "c", "k1", `"ééé"`), VersionAny, false, 12, t0)) // 8 bytes, 5 characters
		if n, err := db.ObjectsSize(ctx, "a1"); err != nil || n != 8 {
			t.Fatalf("ObjectsSize = %d, %v; want 8 (bytes, not characters)", n, err)
		}
		_, err := db.PutObject(ctx, obj("a1", "c", "k2", `12345`), VersionAny, false, 12, t0)
		mustErr(t, "write past the limit", err, ErrAccountFull)
		must2(db.PutObject(ctx, obj("a1", "c", "k2", `1234`), VersionAny, false, 12, t0)) // exactly 12
		must2(db.PutObject(ctx, obj("a1", "c", "k1", `"éé"`), VersionAny, false, 12, t0)) // replacing counts the difference
		must2(db.PutObject(ctx, obj("a1", "c", "k1", `"ééé"`), VersionAny, false, 12, t0))
		// Another account's objects are not counted.
		must2(db.PutObject(ctx, obj("a2", "c", "k1", `"ééé"`), VersionAny, false, 12, t0))
		// Over a lowered limit, an account may still shrink.
		must2(db.PutObject(ctx, obj("a1", "c", "k1", `1`), VersionAny, false, 4, t0))
		_, err = db.PutObject(ctx, obj("a1", "c", "k1", `12`), VersionAny, false, 4, t0)
		mustErr(t, "growing past a lowered limit", err, ErrAccountFull)
		if n, err := db.ObjectsSize(ctx, "nobody"); err != nil || n != 0 {
			t.Fatalf("ObjectsSize of nobody = %d, %v", n, err)
		}
	})

	t.Run("listing pages by key, and public only when asked", func(t *testing.T) {
		db := withAccounts(t, "a1", "a2")
		// Keys a locale's collation would order otherwise: bytewise,
		// upper case before lower, '.' before digits.
		keys := []string{"B", "a", "a.1", "a1", "b", "z_9", "Z-1"}
		for i, k := range keys {
			o := obj("a1", "inv", k, fmt.Sprint(i))
			if i%2 == 0 {
				o.Read = ReadPublic
			}
			_, err := db.PutObject(ctx, o, VersionAbsent, false, 0, t0)
			must(t, err)
		}
		_, err := db.PutObject(ctx, obj("a1", "other", "a", `1`), VersionAbsent, false, 0, t0)
		must(t, err)
		_, err = db.PutObject(ctx, obj("a2", "inv", "a", `1`), VersionAbsent, false, 0, t0)
		must(t, err)
		want := []string{"B", "Z-1", "a", "a.1", "a1", "b", "z_9"}
		var got []string
		after := ""
		for pages := 0; ; pages++ {
			page, err := db.ListObjects(ctx, "a1", "inv", after, false, 3)
			must(t, err)
			if len(page) == 0 {
				break
			}
			if pages > 5 {
				t.Fatal("pages do not end")
			}
			for _, o := range page {
				got = append(got, o.Key)
			}
			after = page[len(page)-1].Key
		}
		if fmt.Sprint(got) != fmt.Sprint(want) {
			t.Fatalf("pages = %v, want %v", got, want)
		}
		if db.Dialect == Postgres {
			// The test server's locale may be C anyway: the column's own
			// collation is what holds the order on any other.
			for _, col := range []string{"collection", "key"} {
				var coll string
				must(t, db.SQL.QueryRowContext(ctx, `SELECT collation_name FROM information_schema.columns
					WHERE table_name = 'storage_objects' AND column_name = $1`, col).Scan(&coll))
				if coll != "C" {
					t.Fatalf("storage_objects.%s collates %q, want C", col, coll)
				}
			}
		}
		pub, err := db.ListObjects(ctx, "a1", "inv", "", true, 0)
		must(t, err)
		got = nil
		for _, o := range pub {
			if o.Read != ReadPublic {
				t.Fatalf("public listing holds %+v", o)
			}
			got = append(got, o.Key)
		}
		if fmt.Sprint(got) != "[B Z-1 a.1 b]" {
			t.Fatalf("public = %v", got)
		}
	})

	t.Run("load several collections at once", func(t *testing.T) {
		db := withAccounts(t, "a1")
		for _, c := range []string{"x", "y", "z"} {
			_, err := db.PutObject(ctx, obj("a1", c, "k", `"`+c+`"`), VersionAbsent, false, 0, t0)
			must(t, err)
		}
		os, err := db.LoadObjects(ctx, "a1", []string{"x", "z", "absent"})
		must(t, err)
		if len(os) != 2 || os[0].Collection != "x" || os[1].Collection != "z" || string(os[1].Value) != `"z"` {
			t.Fatalf("LoadObjects = %+v", os)
		}
		if os, err := db.LoadObjects(ctx, "a1", nil); err != nil || len(os) != 0 {
			t.Fatalf("LoadObjects of nothing = %+v, %v", os, err)
		}
	})

	t.Run("an account's deletion takes its objects", func(t *testing.T) {
		db := withAccounts(t, "a1")
		_, err := db.PutObject(ctx, obj("a1", "c", "k", `1`), VersionAbsent, false, 0, t0)
		must(t, err)
		must(t, db.DeleteAccount(ctx, "a1"))
		var n int
		must(t, db.SQL.QueryRowContext(ctx, `SELECT count(*) FROM storage_objects`).Scan(&n))
		if n != 0 {
			t.Fatalf("%d objects after the account's deletion", n)
		}
	})
}
