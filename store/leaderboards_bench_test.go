package store

import (
	"context"
	"fmt"
	"math/rand/v2"
	"os"
	"path/filepath"
	"sort"
	"strconv"
	"strings"
	"testing"
	"time"

	"github.com/arena-server/arena/internal/pgtest"
	"github.com/jackc/pgx/v5"
)

// benchEntries is the size of the benchmark's board: issue 25's target.
// ARENA_BENCH_ENTRIES sets another, for a quick look.
func benchEntries() int {
	if n, err := strconv.Atoi(os.Getenv("ARENA_BENCH_ENTRIES")); err == nil && n > 0 {
		return n
	}
	return 1_000_000
}

// BenchmarkLeaderboard fills a board of one season with a million entries
// of a million accounts on each backend, then times Submit (best, a
// random account and score), Top(100) and Around (10, a random account)
// one at a time, reporting each operation's median and 99th percentile.
// The fill is not timed by the benchmark; it is logged.
//
//	go test ./store -run '^$' -bench Leaderboard -benchtime 1000x
func BenchmarkLeaderboard(b *testing.B) {
	ctx := context.Background()
	n := benchEntries()
	for _, be := range []struct {
		name string
		url  func() string
	}{
		{SQLite, func() string { return "sqlite:" + filepath.Join(b.TempDir(), "bench.db") }},
		{Postgres, func() string { return pgtest.DB(b) }},
	} {
		db, err := Open(ctx, be.url())
		if err != nil {
			b.Fatal(err)
		}
		board := Board{ID: "bench", Order: "desc", Operator: "best", Reset: "never", CreatedAt: time.Now()}
		if err := db.EnsureBoard(ctx, board); err != nil {
			b.Fatal(err)
		}
		start := time.Now()
		if err := benchFill(ctx, db, board.ID, n); err != nil {
			b.Fatal(err)
		}
		b.Logf("%s: filled %d accounts and entries in %s", be.name, n, time.Since(start).Round(time.Millisecond))
		rng := rand.New(rand.NewPCG(1, 2))
		acct := func() string { return benchID(rng.IntN(n)) }
		timed := func(name string, op func() error) {
			b.Run(be.name+"/"+name, func(b *testing.B) {
				lat := make([]time.Duration, 0, b.N)
				b.ResetTimer()
				for i := 0; i < b.N; i++ {
					t := time.Now()
					if err := op(); err != nil {
						b.Fatal(err)
					}
					lat = append(lat, time.Since(t))
				}
				b.StopTimer()
				sort.Slice(lat, func(i, j int) bool { return lat[i] < lat[j] })
				q := func(p float64) float64 { return float64(lat[int(p*float64(len(lat)-1))]) / 1e6 }
				b.ReportMetric(q(0.5), "p50-ms")
				b.ReportMetric(q(0.99), "p99-ms")
				b.ReportMetric(0, "ns/op") // the percentiles say it better
			})
		}
		timed("Submit", func() error {
			return db.Submit(ctx, board, 0, acct(), benchScore(rng), time.Now())
		})
		// Submissions a second, from 8 goroutines at once (a node's
		// results writers and games): SQLite takes them one at a time.
		b.Run(be.name+"/SubmitParallel", func(b *testing.B) {
			b.SetParallelism(4) // 4 × GOMAXPROCS (2 here) goroutines
			start := time.Now()
			b.RunParallel(func(pb *testing.PB) {
				r := rand.New(rand.NewPCG(rand.Uint64(), 7))
				for pb.Next() {
					if err := db.Submit(ctx, board, 0, benchID(r.IntN(n)), benchScore(r), time.Now()); err != nil {
						b.Error(err)
						return
					}
				}
			})
			b.ReportMetric(float64(b.N)/time.Since(start).Seconds(), "subs/s")
		})
		timed("Top100", func() error {
			es, err := db.Top(ctx, board.ID, 0, 100, 0)
			if err == nil && len(es) != min(100, n) {
				err = fmt.Errorf("top 100 gave %d", len(es))
			}
			return err
		})
		timed("Around10", func() error {
			es, err := db.Around(ctx, board.ID, 0, acct(), 10)
			if err == nil && len(es) == 0 {
				err = fmt.Errorf("around gave nothing")
			}
			return err
		})
		timed("Rank", func() error {
			_, err := db.Rank(ctx, board.ID, 0, acct())
			return err
		})
		db.Close()
	}
}

func benchID(i int) string { return fmt.Sprintf("acct%07d", i) }

// benchScore draws scores as a game's kills might fall: most low, a few
// high, many tied.
func benchScore(rng *rand.Rand) int64 { return int64(rng.ExpFloat64() * 1000) }

// benchFill adds n accounts and an entry of each to a board: by COPY on
// Postgres, by multi-row INSERTs in one transaction on SQLite. The
// triggers that keep the counts are off meanwhile, and the counts made
// after by one GROUP BY, as a restore would.
func benchFill(ctx context.Context, db *DB, board string, n int) error {
	var triggers []string // SQLite's, to make again
	if db.Dialect == Postgres {
		if _, err := db.SQL.ExecContext(ctx, `ALTER TABLE leaderboard_entries DISABLE TRIGGER leaderboard_entries_count`); err != nil {
			return err
		}
	} else {
		rows, err := db.SQL.QueryContext(ctx, `SELECT name, sql FROM sqlite_master WHERE type = 'trigger' AND tbl_name = 'leaderboard_entries'`)
		if err != nil {
			return err
		}
		var names []string
		for rows.Next() {
			var name, sql string
			if err := rows.Scan(&name, &sql); err != nil {
				return err
			}
			names, triggers = append(names, name), append(triggers, sql)
		}
		rows.Close()
		for _, name := range names {
			if _, err := db.SQL.ExecContext(ctx, `DROP TRIGGER `+name); err != nil {
				return err
			}
		}
	}
	if err := benchEntriesFill(ctx, db, board, n); err != nil {
		return err
	}
	if _, err := db.SQL.ExecContext(ctx, `
		INSERT INTO leaderboard_counts (board, season, level, bucket, n)
		SELECT e.board, e.season, l.level, e.sort_key >> (8 * l.level), count(*)
		FROM leaderboard_entries e, leaderboard_levels l
		GROUP BY e.board, e.season, l.level, e.sort_key >> (8 * l.level)`); err != nil {
		return err
	}
	if db.Dialect == Postgres {
		if _, err := db.SQL.ExecContext(ctx, `ALTER TABLE leaderboard_entries ENABLE TRIGGER leaderboard_entries_count`); err != nil {
			return err
		}
		// As autovacuum would in time: the visibility map lets the
		// index be read alone.
		for _, t := range []string{"accounts", "leaderboard_entries", "leaderboard_counts"} {
			if _, err := db.SQL.ExecContext(ctx, `VACUUM ANALYZE `+t); err != nil {
				return err
			}
		}
		return nil
	}
	for _, sql := range triggers {
		if _, err := db.SQL.ExecContext(ctx, sql); err != nil {
			return err
		}
	}
	_, err := db.SQL.ExecContext(ctx, `ANALYZE`)
	return err
}

func benchEntriesFill(ctx context.Context, db *DB, board string, n int) error {
	rng := rand.New(rand.NewPCG(3, 4))
	base := time.Date(2026, 1, 1, 0, 0, 0, 0, time.UTC).UnixMicro()
	scores := make([]int64, n)
	for i := range scores {
		scores[i] = benchScore(rng)
	}
	if db.Dialect == Postgres {
		_, err := db.Pool.CopyFrom(ctx, pgx.Identifier{"accounts"}, []string{"id", "name", "name_key", "created_at"},
			pgx.CopyFromSlice(n, func(i int) ([]any, error) {
				id := benchID(i)
				return []any{id, id, id, base}, nil
			}))
		if err != nil {
			return err
		}
		_, err = db.Pool.CopyFrom(ctx, pgx.Identifier{"leaderboard_entries"}, []string{"board", "season", "account_id", "score", "sort_key", "updated_at"},
			pgx.CopyFromSlice(n, func(i int) ([]any, error) {
				return []any{board, int64(0), benchID(i), scores[i], -scores[i], base + int64(i)}, nil
			}))
		return err
	}
	tx, err := db.SQL.BeginTx(ctx, nil)
	if err != nil {
		return err
	}
	defer tx.Rollback()
	const rows = 500
	for lo := 0; lo < n; lo += rows {
		hi := min(lo+rows, n)
		var qa, qe strings.Builder
		var aa, ae []any
		qa.WriteString(`INSERT INTO accounts (id, name, name_key, created_at) VALUES `)
		qe.WriteString(`INSERT INTO leaderboard_entries (board, season, account_id, score, sort_key, updated_at) VALUES `)
		for i := lo; i < hi; i++ {
			if i > lo {
				qa.WriteString(",")
				qe.WriteString(",")
			}
			qa.WriteString("(?, ?, ?, ?)")
			qe.WriteString("(?, 0, ?, ?, ?, ?)")
			id := benchID(i)
			aa = append(aa, id, id, id, base)
			ae = append(ae, board, id, scores[i], -scores[i], base+int64(i))
		}
		if _, err := tx.ExecContext(ctx, qa.String(), aa...); err != nil {
			return err
		}
		if _, err := tx.ExecContext(ctx, qe.String(), ae...); err != nil {
			return err
		}
	}
	return tx.Commit()
}
