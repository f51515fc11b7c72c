package game

import (
	"errors"
	"fmt"
	"math"
	"regexp"
)

// A mode declares what its entities carry, so that any client can decode
// and draw them: one EntityKind per Kind value, each a list of typed fields.
//
// Arena itself owns three things of every entity: its ID and Kind, its
// position (X, Y), which clients interpolate and predict and an interest
// grid culls by, and Away, which the room sets for a player whose
// connection dropped. Everything else is declared: a number in
// Entity.Fields[i] is described by EntityKind.Fields[i], a string in
// Entity.Texts[j] by EntityKind.Texts[j].
//
// The declarations are explicit descriptors, not struct tags read by
// reflection: the codecs walk a short slice of them per entity, and the
// hot path of a tick (diffing and encoding thousands of entities) stays a
// loop over fixed arrays.

// MaxFields and MaxTexts bound what one entity carries: enough for a
// shooter's player (colour, score, health, aim, team, ...), small enough
// that an entity is a flat value of about 100 bytes that a snapshot copies.
const (
	MaxFields = 12
	MaxTexts  = 2
	// MaxText bounds a text field's value in bytes.
	MaxText = 64
)

// FieldType says how a numeric field's int32 is read and sent.
type FieldType uint8

// Field types. Every value lives in an int32 of Entity.Fields.
const (
	// Int is a signed integer of Bits bits (8, 16 or 32), sent as a
	// variable-length number, so small values cost a byte whatever the
	// width.
	Int FieldType = iota + 1
	// Uint is an unsigned integer of Bits bits, stored in the int32.
	Uint
	// Fixed is a fixed-point number: the value is Fields[i] / Scale. An
	// angle in thousandths of a radian is Fixed with Scale 1000.
	Fixed
	// Float is a float32, stored as its bits (use game.Float32 and
	// Entity.Float). It costs 4 bytes whenever it changes; prefer Fixed.
	Float
	// Bool is 0 or 1. A change costs no bytes beyond its mask bit.
	Bool
	// Enum is an index into Values.
	Enum
	// Color is 0xRRGGBB, sent as 3 bytes.
	Color
)

var fieldTypeNames = [...]string{Int: "int", Uint: "uint", Fixed: "fixed", Float: "float", Bool: "bool", Enum: "enum", Color: "color"}

func (t FieldType) String() string {
	if int(t) < len(fieldTypeNames) && fieldTypeNames[t] != "" {
		return fieldTypeNames[t]
	}
	return fmt.Sprintf("FieldType(%d)", uint8(t))
}

// Field declares one numeric field of a kind of entity.
type Field struct {
	// Name is how clients call it: lower case, [a-z][a-z0-9_]*, and not
	// one of arena's own id, kind, x, y and away.
	Name string
	Type FieldType
	// Bits is the width of an Int or Uint: 8, 16 or 32 (0 means 32).
	Bits uint8
	// Scale is a Fixed field's denominator, at least 1.
	Scale int32
	// Values names an Enum's values, at most 256.
	Values []string
	// Delta sends a change of an Int or Fixed as the difference from the
	// old value rather than the new value: cheaper for a counter or a
	// coordinate that moves by small steps.
	Delta bool
	// Interp asks clients to interpolate an Int, Fixed or Float between
	// snapshots, as they do positions, rather than snap to each value.
	Interp bool
}

// Text declares one string field of a kind of entity, such as a name.
type Text struct {
	Name string
	// MaxLen bounds the value in bytes, at most MaxText (0 means MaxText).
	MaxLen int
}

// EntityKind declares what entities of one Kind carry. A mode's Kinds[k]
// describes the entities whose Kind is k; Kinds[KindPlayer] the players'
// avatars.
type EntityKind struct {
	// Name is how clients call it ("player", "bullet").
	Name   string
	Fields []Field
	Texts  []Text
}

// Float32 returns the bits of f, to store in a Float field.
func Float32(f float32) int32 { return int32(math.Float32bits(f)) }

// Float reads Fields[i] as a Float field's value.
func (e *Entity) Float(i int) float32 { return math.Float32frombits(uint32(e.Fields[i])) }

// Flag returns 1 for true, to store in a Bool field.
func Flag(b bool) int32 {
	if b {
		return 1
	}
	return 0
}

var nameRE = regexp.MustCompile(`^[a-z][a-z0-9_]{0,31}$`)

// reserved are the names of what arena owns of every entity.
var reserved = map[string]bool{"id": true, "kind": true, "x": true, "y": true, "away": true}

// Check reports what is wrong with the declaration of a kind.
func (k *EntityKind) Check() error {
	if !nameRE.MatchString(k.Name) {
		return fmt.Errorf("entity kind %q needs a name of [a-z][a-z0-9_]*, at most 32 bytes", k.Name)
	}
	if len(k.Fields) > MaxFields || len(k.Texts) > MaxTexts {
		return fmt.Errorf("entity kind %s has %d fields and %d texts; at most %d and %d", k.Name, len(k.Fields), len(k.Texts), MaxFields, MaxTexts)
	}
	seen := map[string]bool{}
	name := func(n string) error {
		switch {
		case !nameRE.MatchString(n):
			return fmt.Errorf("entity kind %s: field %q needs a name of [a-z][a-z0-9_]*, at most 32 bytes", k.Name, n)
		case reserved[n]:
			return fmt.Errorf("entity kind %s: field %q is arena's own", k.Name, n)
		case seen[n]:
			return fmt.Errorf("entity kind %s declares %s twice", k.Name, n)
		}
		seen[n] = true
		return nil
	}
	for _, f := range k.Fields {
		if err := name(f.Name); err != nil {
			return err
		}
		if err := f.check(); err != nil {
			return fmt.Errorf("entity kind %s: field %s: %w", k.Name, f.Name, err)
		}
	}
	for _, t := range k.Texts {
		if err := name(t.Name); err != nil {
			return err
		}
		if t.MaxLen < 0 || t.MaxLen > MaxText {
			return fmt.Errorf("entity kind %s: text %s: MaxLen is 0..%d", k.Name, t.Name, MaxText)
		}
	}
	return nil
}

func (f *Field) check() error {
	switch f.Type {
	case Int, Uint:
		if f.Bits != 0 && f.Bits != 8 && f.Bits != 16 && f.Bits != 32 {
			return errors.New("Bits is 8, 16 or 32")
		}
	case Fixed:
		if f.Scale < 1 {
			return errors.New("a fixed-point field needs a Scale of at least 1")
		}
	case Enum:
		if len(f.Values) == 0 || len(f.Values) > 256 {
			return errors.New("an enum needs 1 to 256 Values")
		}
	case Float, Bool, Color:
	default:
		return fmt.Errorf("unknown type %d", f.Type)
	}
	if f.Delta && f.Type != Int && f.Type != Fixed {
		return errors.New("only Int and Fixed fields can be sent as differences")
	}
	if f.Interp && f.Type != Int && f.Type != Fixed && f.Type != Float {
		return errors.New("only Int, Fixed and Float fields can be interpolated")
	}
	return nil
}

// FieldIndex returns the index of the numeric field called name, or -1.
func (k *EntityKind) FieldIndex(name string) int {
	for i := range k.Fields {
		if k.Fields[i].Name == name {
			return i
		}
	}
	return -1
}

// TextIndex returns the index of the text field called name, or -1.
func (k *EntityKind) TextIndex(name string) int {
	for i := range k.Texts {
		if k.Texts[i].Name == name {
			return i
		}
	}
	return -1
}

// BasicKinds are the kinds of a mode that declares none: players and
// items with a position only.
var BasicKinds = []EntityKind{{Name: "player"}, {Name: "item"}}
