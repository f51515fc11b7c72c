package main

import (
	"encoding/json"
	"fmt"

	"github.com/arena-server/arena/game"
	"github.com/arena-server/arena/games/dots"
)

// saved is the hill's state as Export writes it: the players, with where
// they stand and what they have scored. The goal is not in it: it is a room
// option, which the room restores beside the game.
type saved struct {
	Players []savedPlayer `json:"players"`
}

type savedPlayer struct {
	ID    game.PlayerID `json:"id"`
	Name  string        `json:"name"`
	X     int32         `json:"x"`
	Y     int32         `json:"y"`
	Color uint32        `json:"color"`
	Score int32         `json:"score"`
	Ticks int           `json:"ticks"`
}

// Export implements game.Persistent, so that a room of the hill can move
// to another node or be restored from a checkpoint.
func (h *Hill) Export() ([]byte, error) {
	s := saved{Players: make([]savedPlayer, len(h.players))}
	for i, p := range h.players {
		s.Players[i] = savedPlayer{ID: p.id, Name: p.name, X: p.x, Y: p.y, Color: p.color, Score: p.score, Ticks: p.ticks}
	}
	return json.Marshal(s)
}

// Import implements game.Persistent. It refuses a state the rules could
// never produce (players out of order or off the field, a score below 0 or
// past the goal, a second's ticks out of range) and then changes nothing.
func (h *Hill) Import(state []byte) error {
	var s saved
	if err := json.Unmarshal(state, &s); err != nil {
		return fmt.Errorf("hill: import: %w", err)
	}
	players := make([]player, len(s.Players))
	for i, p := range s.Players {
		var prev game.PlayerID
		if i > 0 {
			prev = s.Players[i-1].ID
		}
		if err := dots.CheckSaved(prev, p.ID, p.X, p.Y, p.Color); err != nil {
			return fmt.Errorf("hill: import: %w", err)
		}
		if p.Score < 0 || p.Score > h.goal || p.Ticks < 0 || p.Ticks >= h.cfg.TickRate {
			return fmt.Errorf("hill: import: player %d has score %d and ticks %d; want 0 to %d and 0 to %d", p.ID, p.Score, p.Ticks, h.goal, h.cfg.TickRate-1)
		}
		players[i] = player{id: p.ID, name: p.Name, x: p.X, y: p.Y, color: p.Color, score: p.Score, ticks: p.Ticks}
	}
	h.players = players
	return nil
}
