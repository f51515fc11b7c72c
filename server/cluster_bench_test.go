package server_test

import (
	"context"
	"errors"
	"fmt"
	"runtime"
	"slices"
	"sync"
	"sync/atomic"
	"syscall"
	"testing"
	"time"

	"github.com/gorilla/websocket"
	natsserver "github.com/nats-io/nats-server/v2/server"
	"github.com/nats-io/nats.go/jetstream"

	"github.com/arena-server/arena/arenatest"
	"github.com/arena-server/arena/cluster"
	"github.com/arena-server/arena/internal/natstest"
	"github.com/arena-server/arena/protocol"
	"github.com/arena-server/arena/room"
	"github.com/arena-server/arena/server"
)

// The cluster's benchmarks (issue 15), on loopback with NATS embedded in
// the test process. Run them without -race; BENCHMARKS.md has the
// commands and the figures.

// benchNodes runs n nodes, a, b…, on ns, with the per-address limits off:
// every client of a benchmark comes from 127.0.0.1. grace is how long a
// closed client's seat waits for it to resume.
func benchNodes(b *testing.B, ns *natsserver.Server, n int, grace time.Duration) []*arenatest.Server {
	b.Helper()
	open := func(c *server.Config) {
		c.MaxConnectionsPerIP, c.MaxHTTPConnectionsPerIP = 0, 0
		c.Room.MaxSeatsPerAddr, c.MaxSeatsPerIP = 0, 0
		c.RoomCreateRate = 0
		c.Room.ResumeGrace = grace
	}
	return arenatest.StartCluster(b, ns, n, open)
}

// quantile of sorted durations, q in [0, 1], nearest rank.
func quantile(d []time.Duration, q float64) time.Duration {
	if len(d) == 0 {
		return 0
	}
	i := int(q*float64(len(d))+0.5) - 1
	return d[min(max(i, 0), len(d)-1)]
}

func ms(d time.Duration) float64 { return float64(d) / float64(time.Millisecond) }

// BenchmarkClusterJoin: a fresh native client joins a room that runs on
// node a, through node b (cross-node: b redirects it, it dials a and gets
// its welcome) or on a itself (same-node). One op is one join, from the
// first dial to the welcome; p50 and p99 are over the run's joins.
func BenchmarkClusterJoin(b *testing.B) {
	for _, via := range []string{"cross-node", "same-node"} {
		b.Run(via, func(b *testing.B) {
			ns := natstest.Start(b)
			// Closed clients' seats go soon, so the room stays small.
			nodes := benchNodes(b, ns, 2, 200*time.Millisecond)
			a, nb := nodes[0], nodes[1]
			host, err := arenatest.DialNative(b, a.URL, "room=hall&mode=dots", "")
			if err != nil || host.Msg.Type != protocol.BinWelcome {
				b.Fatalf("host on a: %v %#x", err, host.Msg.Type)
			}
			arenatest.Eventually(b, 5*time.Second, 10*time.Millisecond, func() error {
				if e, ok := nb.Cluster().Directory().Lookup("hall"); !ok || e.Node != "a" {
					return fmt.Errorf("b's directory has hall at %+v", e)
				}
				return nil
			})
			first := nb.URL
			if via == "same-node" {
				first = a.URL
			}
			took := make([]time.Duration, 0, b.N)
			b.ResetTimer()
			for range b.N {
				start := time.Now()
				c, err := arenatest.DialNative(b, first, "room=hall", "")
				if err != nil {
					b.Fatal(err)
				}
				if c.Msg.Type == protocol.BinRedirect {
					to := c.Msg.URL
					c.Conn.Close()
					if c, err = arenatest.DialNative(b, to, "room="+c.Msg.Room, ""); err != nil {
						b.Fatal(err)
					}
				}
				if c.Msg.Type != protocol.BinWelcome || c.Welcome.Room != "hall" {
					b.Fatalf("message %#x (%s %s), room %q; want a welcome to hall", c.Msg.Type, c.Msg.Code, c.Msg.Message, c.Welcome.Room)
				}
				took = append(took, time.Since(start))
				c.Conn.Close()
			}
			b.StopTimer()
			slices.Sort(took)
			b.ReportMetric(ms(quantile(took, 0.5)), "p50-ms")
			b.ReportMetric(ms(quantile(took, 0.99)), "p99-ms")
			b.ReportMetric(ms(took[len(took)-1]), "max-ms")
		})
	}
}

// BenchmarkClusterMigration: node a, running one room of 50 tag players,
// shuts down; it moves the room to node b, and every player, reading on
// its own goroutine, follows its redirect to b, resumes with its token
// and gets a state there (or, if a closed its connection without the
// redirect, comes back through b). One op is one migration, with a fresh pair of
// nodes; total-ms is from the start of a's Stop until the last player's
// first state on b, and player-p99-ms is over every player of the run, of
// the time from its redirect to its first state on b.
func BenchmarkClusterMigration(b *testing.B) {
	const players = 50
	var totals, each []time.Duration
	misses := 0
	for range b.N {
		b.StopTimer()
		ns := natstest.Start(b)
		nodes := benchNodes(b, ns, 2, 10*time.Second)
		a, nb := nodes[0], nodes[1]
		cs := make([]*arenatest.NativeClient, players)
		for i := range cs {
			c, err := arenatest.DialNative(b, a.URL, "room=big&mode=tag", "")
			if err != nil || c.Msg.Type != protocol.BinWelcome {
				b.Fatalf("player %d on a: %v %#x", i, err, c.Msg.Type)
			}
			cs[i] = c
		}
		// Everyone is in the game: a state with all 50 in view.
		for i, c := range cs {
			if err := c.WaitState(5*time.Second, func() bool { return c.Me().ID != 0 }); err != nil {
				b.Fatalf("player %d: no state on a: %v", i, err)
			}
		}
		errs := make(chan error, players)
		resumed := make([]time.Time, players)
		redirected := make([]time.Time, players)
		var wg sync.WaitGroup
		var missed atomic.Int64
		b.StartTimer()
		start := time.Now()
		for i, c := range cs {
			wg.Go(func() {
				to, name := "", ""
				for to == "" {
					m, err := c.Next(5 * time.Second)
					var ce *websocket.CloseError
					switch {
					case errors.As(err, &ce) && ce.Code == websocket.CloseGoingAway:
						// a closed the connection for its shutdown
						// without the redirect (see BENCHMARKS.md): the
						// player comes back through another node, as
						// behind a load balancer, and resumes there.
						missed.Add(1)
						to, name = nb.URL, "big"
					case err != nil:
						errs <- fmt.Errorf("player %d: no redirect: %v", i, err)
						return
					case m.Type == protocol.BinRedirect:
						to, name = c.Msg.URL, c.Msg.Room
					}
				}
				redirected[i] = time.Now()
				c.Conn.Close()
				r, err := arenatest.DialNative(b, to, "room="+name, c.Welcome.Token)
				if err != nil {
					errs <- fmt.Errorf("player %d: resume on %s: %v", i, to, err)
					return
				}
				if w := r.Msg.Welcome; r.Msg.Type != protocol.BinWelcome || !w.Resumed {
					errs <- fmt.Errorf("player %d: resume on %s: %#x resumed %v (%s %s)", i, to, r.Msg.Type, w.Resumed, r.Msg.Code, r.Msg.Message)
					return
				}
				for {
					m, err := r.Next(5 * time.Second)
					if err != nil {
						errs <- fmt.Errorf("player %d: no state on b: %v", i, err)
						return
					}
					if m.Type == protocol.BinSnapshot {
						break
					}
				}
				resumed[i] = time.Now()
				r.Conn.Close()
			})
		}
		stopped := make(chan struct{})
		go func() { defer close(stopped); a.Stop(b) }()
		wg.Wait()
		total := time.Since(start)
		b.StopTimer()
		close(errs)
		for err := range errs {
			b.Fatal(err)
		}
		<-stopped
		totals = append(totals, total)
		misses += int(missed.Load())
		for i := range players {
			each = append(each, resumed[i].Sub(redirected[i]))
		}
		// Nothing of this migration goes on into the next: b's room stops
		// (a, gone, takes nothing) before the next pair of nodes starts.
		nb.Stop(b)
	}
	slices.Sort(totals)
	slices.Sort(each)
	b.ReportMetric(ms(quantile(totals, 0.5)), "total-p50-ms")
	b.ReportMetric(ms(totals[len(totals)-1]), "total-max-ms")
	b.ReportMetric(ms(quantile(each, 0.5)), "player-p50-ms")
	b.ReportMetric(ms(quantile(each, 0.99)), "player-p99-ms")
	b.ReportMetric(float64(misses)/float64(b.N), "no-redirect/op")
}

// openDir opens a directory of node on ns, as arenatest does for a node,
// closed when the benchmark ends.
func openDir(b *testing.B, ns *natsserver.Server, cfg cluster.Config) *cluster.Directory {
	b.Helper()
	js, err := jetstream.New(natstest.Connect(b, ns))
	if err != nil {
		b.Fatal(err)
	}
	ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
	defer cancel()
	if cfg.TTL == 0 {
		cfg.TTL = 2 * time.Second
	}
	if cfg.URL == "" {
		cfg.URL = "http://" + cfg.Node + ".test/"
	}
	dir, err := cluster.Open(ctx, js, cfg)
	if err != nil {
		b.Fatalf("cluster.Open %s: %v", cfg.Node, err)
	}
	b.Cleanup(dir.Close)
	return dir
}

const dirRooms = 1000

// claimRooms makes dir the owner of rooms prefix-0…prefix-999 and waits
// until watcher's view has them all.
func claimRooms(b *testing.B, dir, watcher *cluster.Directory, prefix string) {
	b.Helper()
	ctx := context.Background()
	for i := range dirRooms {
		if _, err := dir.Claim(ctx, cluster.RoomEntry{Name: fmt.Sprintf("%s-%d", prefix, i), Mode: "dots", Capacity: 1000}); err != nil {
			b.Fatal(err)
		}
	}
	if watcher != nil {
		arenatest.Eventually(b, 10*time.Second, 10*time.Millisecond, func() error {
			if got := len(watcher.Rooms()); got < dirRooms {
				return fmt.Errorf("the watcher sees %d rooms", got)
			}
			return nil
		})
	}
}

func cpuTime() time.Duration {
	var ru syscall.Rusage
	_ = syscall.Getrusage(syscall.RUSAGE_SELF, &ru)
	return time.Duration(ru.Utime.Nano() + ru.Stime.Nano())
}

func heapAfterGC() uint64 {
	runtime.GC()
	runtime.GC()
	var m runtime.MemStats
	runtime.ReadMemStats(&m)
	return m.HeapAlloc
}

// BenchmarkClusterDirectory: the directory's cost with one node, a,
// owning 1,000 rooms, and a second node, b, watching them.
//
//   - Claim, Update: one op is one claim (a new room) or one update (a
//     room's player count changed) by a; ms-per-1000 is 1,000 of them in
//     turn, as a pass of a's Sync does when every room changed.
//   - Lookup: one op is one Lookup in b's view of the 1,000.
//   - Sync/steady, Sync/churn: one op is one second of a's Sync loop (the
//     one a server runs) over 1,000 rooms whose player counts stay put, or
//     all change every second; cpu-ms/s is the whole process's CPU (NATS
//     included), nats-in/s and nats-out/s the messages into and out of
//     the NATS server, per second.
//   - ViewMemory: the heap a third directory's view of the 1,000 rooms
//     takes, per room, over that of a view of none.
func BenchmarkClusterDirectory(b *testing.B) {
	b.Run("Claim", func(b *testing.B) {
		ns := natstest.Start(b)
		a := openDir(b, ns, cluster.Config{Node: "a"})
		openDir(b, ns, cluster.Config{Node: "b"})
		ctx := context.Background()
		b.ResetTimer()
		for i := range b.N {
			if _, err := a.Claim(ctx, cluster.RoomEntry{Name: fmt.Sprintf("r-%d", i), Mode: "dots", Capacity: 1000}); err != nil {
				b.Fatal(err)
			}
		}
		b.ReportMetric(float64(b.Elapsed())/float64(b.N)*dirRooms/1e6, "ms-per-1000")
	})
	b.Run("Update", func(b *testing.B) {
		ns := natstest.Start(b)
		a := openDir(b, ns, cluster.Config{Node: "a"})
		openDir(b, ns, cluster.Config{Node: "b"})
		claimRooms(b, a, nil, "r")
		ctx := context.Background()
		b.ResetTimer()
		for i := range b.N {
			e := cluster.RoomEntry{Name: fmt.Sprintf("r-%d", i%dirRooms), Mode: "dots", Players: 1 + i/dirRooms%2, Capacity: 1000}
			if _, err := a.Update(ctx, e); err != nil {
				b.Fatal(err)
			}
		}
		b.ReportMetric(float64(b.Elapsed())/float64(b.N)*dirRooms/1e6, "ms-per-1000")
	})
	b.Run("Lookup", func(b *testing.B) {
		ns := natstest.Start(b)
		a := openDir(b, ns, cluster.Config{Node: "a"})
		w := openDir(b, ns, cluster.Config{Node: "b"})
		claimRooms(b, a, w, "r")
		names := make([]string, dirRooms)
		for i := range names {
			names[i] = fmt.Sprintf("r-%d", i)
		}
		b.ReportAllocs()
		b.ResetTimer()
		for i := range b.N {
			if _, ok := w.Lookup(names[i%dirRooms]); !ok {
				b.Fatal("a room is missing")
			}
		}
	})
	for _, churn := range []bool{false, true} {
		name := "Sync/steady"
		if churn {
			name = "Sync/churn"
		}
		b.Run(name, func(b *testing.B) {
			ns := natstest.Start(b)
			a := openDir(b, ns, cluster.Config{Node: "a"})
			openDir(b, ns, cluster.Config{Node: "b"})
			claimRooms(b, a, nil, "r")
			stats := make([]room.Stats, dirRooms)
			for i := range stats {
				stats[i] = room.Stats{Name: fmt.Sprintf("r-%d", i), Mode: "dots", Players: 1, Capacity: 1000}
			}
			var mu sync.Mutex
			passes := 0
			rooms := func() []room.Stats {
				mu.Lock()
				defer mu.Unlock()
				passes++
				if churn {
					for i := range stats {
						stats[i].Players = 1 + passes%2
					}
				}
				return slices.Clone(stats)
			}
			ctx, cancel := context.WithCancel(context.Background())
			done := make(chan struct{})
			go func() {
				defer close(done)
				cluster.NewNode(a, nil).Sync(ctx, time.Second, rooms, func(int) bool { return false }, func(string, *room.ElsewhereError) {})
			}()
			defer func() { cancel(); <-done }()
			// The first pass writes every room's figures: wait it out.
			arenatest.Eventually(b, 10*time.Second, 10*time.Millisecond, func() error {
				mu.Lock()
				defer mu.Unlock()
				if passes < 2 {
					return fmt.Errorf("%d passes", passes)
				}
				return nil
			})
			v0, _ := ns.Varz(nil)
			cpu0 := cpuTime()
			b.ResetTimer()
			time.Sleep(time.Duration(b.N) * time.Second)
			b.StopTimer()
			v1, _ := ns.Varz(nil)
			secs := b.Elapsed().Seconds()
			b.ReportMetric(float64(cpuTime()-cpu0)/1e6/secs, "cpu-ms/s")
			b.ReportMetric(float64(v1.InMsgs-v0.InMsgs)/secs, "nats-in/s")
			b.ReportMetric(float64(v1.OutMsgs-v0.OutMsgs)/secs, "nats-out/s")
			b.ReportMetric(float64(v1.InBytes-v0.InBytes)/1024/secs, "nats-in-KiB/s")
		})
	}
	b.Run("ViewMemory", func(b *testing.B) {
		ns := natstest.Start(b)
		a := openDir(b, ns, cluster.Config{Node: "a"})
		claimRooms(b, a, nil, "r")
		var perRoom []float64
		for range b.N {
			// A view of no rooms: another cluster's buckets, empty.
			h0 := heapAfterGC()
			empty := openDir(b, ns, cluster.Config{Node: "e", Bucket: "empty_rooms", NodesBucket: "empty_nodes", DocsBucket: "empty_docs"})
			h1 := heapAfterGC()
			full := openDir(b, ns, cluster.Config{Node: "w"})
			arenatest.Eventually(b, 10*time.Second, 10*time.Millisecond, func() error {
				if got := len(full.Rooms()); got < dirRooms {
					return fmt.Errorf("the view has %d rooms", got)
				}
				return nil
			})
			h2 := heapAfterGC()
			perRoom = append(perRoom, (float64(h2-h1)-float64(h1-h0))/dirRooms)
			runtime.KeepAlive(empty)
			runtime.KeepAlive(full)
			empty.Close()
			full.Close()
		}
		slices.Sort(perRoom)
		b.ReportMetric(perRoom[len(perRoom)/2], "B/room") // the median: a GC's timing moves single runs
	})
}
