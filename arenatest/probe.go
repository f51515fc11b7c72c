package arenatest

import (
	"github.com/arena-server/arena/game"
	"github.com/arena-server/arena/games/dots"
	"github.com/arena-server/arena/games/tag"
)

// InputProbe is a mode for tests of what reaches a game: dots, with the
// axes given, whose players each show as their score (tag's kinds) what
// show makes of the last input the game got for them: an axis, say, or
// its Behind.
func InputProbe(name string, axes []game.Axis, show func(game.Input) int32) game.Mode {
	return game.Mode{
		Name:  name,
		Kinds: tag.Kinds, // players with a colour and a score
		Axes:  axes,
		New: func(cfg game.Config) game.Game {
			return &probeGame{Dots: dots.New(cfg), show: show, shown: map[game.PlayerID]int32{}}
		},
	}
}

type probeGame struct {
	*dots.Dots
	show  func(game.Input) int32
	shown map[game.PlayerID]int32
}

func (g *probeGame) Step(in []game.Input) {
	for _, i := range in {
		g.shown[i.Player] = g.show(i)
	}
	g.Dots.Step(in)
}

func (g *probeGame) AppendEntities(dst []game.Entity) []game.Entity {
	n := len(dst)
	dst = g.Dots.AppendEntities(dst)
	for i := range dst[n:] {
		dst[n+i].Fields[tag.FieldScore] = g.shown[game.PlayerID(dst[n+i].ID)]
	}
	return dst
}
