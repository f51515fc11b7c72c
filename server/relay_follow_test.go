package server_test

import (
	"testing"

	"github.com/arena-server/arena/internal/arenatest"
	"github.com/arena-server/arena/internal/natstest"
)

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
