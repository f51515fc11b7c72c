package store

import (
	"context"
	"testing"
	"time"
)

// TestAccountExport: what an account's export reads of its storage and
// its scores, on every backend: its own, all of them, and nobody else's.
func TestAccountExport(t *testing.T) {
	ctx := context.Background()
	for _, b := range backends {
		t.Run(b.name, func(t *testing.T) {
			t.Parallel()
			db, err := Open(ctx, b.url(t))
			if err != nil {
				t.Fatal(err)
			}
			defer db.Close()
			for _, id := range []string{"a1", "a2"} {
				must(t, db.CreateAccount(ctx, account(id, "name-"+id, "", t0)))
			}
			for _, o := range []Object{obj("a1", "saves", "slot2", `2`), obj("a1", "inv", "sword", `{}`), obj("a2", "saves", "slot1", `1`)} {
				if _, err := db.PutObject(ctx, o, VersionAbsent, false, 0, t0); err != nil {
					t.Fatal(err)
				}
			}
			board := Board{ID: "wins", Order: "desc", Operator: "incr", Reset: "never", CreatedBy: "admin", CreatedAt: t0}
			must(t, db.CreateBoard(ctx, board))
			must(t, db.Submit(ctx, board, 0, "a1", 3, t0))
			must(t, db.Submit(ctx, board, 0, "a2", 5, t0))

			objs, err := db.AccountObjects(ctx, "a1")
			if err != nil || len(objs) != 2 || objs[0].Collection != "inv" || objs[1].Key != "slot2" {
				t.Fatalf("a1's objects: %+v, %v; want inv/sword then saves/slot2", objs, err)
			}
			es, err := db.AccountEntries(ctx, "a1")
			if err != nil || len(es) != 1 || es[0].Board != "wins" || es[0].Score != 3 || es[0].UpdatedAt.Sub(t0).Abs() > time.Millisecond {
				t.Fatalf("a1's scores: %+v, %v; want 3 on wins", es, err)
			}
			if objs, err := db.AccountObjects(ctx, "nobody"); err != nil || len(objs) != 0 {
				t.Fatalf("nobody's objects: %+v, %v", objs, err)
			}
		})
	}
}
