package world

import (
	"encoding/json"
	"fmt"

	"github.com/arena-server/arena/game"
)

var _ game.Persistent = (*World)(nil)

// stateVersion is the version of Export's format. Import refuses others.
const stateVersion = 1

// savedPlayer is a player as Export writes it, its cell included: the
// hysteresis makes the cell part of the state, not a function of the
// position.
type savedPlayer struct {
	ID    game.PlayerID `json:"id"`
	Name  string        `json:"name"`
	X     int32         `json:"x"`
	Y     int32         `json:"y"`
	Color uint32        `json:"color"`
	Cell  int32         `json:"cell"`
}

type saved struct {
	Version int           `json:"version"`
	Size    int32         `json:"size"`
	Players []savedPlayer `json:"players"`
}

// Export implements game.Persistent.
func (w *World) Export() ([]byte, error) {
	s := saved{Version: stateVersion, Size: w.size, Players: make([]savedPlayer, len(w.players))}
	for i, p := range w.players {
		s.Players[i] = savedPlayer{ID: p.id, Name: p.name, X: p.x, Y: p.y, Color: p.color, Cell: p.cell}
	}
	return json.Marshal(s)
}

// Import implements game.Persistent. The field's size comes from the room
// option, so a state saved on a field of another size is refused.
func (w *World) Import(state []byte) error {
	var s saved
	if err := json.Unmarshal(state, &s); err != nil {
		return fmt.Errorf("world: import: %w", err)
	}
	if err := w.check(&s); err != nil {
		return fmt.Errorf("world: import: %w", err)
	}
	g := newGrid(w.size)
	players := make([]*player, len(s.Players))
	for i, p := range s.Players {
		players[i] = &player{id: p.ID, name: p.Name, x: p.X, y: p.Y, color: p.Color, cell: p.Cell}
		g.add(p.Cell, players[i])
	}
	w.grid, w.players = g, players
	return nil
}

// check refuses a state the rules could never have produced.
func (w *World) check(s *saved) error {
	if s.Version != stateVersion {
		return fmt.Errorf("state version %d; this server reads %d", s.Version, stateVersion)
	}
	if s.Size != w.size {
		return fmt.Errorf("a field of %d units; this room's is %d", s.Size, w.size)
	}
	var prev game.PlayerID
	for _, p := range s.Players {
		switch {
		case p.ID <= prev:
			return fmt.Errorf("player %d out of order, repeated or 0", p.ID)
		case p.X < Edge || p.X > w.size-Edge || p.Y < Edge || p.Y > w.size-Edge:
			return fmt.Errorf("player %d at (%d, %d), off the field", p.ID, p.X, p.Y)
		case p.Color > 0xffffff:
			return fmt.Errorf("player %d has color %#x, not 0xRRGGBB", p.ID, p.Color)
		case !w.grid.holds(p.Cell, p.X, p.Y):
			return fmt.Errorf("player %d at (%d, %d) cannot be in cell %d", p.ID, p.X, p.Y, p.Cell)
		}
		prev = p.ID
	}
	return nil
}
