package protocol

import "github.com/arena-server/arena/game"

// Mask says which parts of an entity a Change carries. Its bits are those
// of the wire: X and Y, then Away, then the kind's numeric fields in their
// declared order, then its texts.
type Mask uint32

// Bits of a Mask.
const (
	MaskX    Mask = 1 << 0
	MaskY    Mask = 1 << 1
	MaskAway Mask = 1 << 2
	// MaskField(i) is numeric field i, MaskText(j) text field j.
	maskFields = 3
	maskTexts  = maskFields + game.MaxFields
)

// MaskField returns the bit of numeric field i.
func MaskField(i int) Mask { return 1 << (maskFields + i) }

// MaskText returns the bit of text field j.
func MaskText(j int) Mask { return 1 << (maskTexts + j) }

// kindMask is every bit an entity of kind k may carry: what it declares.
func kindMask(k *game.EntityKind) Mask {
	return MaskX | MaskY | MaskAway |
		(1<<len(k.Fields)-1)<<maskFields |
		(1<<len(k.Texts)-1)<<maskTexts
}

// Change is an entity present in both states that changed: its new value and
// which parts differ from the old one.
type Change struct {
	// Entity is the new value. In a decoded change it holds only what
	// the wire carries: no ID (the wire names the entity by its index in
	// the base) and, where the Mask says so, differences from the old
	// values; ApplyDecoded makes the whole entity.
	Entity game.Entity
	Mask   Mask
	// old is the entity's index in the base: what the wire sends, and
	// where the encoder finds the values it sends differences from.
	old int32
}

// Index returns the changed entity's index in the delta's base.
func (c *Change) Index() int { return int(c.old) }

// Delta is what changed between two states: entities that left, entities
// that joined, and entities whose fields changed. Each list is by ascending
// ID, as states are. An entity whose kind changed is removed and added
// again: its fields mean something else now.
type Delta struct {
	Removed []uint32
	Added   []game.Entity
	Changed []Change
	// base is the state Diff started from. A change points into it rather
	// than copies its old entity: a world diffs hundreds of views a tick.
	base []game.Entity
}

// Reset empties d, keeping its storage.
func (d *Delta) Reset() {
	d.Removed = d.Removed[:0]
	d.Added = d.Added[:0]
	d.Changed = d.Changed[:0]
	d.base = nil
}

// Old returns the entity c changed from, as Diff saw it in its base. A
// decoded delta has no base: its changes' old entities are zero, which is
// why only Diff's deltas are encoded.
func (d *Delta) Old(c *Change) *game.Entity {
	if c.old >= 0 && int(c.old) < len(d.base) {
		return &d.base[c.old]
	}
	return &noEntity
}

var noEntity game.Entity

// Diff sets d to what turns base into cur. Both must be sorted by ID. A nil
// base makes every entity of cur Added: a full state.
func Diff(d *Delta, base, cur []game.Entity) {
	d.Reset()
	d.base = base
	i, j := 0, 0
	for i < len(base) || j < len(cur) {
		switch {
		case j == len(cur) || (i < len(base) && base[i].ID < cur[j].ID):
			d.Removed = append(d.Removed, base[i].ID)
			i++
		case i == len(base) || cur[j].ID < base[i].ID:
			d.Added = append(d.Added, cur[j])
			j++
		case base[i].Kind != cur[j].Kind:
			d.Removed = append(d.Removed, base[i].ID)
			d.Added = append(d.Added, cur[j])
			i++
			j++
		default:
			if m := changed(&base[i], &cur[j]); m != 0 {
				d.Changed = append(d.Changed, Change{Entity: cur[j], Mask: m, old: int32(i)})
			}
			i++
			j++
		}
	}
}

// changed compares two entities of the same kind. Most entities of a tick
// do not change, or only move, so the arrays are compared whole first.
func changed(a, b *game.Entity) Mask {
	var m Mask
	if a.X != b.X {
		m |= MaskX
	}
	if a.Y != b.Y {
		m |= MaskY
	}
	if a.Away != b.Away {
		m |= MaskAway
	}
	if a.Fields != b.Fields {
		for i := range a.Fields {
			if a.Fields[i] != b.Fields[i] {
				m |= MaskField(i)
			}
		}
	}
	if a.Texts != b.Texts {
		for j := range a.Texts {
			if a.Texts[j] != b.Texts[j] {
				m |= MaskText(j)
			}
		}
	}
	return m
}

// Apply turns base into the state d describes, appending it to dst: what a
// client does with a delta made by Diff, whose changed entities carry their
// new values.
func Apply(dst, base []game.Entity, d *Delta) []game.Entity {
	return apply(dst, base, d, nil)
}

// ApplyDecoded is Apply for a delta decoded by ParseServerBinary, whose
// changed positions, and fields the kinds send as differences, are
// differences from the old values.
func ApplyDecoded(dst, base []game.Entity, d *Delta, kinds []game.EntityKind) []game.Entity {
	if kinds == nil {
		kinds = game.BasicKinds
	}
	return apply(dst, base, d, kinds)
}

// apply applies d; with kinds, relative parts are added to the old values.
// Changes find their entity by its index in base, as the wire names them.
// A change whose index is out of order or past base (a decoded delta from
// a broken encoder) changes nothing.
func apply(dst, base []game.Entity, d *Delta, kinds []game.EntityKind) []game.Entity {
	removed, added, changed := d.Removed, d.Added, d.Changed
	i := 0
	for i < len(base) || len(added) > 0 {
		if len(added) > 0 && (i == len(base) || added[0].ID < base[i].ID) {
			dst = append(dst, added[0])
			added = added[1:]
			continue
		}
		for len(changed) > 0 && int(changed[0].old) < i {
			changed = changed[1:]
		}
		e := base[i]
		i++
		if len(removed) > 0 && removed[0] == e.ID {
			removed = removed[1:]
			if len(added) > 0 && added[0].ID == e.ID { // its kind changed
				dst = append(dst, added[0])
				added = added[1:]
			}
			continue
		}
		if len(changed) > 0 && int(changed[0].old) == i-1 {
			setFields(&e, &changed[0], kinds)
			changed = changed[1:]
		}
		dst = append(dst, e)
	}
	return dst
}

func setFields(e *game.Entity, c *Change, kinds []game.EntityKind) {
	n, m := &c.Entity, c.Mask
	relative := kinds != nil
	if m&MaskX != 0 {
		if relative {
			e.X += n.X
		} else {
			e.X = n.X
		}
	}
	if m&MaskY != 0 {
		if relative {
			e.Y += n.Y
		} else {
			e.Y = n.Y
		}
	}
	if m&MaskAway != 0 {
		if relative { // the wire sends no value for a flag, which can only flip
			e.Away = !e.Away
		} else {
			e.Away = n.Away
		}
	}
	var fields []game.Field
	if relative && int(e.Kind) < len(kinds) {
		fields = kinds[e.Kind].Fields
	}
	for i := range e.Fields {
		if m&MaskField(i) == 0 {
			continue
		}
		switch {
		case i < len(fields) && fields[i].Delta:
			e.Fields[i] += n.Fields[i]
		case i < len(fields) && fields[i].Type == game.Bool:
			e.Fields[i] = game.Flag(e.Fields[i] == 0)
		default:
			e.Fields[i] = n.Fields[i]
		}
	}
	for j := range e.Texts {
		if m&MaskText(j) != 0 {
			e.Texts[j] = n.Texts[j]
		}
	}
}
