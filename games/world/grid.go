package world

import (
	"cmp"
	"slices"
)

// The interest grid. Cell is chosen for 5,000 players on the default
// 20,000² field: 25 players per 1,000² on average, so the 3×3 cells of
// 700 units around a player (2,100², 4.41 M unit²) hold about 55 of them,
// fewer at the edges: about 50 per view over the whole field.
const (
	// Cell is the side of a cell of the interest grid, in world units.
	Cell = 700
	// Margin is how far an entity must go past the border of its cell
	// before it belongs to the next one: 10% of a cell. Without it, a
	// player walking along a border would switch views every tick, and an
	// entity on a border would blink in and out of the views beside it.
	Margin = Cell / 10
)

// grid is an interest grid over a square field: cols×cols cells of Cell
// units (the last row and column may be narrower), each listing the
// players in it by ascending ID. Lists keep their capacity when players
// leave them, so a world whose players walk about stops allocating once
// every cell has held its most.
type grid struct {
	cols  int32
	cells [][]*player
}

func newGrid(size int32) grid {
	cols := (size + Cell - 1) / Cell
	g := grid{cols: cols, cells: make([][]*player, cols*cols)}
	for i := range g.cells {
		g.cells[i] = make([]*player, 0, 8)
	}
	return g
}

// axis is the row or column that coordinate v falls in, without
// hysteresis.
func (g *grid) axis(v int32) int32 {
	return max(0, min(g.cols-1, v/Cell))
}

// cellAt is the cell that (x, y) falls in, without hysteresis: where a new
// entity starts.
func (g *grid) cellAt(x, y int32) int32 {
	return g.axis(y)*g.cols + g.axis(x)
}

// follow returns the cell of an entity at (x, y) that was in cell c: c
// itself while the entity is within Margin of c's borders, else the cell
// it is in now. Each axis is judged on its own, so that walking along a
// row's border changes nothing however far one walks along it.
func (g *grid) follow(c, x, y int32) int32 {
	cx, cy := c%g.cols, c/g.cols
	if x < cx*Cell-Margin || x >= (cx+1)*Cell+Margin {
		cx = g.axis(x)
	}
	if y < cy*Cell-Margin || y >= (cy+1)*Cell+Margin {
		cy = g.axis(y)
	}
	return cy*g.cols + cx
}

// holds reports whether follow would keep an entity at (x, y) in cell c:
// whether c is a cell it can be in.
func (g *grid) holds(c, x, y int32) bool {
	return c >= 0 && c < g.cols*g.cols && g.follow(c, x, y) == c
}

// add puts p into cell c, keeping the list sorted by ID.
func (g *grid) add(c int32, p *player) {
	list := g.cells[c]
	i := len(list)
	for i > 0 && list[i-1].id > p.id {
		i--
	}
	list = append(list, nil)
	copy(list[i+1:], list[i:])
	list[i] = p
	g.cells[c] = list
}

// remove takes p out of cell c.
func (g *grid) remove(c int32, p *player) {
	list := g.cells[c]
	for i, q := range list {
		if q == p {
			copy(list[i:], list[i+1:])
			list[len(list)-1] = nil
			g.cells[c] = list[:len(list)-1]
			return
		}
	}
}

// window is the centre of the area of interest of an entity in cell c:
// c itself, or for a cell on the edge of the field the cell next to it
// inwards, so that every area is 3×3 whole cells. A player on the edge
// thus sees as far inwards as it needs to see as much as anyone else
// (views hold as many entities at the edges as in the middle, and bytes
// per player do not depend on how much of the world is edge), and the
// edge cells share the views of the cells beside them.
func (g *grid) window(c int32) int32 {
	cx, cy := c%g.cols, c/g.cols
	return max(1, min(g.cols-2, cy))*g.cols + max(1, min(g.cols-2, cx))
}

// area calls fn for each cell of the 3×3 around c, in ascending order. c
// must be a window.
func (g *grid) area(c int32, fn func(cell int32)) {
	cx, cy := c%g.cols, c/g.cols
	for y := cy - 1; y <= cy+1; y++ {
		for x := cx - 1; x <= cx+1; x++ {
			fn(y*g.cols + x)
		}
	}
}

// appendArea appends the players of the 3×3 cells around c, by ascending
// ID.
func (g *grid) appendArea(dst []*player, c int32) []*player {
	start := len(dst)
	g.area(c, func(cell int32) { dst = append(dst, g.cells[cell]...) })
	slices.SortFunc(dst[start:], byID)
	return dst
}

func byID(a, b *player) int { return cmp.Compare(a.id, b.id) }
