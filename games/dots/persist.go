package dots

import (
	"encoding/json"
	"fmt"

	"github.com/arena-server/arena/game"
)

var _ game.Persistent = (*Dots)(nil)

// savedPlayer is a player as Export writes it. JSON: a room's state is saved
// a few times a minute at most, so readability beats size here.
type savedPlayer struct {
	ID    game.PlayerID `json:"id"`
	Name  string        `json:"name"`
	X     int32         `json:"x"`
	Y     int32         `json:"y"`
	Color uint32        `json:"color"`
}

type saved struct {
	Players []savedPlayer `json:"players"`
}

// Export implements game.Persistent.
func (d *Dots) Export() ([]byte, error) {
	s := saved{Players: make([]savedPlayer, len(d.players))}
	for i, p := range d.players {
		s.Players[i] = savedPlayer{ID: p.id, Name: p.name, X: p.x, Y: p.y, Color: p.color}
	}
	return json.Marshal(s)
}

// Import implements game.Persistent.
func (d *Dots) Import(state []byte) error {
	var s saved
	if err := json.Unmarshal(state, &s); err != nil {
		return fmt.Errorf("dots: import: %w", err)
	}
	players := make([]player, len(s.Players))
	for i, p := range s.Players {
		var prev game.PlayerID
		if i > 0 {
			prev = s.Players[i-1].ID
		}
		if err := CheckSaved(prev, p.ID, p.X, p.Y, p.Color); err != nil {
			return fmt.Errorf("dots: import: %w", err)
		}
		players[i] = player{id: p.ID, name: p.Name, x: p.X, y: p.Y, color: p.Color}
	}
	d.players = players
	return nil
}

// CheckSaved refuses a saved player (of any mode on dots' field) that the
// rules could never have produced: off the field, a colour that is not
// 0xRRGGBB, or an id not above prev, the id saved before it (0 for the
// first): games keep their players sorted by id, without repeats.
func CheckSaved(prev, id game.PlayerID, x, y int32, color uint32) error {
	switch {
	case id <= prev:
		return fmt.Errorf("player %d out of order, repeated or 0", id)
	case x < Min || x > Max || y < Min || y > Max:
		return fmt.Errorf("player %d at (%d, %d), off the field", id, x, y)
	case color > 0xffffff:
		return fmt.Errorf("player %d has color %#x, not 0xRRGGBB", id, color)
	}
	return nil
}
