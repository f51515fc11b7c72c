package world

import "github.com/arena-server/arena/game"

// LandmarksPerCell is how many landmarks each cell of the grid holds. They
// are a pure function of the cell (landmark), not drawn from the room's
// random source: they are not part of the state, and a restored world has
// the same ones.
const LandmarksPerCell = 2

// appendLandmarks appends the landmarks of cell c, by ascending ID.
func (w *World) appendLandmarks(dst []game.Entity, c int32) []game.Entity {
	for j := range int32(LandmarksPerCell) {
		dst = append(dst, w.landmark(c, j))
	}
	return dst
}

// landmark is the j-th landmark of cell c: somewhere inside the cell, away
// from its borders, with a colour, a size and a shape of its own.
func (w *World) landmark(c, j int32) game.Entity {
	n := uint32(c*LandmarksPerCell + j)
	h := mix(uint64(n))
	cx, cy := c%w.grid.cols, c/w.grid.cols
	e := game.Entity{ID: game.ItemID(n), Kind: KindLandmark,
		X: w.within(cx, uint32(h)), Y: w.within(cy, uint32(h>>16))}
	e.Fields[LandmarkColor] = int32(0x404040 | h>>32&0xbfbfbf)
	e.Fields[LandmarkSize] = int32(20 + h>>56%41)
	e.Fields[LandmarkShape] = int32(h >> 48 % 3)
	return e
}

// within picks a coordinate in row or column i of the grid from h, at
// least 60 units inside the cell where it can be, and on the field.
func (w *World) within(i int32, h uint32) int32 {
	lo := i * Cell
	hi := min(lo+Cell, w.size)
	pad := min(60, (hi-lo)/2)
	span := max(1, hi-lo-2*pad)
	return max(Edge, min(w.size-Edge, lo+pad+int32(h%uint32(span))))
}

// mix is SplitMix64's finaliser: a well-spread hash of a small number.
func mix(z uint64) uint64 {
	z += 0x9e3779b97f4a7c15
	z = (z ^ z>>30) * 0xbf58476d1ce4e5b9
	z = (z ^ z>>27) * 0x94d049bb133111eb
	return z ^ z>>31
}
