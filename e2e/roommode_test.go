package e2e

import (
	"encoding/json"
	"net/http"
	"testing"

	"github.com/arena-server/arena/arenatest"
	"github.com/arena-server/arena/server"
)

// TestPageCreatesTheRoomInTheModeItNames: /?room=x&mode=tag makes room x
// a tag room, as the server lists it.
func TestPageCreatesTheRoomInTheModeItNames(t *testing.T) {
	srv := arenatest.Start(t, arenatest.Options{})
	tb, _ := openArena(t, srv, "/?room=e2e-tagroom&mode=tag")
	if mode := eval[string](tb, `window.arena.mode`); mode != "tag" {
		t.Errorf("the page plays %q; want tag", mode)
	}
	resp, err := http.Get(srv.URL + "/api/rooms")
	if err != nil {
		t.Fatal(err)
	}
	defer resp.Body.Close()
	var list struct{ Rooms []server.RoomInfo }
	if err := json.NewDecoder(resp.Body).Decode(&list); err != nil {
		t.Fatal(err)
	}
	found := false
	for _, r := range list.Rooms {
		if r.Name == "e2e-tagroom" {
			found = true
			if r.Mode != "tag" || r.Players != 1 {
				t.Errorf("GET /api/rooms lists %+v; want a tag room of one player", r)
			}
		}
	}
	if !found {
		t.Errorf("GET /api/rooms does not list e2e-tagroom: %+v", list.Rooms)
	}
}
