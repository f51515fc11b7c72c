package dots

import (
	"testing"

	"github.com/arena-server/arena/game"
)

func TestJoinOptionColor(t *testing.T) {
	chosen, plain := newGame(7), newGame(7)
	opts, err := game.ParseOptions(Mode.JoinOptions, map[string]string{"color": "#FF8800"})
	if err != nil {
		t.Fatal(err)
	}
	for _, id := range []game.PlayerID{1, 2} {
		p := game.Player{ID: id}
		if id == 1 {
			p.Options = opts
		}
		if err := chosen.Join(p); err != nil {
			t.Fatal(err)
		}
		if err := plain.Join(game.Player{ID: id}); err != nil {
			t.Fatal(err)
		}
	}
	got, want := chosen.AppendEntities(nil), plain.AppendEntities(nil)
	if got[0].Fields[FieldColor] != 0xff8800 {
		t.Errorf("player 1's colour %06x; want the chosen ff8800", got[0].Fields[FieldColor])
	}
	// The choice changes nothing else: same spots, same colour for the
	// player who chose none.
	if got[0].X != want[0].X || got[0].Y != want[0].Y || got[1] != want[1] {
		t.Errorf("a chosen colour changed the rest of the game: %+v; without it %+v", got, want)
	}
	if _, err := game.ParseOptions(Mode.JoinOptions, map[string]string{"color": "red"}); err == nil {
		t.Error(`color "red" accepted`)
	}
}
