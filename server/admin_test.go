package server_test

import (
	"encoding/json"
	"fmt"
	"net/http"
	"testing"
	"time"

	"github.com/arena-server/arena/arenatest"
	"github.com/arena-server/arena/internal/natstest"
	"github.com/arena-server/arena/server"
)

const adminToken = "s3cret"

func withAdmin(c *server.Config) { c.AdminToken = adminToken }

// adminStats reads a server's GET /admin/api/stats, decoded into v.
func adminStats(t *testing.T, srv *arenatest.Server, v any) {
	t.Helper()
	req, _ := http.NewRequest("GET", srv.URL+"/admin/api/stats", nil)
	req.Header.Set("Authorization", "Bearer "+adminToken)
	resp, err := http.DefaultClient.Do(req)
	if err != nil {
		t.Fatal(err)
	}
	defer resp.Body.Close()
	if resp.StatusCode != http.StatusOK {
		t.Fatalf("admin stats: HTTP %d", resp.StatusCode)
	}
	if err := json.NewDecoder(resp.Body).Decode(v); err != nil {
		t.Fatal(err)
	}
}

// TestAdminStatsListTheClustersNodes: on a two-node cluster with a room on
// each node, either node's admin stats name it, list both nodes with the
// load their heartbeats carry, and say which node runs each room; the
// players total stays this node's own.
func TestAdminStatsListTheClustersNodes(t *testing.T) {
	ns := natstest.Start(t)
	a := arenatest.Start(t, arenatest.Options{NATS: ns, Node: "a", Config: withAdmin})
	b := arenatest.Start(t, arenatest.Options{NATS: ns, Node: "b", Config: withAdmin})
	arenatest.Dial(t, a.WSURL+"?room=on-a", nil).Init()
	arenatest.Dial(t, a.WSURL+"?room=on-a", nil).Init()
	arenatest.Dial(t, b.WSURL+"?room=on-b", nil).Init()

	for _, c := range []struct {
		srv     *arenatest.Server
		name    string
		players int
	}{{a, "a", 2}, {b, "b", 1}} {
		var st server.AdminStats
		// Loads reach the directory with the next sync, within a second.
		arenatest.Eventually(t, 10*time.Second, 50*time.Millisecond, func() error {
			st = server.AdminStats{}
			adminStats(t, c.srv, &st)
			if st.Cluster == nil {
				return fmt.Errorf("no cluster section")
			}
			var got []string
			for _, n := range st.Cluster.Nodes {
				got = append(got, fmt.Sprintf("%s:%d rooms:%d players", n.Name, n.Rooms, n.Players))
			}
			if want := []string{"a:1 rooms:2 players", "b:1 rooms:1 players"}; fmt.Sprint(got) != fmt.Sprint(want) {
				return fmt.Errorf("nodes %q; want %q", got, want)
			}
			var rooms []string
			for _, r := range st.Rooms {
				rooms = append(rooms, fmt.Sprintf("%s@%s:%d", r.Name, r.Node, r.Players))
			}
			if want := []string{"on-a@a:2", "on-b@b:1"}; fmt.Sprint(rooms) != fmt.Sprint(want) {
				return fmt.Errorf("rooms %q; want %q", rooms, want)
			}
			return nil
		})
		if st.Cluster.Node != c.name {
			t.Errorf("node %s: cluster.node = %q", c.name, st.Cluster.Node)
		}
		if st.Players != c.players {
			t.Errorf("node %s: players = %d; want this node's %d", c.name, st.Players, c.players)
		}
		for i, n := range st.Cluster.Nodes {
			want := []*arenatest.Server{a, b}[i].URL + "/"
			if n.URL != want || n.Draining {
				t.Errorf("node %s sees %s at %q, draining %v; want %q, ready", c.name, n.Name, n.URL, n.Draining, want)
			}
			// Heartbeats come every TTL/3; the test nodes' TTL is 2s.
			if n.HeartbeatAgeSeconds < 0 || n.HeartbeatAgeSeconds > 3 {
				t.Errorf("node %s sees %s's heartbeat %.2f s old", c.name, n.Name, n.HeartbeatAgeSeconds)
			}
		}
	}
}

// TestAdminStatsAloneHaveNoCluster: a server that is no node of a cluster
// sends no cluster section, and its rooms name no node.
func TestAdminStatsAloneHaveNoCluster(t *testing.T) {
	srv := arenatest.Start(t, arenatest.Options{Config: withAdmin})
	arenatest.Dial(t, srv.WSURL+"?room=alone", nil).Init()
	var st map[string]any
	adminStats(t, srv, &st)
	if c, ok := st["cluster"]; ok {
		t.Errorf("stats have a cluster section: %v", c)
	}
	rooms, _ := st["rooms"].([]any)
	if len(rooms) != 1 {
		t.Fatalf("rooms = %v; want the one", st["rooms"])
	}
	if r := rooms[0].(map[string]any); r["name"] != "alone" || r["node"] != nil {
		t.Errorf("room = %v; want alone, with no node", r)
	}
}
