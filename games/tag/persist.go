package tag

import (
	"encoding/json"
	"fmt"

	"github.com/arena-server/arena/game"
	"github.com/arena-server/arena/games/dots"
)

var _ game.Persistent = (*Tag)(nil)

type savedPlayer struct {
	ID    game.PlayerID `json:"id"`
	Name  string        `json:"name"`
	X     int32         `json:"x"`
	Y     int32         `json:"y"`
	Color uint32        `json:"color"`
	Score int32         `json:"score"`
	It    bool          `json:"it,omitempty"`
}

type saved struct {
	Players  []savedPlayer `json:"players"`
	Cooldown int           `json:"cooldown"`
	Ticks    int           `json:"ticks"`
}

// Export implements game.Persistent.
func (t *Tag) Export() ([]byte, error) {
	s := saved{Players: make([]savedPlayer, len(t.players)), Cooldown: t.cooldown, Ticks: t.ticks}
	for i, p := range t.players {
		s.Players[i] = savedPlayer{ID: p.id, Name: p.name, X: p.x, Y: p.y, Color: p.color, Score: p.score, It: p.it}
	}
	return json.Marshal(s)
}

// Import implements game.Persistent. A saved game with players has exactly
// one it, as the rules keep it.
func (t *Tag) Import(state []byte) error {
	var s saved
	if err := json.Unmarshal(state, &s); err != nil {
		return fmt.Errorf("tag: import: %w", err)
	}
	players := make([]player, len(s.Players))
	its := 0
	for i, p := range s.Players {
		var prev game.PlayerID
		if i > 0 {
			prev = s.Players[i-1].ID
		}
		if err := dots.CheckSaved(prev, p.ID, p.X, p.Y, p.Color); err != nil {
			return fmt.Errorf("tag: import: %w", err)
		}
		if p.It {
			its++
		}
		players[i] = player{id: p.ID, name: p.Name, x: p.X, y: p.Y, color: p.Color, score: p.Score, it: p.It}
	}
	switch {
	case len(players) > 0 && its != 1:
		return fmt.Errorf("tag: import: %d players are it; want 1", its)
	case s.Cooldown < 0 || s.Ticks < 0 || s.Ticks >= t.cfg.TickRate:
		return fmt.Errorf("tag: import: cooldown %d, ticks %d out of range", s.Cooldown, s.Ticks)
	}
	t.players, t.cooldown, t.ticks = players, s.Cooldown, s.Ticks
	return nil
}
