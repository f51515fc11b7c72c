package e2e

import (
	"fmt"
	"io"
	"net/http"
	"strings"
	"testing"
	"time"

	"github.com/arena-server/arena/arenatest"
	"github.com/arena-server/arena/game"
	"github.com/arena-server/arena/protocol"
)

// TestPageSpectates: /?room=x&spectate=1 watches room x: the page is
// welcomed as a spectator, draws the player that plays there and no dot
// of its own, and sends the server no inputs however it is driven.
func TestPageSpectates(t *testing.T) {
	srv := arenatest.Start(t, arenatest.Options{})
	player, err := arenatest.DialNative(t, srv.URL, "room=e2e-show", "")
	if err != nil || player.Msg.Type != protocol.BinWelcome {
		t.Fatalf("player: %v, %+v", err, player)
	}
	id := player.Welcome.Player

	tb := newTab(t)
	tb.navigate(srv.URL + "/?room=e2e-show&spectate=1")
	waitFor(tb, "the page to watch", `window.arena && window.arena.connected && window.arena.watching && window.arena.id === 0 && window.arena.tick > 0`, 10*time.Second)
	x, _ := serverPos(tb, int(id))
	if x < 0 {
		t.Fatalf("the spectating page does not see player %d", id)
	}
	if err := player.Send(protocol.AppendBinaryInput(nil, 1, game.Right, 0)); err != nil {
		t.Fatal(err)
	}
	waitMoved(tb, int(id), "x", x, 1, 20)
	if n := eval[int](tb, `window.arena.players.size`); n != 1 {
		t.Errorf("the spectating page sees %d entities; want the player's alone", n)
	}
	if !strings.Contains(eval[string](tb, `location.search`), "spectate=1") {
		t.Error("the page's URL forgot spectate=1: a reload would play")
	}

	// Held keys and the SDK's input() send nothing from a spectator.
	eval[bool](tb, `(window.arena.client.input(1), true)`)
	waitFor(tb, "a few more ticks", fmt.Sprintf(`window.arena.tick > %d`, eval[int](tb, `window.arena.tick`)+10), 5*time.Second)
	resp, err := http.Get(srv.URL + "/metrics")
	if err != nil {
		t.Fatal(err)
	}
	defer resp.Body.Close()
	body, _ := io.ReadAll(resp.Body)
	if strings.Contains(string(body), `code="spectating"`) {
		t.Error("the spectating page sent inputs, which the server refused")
	}
}
