package protocol

import "github.com/arena-server/arena/game"

// Field is one attribute of an entity that a delta may carry.
type Field uint8

// Fields of an entity.
const (
	FieldX Field = 1 << iota
	FieldY
	FieldFlags
	FieldScore
	FieldColor
	FieldName
	FieldKind
)

// Change is an entity present in both states that changed: its new value and
// which fields differ from the old one.
type Change struct {
	Entity game.Entity
	Old    game.Entity
	Fields Field
}

// Delta is what changed between two states: entities that left, entities
// that joined, and entities whose fields changed. Each list is by ascending
// ID, as states are.
type Delta struct {
	Removed []uint32
	Added   []game.Entity
	Changed []Change
}

// Reset empties d, keeping its storage.
func (d *Delta) Reset() {
	d.Removed = d.Removed[:0]
	d.Added = d.Added[:0]
	d.Changed = d.Changed[:0]
}

// Diff sets d to what turns base into cur. Both must be sorted by ID. A nil
// base makes every entity of cur Added: a full state.
func Diff(d *Delta, base, cur []game.Entity) {
	d.Reset()
	i, j := 0, 0
	for i < len(base) || j < len(cur) {
		switch {
		case j == len(cur) || (i < len(base) && base[i].ID < cur[j].ID):
			d.Removed = append(d.Removed, base[i].ID)
			i++
		case i == len(base) || cur[j].ID < base[i].ID:
			d.Added = append(d.Added, cur[j])
			j++
		default:
			if f := changedFields(&base[i], &cur[j]); f != 0 {
				d.Changed = append(d.Changed, Change{Entity: cur[j], Old: base[i], Fields: f})
			}
			i++
			j++
		}
	}
}

func changedFields(a, b *game.Entity) Field {
	var f Field
	if a.X != b.X {
		f |= FieldX
	}
	if a.Y != b.Y {
		f |= FieldY
	}
	if a.Flags != b.Flags {
		f |= FieldFlags
	}
	if a.Score != b.Score {
		f |= FieldScore
	}
	if a.Color != b.Color {
		f |= FieldColor
	}
	if a.Name != b.Name {
		f |= FieldName
	}
	if a.Kind != b.Kind {
		f |= FieldKind
	}
	return f
}

// Apply turns base into the state d describes, appending it to dst: what a
// client does with a delta made by Diff, whose changed entities carry their
// new values.
func Apply(dst, base []game.Entity, d *Delta) []game.Entity {
	return apply(dst, base, d, false)
}

// ApplyDecoded is Apply for a delta decoded by ParseServerBinary, whose
// changed X and Y are differences from the old values.
func ApplyDecoded(dst, base []game.Entity, d *Delta) []game.Entity {
	return apply(dst, base, d, true)
}

func apply(dst, base []game.Entity, d *Delta, relativeXY bool) []game.Entity {
	removed, added, changed := d.Removed, d.Added, d.Changed
	i := 0
	for i < len(base) || len(added) > 0 {
		if len(added) > 0 && (i == len(base) || added[0].ID < base[i].ID) {
			dst = append(dst, added[0])
			added = added[1:]
			continue
		}
		e := base[i]
		i++
		if len(removed) > 0 && removed[0] == e.ID {
			removed = removed[1:]
			continue
		}
		if len(changed) > 0 && changed[0].Entity.ID == e.ID {
			setFields(&e, &changed[0], relativeXY)
			changed = changed[1:]
		}
		dst = append(dst, e)
	}
	return dst
}

func setFields(e *game.Entity, c *Change, relativeXY bool) {
	n := &c.Entity
	if c.Fields&FieldX != 0 {
		if relativeXY {
			e.X += n.X
		} else {
			e.X = n.X
		}
	}
	if c.Fields&FieldY != 0 {
		if relativeXY {
			e.Y += n.Y
		} else {
			e.Y = n.Y
		}
	}
	if c.Fields&FieldFlags != 0 {
		e.Flags = n.Flags
	}
	if c.Fields&FieldScore != 0 {
		e.Score = n.Score
	}
	if c.Fields&FieldColor != 0 {
		e.Color = n.Color
	}
	if c.Fields&FieldName != 0 {
		e.Name = n.Name
	}
	if c.Fields&FieldKind != 0 {
		e.Kind = n.Kind
	}
}
