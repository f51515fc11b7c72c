package server_test

import (
	"fmt"
	"testing"
	"time"

	"github.com/gorilla/websocket"

	"github.com/arena-server/arena/arenatest"
	"github.com/arena-server/arena/internal/natstest"
)

// TestARelayedSeedClientFollowsItsRoom: a seed client connected to b and
// relayed to its room on a keeps playing, as the same player, when a
// drains and its room moves: b resumes it on the room's new node and goes
// on relaying, with no close for the client. With two nodes the room
// moves to b itself, which then relays the client to itself; with three,
// to c. A seed client connected straight to a, which cannot follow, is
// closed with 1012 as before.
func TestARelayedSeedClientFollowsItsRoom(t *testing.T) {
	for _, n := range []int{2, 3} {
		t.Run(fmt.Sprintf("%d nodes", n), func(t *testing.T) {
			nodes := arenatest.StartCluster(t, natstest.Start(t), n, nil)
			a, b, to := nodes[0], nodes[1], nodes[n-1]
			if n == 3 {
				// A player on b: the room goes to c, which has fewer.
				dialNode(t, b.URL, "room=bees&mode=tag", "")
				arenatest.Eventually(t, 10*time.Second, 20*time.Millisecond, func() error {
					if e, _ := a.Cluster().Directory().NodeOf("b"); e.Players != 1 {
						return fmt.Errorf("a sees %d players on b; want 1", e.Players)
					}
					return nil
				})
			}
			dialNode(t, a.URL, "room=keep&mode=tag", "")
			direct := arenatest.Dial(t, a.WSURL+"?room=keep", nil)
			direct.Init()
			seed := arenatest.Dial(t, b.WSURL+"?room=keep", nil)
			init := seed.Init()
			if init.Room != "keep" || init.Token == "" {
				t.Fatalf("relayed seed client: init %+v; want room keep with a token", init)
			}
			seed.WaitFor(5*time.Second, "a state with the relayed player", func(m *arenatest.Message) bool {
				_, ok := m.Player(init.ID)
				return m.Type == "state_update" && ok
			})

			stopped := make(chan struct{})
			go func() { defer close(stopped); a.Stop(t) }()
			if ce := direct.WaitClose(10 * time.Second); ce.Code != websocket.CloseServiceRestart {
				t.Errorf("a seed client on a: closed with %d %q; want 1012", ce.Code, ce.Text)
			}
			// The relayed client is told nothing but its new token, in an
			// init of the same player, and plays on.
			again := seed.WaitFor(10*time.Second, "the init of the resume on the room's new node", func(m *arenatest.Message) bool {
				return m.Type == "init"
			})
			if again.ID != init.ID || again.Room != "keep" || again.Token == "" || again.Token == init.Token {
				t.Errorf("after the move: init %+v; want player %s in keep, with a new token", again, init.ID)
			}
			<-stopped
			if rooms := to.Rooms(); len(rooms) == 0 || rooms[len(rooms)-1].Name != "keep" {
				t.Fatalf("%s runs %+v; want keep, moved there", to.URL, rooms)
			}
			was := seed.WaitFor(5*time.Second, "a state with the relayed player on the new node", func(m *arenatest.Message) bool {
				_, ok := m.Player(init.ID)
				return m.Type == "state_update" && ok
			})
			before, _ := was.Player(init.ID)
			seed.Move("RIGHT")
			seed.WaitFor(5*time.Second, "the relayed move in a state on the new node", func(m *arenatest.Message) bool {
				p, ok := m.Player(init.ID)
				return m.Type == "state_update" && ok && p.X > before.X
			})
			// It leaves (1000): the room on the new node loses it.
			players := func() int {
				for _, r := range to.Rooms() {
					if r.Name == "keep" {
						return r.Players
					}
				}
				return -1
			}
			had := players()
			if err := seed.Conn.WriteControl(websocket.CloseMessage, websocket.FormatCloseMessage(websocket.CloseNormalClosure, ""), time.Now().Add(time.Second)); err != nil {
				t.Fatal(err)
			}
			arenatest.Eventually(t, 10*time.Second, 20*time.Millisecond, func() error {
				if got := players(); got != had-1 {
					return fmt.Errorf("keep on %s has %d players; want %d, without the relayed one", to.URL, got, had-1)
				}
				return nil
			})
		})
	}
}

// TestARelayedSeedClientResumes: a seed client that resumes (?resume=1)
// through a node that relays it to its room's node is the same player
// there: the relaying node read its resume message, and hands it on.
func TestARelayedSeedClientResumes(t *testing.T) {
	nodes := arenatest.StartCluster(t, natstest.Start(t), 2, nil)
	a, b := nodes[0], nodes[1]
	dialNode(t, a.URL, "room=keep&mode=tag", "")
	seed := arenatest.Dial(t, b.WSURL+"?room=keep", nil)
	init := seed.Init()
	seed.Conn.Close() // a dropped connection: the player waits to resume

	again := arenatest.Dial(t, b.WSURL+"?room=keep&resume=1", nil)
	again.Send(`{"type":"resume","token":"` + init.Token + `"}`)
	if got := again.Init(); got.ID != init.ID || got.Token == init.Token {
		t.Errorf("resumed through b: init %+v; want player %s with a new token", got, init.ID)
	}
}
