// Command arena runs the arena game server: the browser client, the
// WebSocket endpoint and the API on one port, with the built-in modes dots
// (the default), tag, blasters and world. It registers them the way any
// program adding its own modes does; see package arena.
package main

import (
	"github.com/arena-server/arena"
	"github.com/arena-server/arena/games/blasters"
	"github.com/arena-server/arena/games/dots"
	"github.com/arena-server/arena/games/tag"
	"github.com/arena-server/arena/games/world"
)

func main() { arena.Main(dots.Mode, tag.Mode, blasters.Mode, world.Mode) }
