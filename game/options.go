package game

import (
	"errors"
	"fmt"
	"slices"
	"strconv"
	"strings"
	"unicode"
	"unicode/utf8"
)

// OptionType is the kind of value an option holds.
type OptionType uint8

// Kinds of option values. Clients always send text; ParseOptions checks it
// against the type.
const (
	// OptionString is short printable text of at most MaxLen characters.
	OptionString OptionType = iota
	// OptionInt is a decimal integer in [Min, Max].
	OptionInt
	// OptionEnum is one of Values.
	OptionEnum
	// OptionBool is "true" or "false".
	OptionBool
	// OptionColor is a colour "#rrggbb".
	OptionColor
)

var optionTypeNames = [...]string{"string", "int", "enum", "bool", "color"}

func (t OptionType) String() string {
	if int(t) < len(optionTypeNames) {
		return optionTypeNames[t]
	}
	return "OptionType(" + strconv.Itoa(int(t)) + ")"
}

// MarshalText names the type in the mode list (GET /api/modes).
func (t OptionType) MarshalText() ([]byte, error) { return []byte(t.String()), nil }

// UnmarshalText reads a type's name, for clients written in Go.
func (t *OptionType) UnmarshalText(text []byte) error {
	i := slices.Index(optionTypeNames[:], string(text))
	if i < 0 {
		return fmt.Errorf("unknown option type %q", text)
	}
	*t = OptionType(i)
	return nil
}

// DefaultMaxLen bounds an OptionString whose MaxLen is zero: text from
// clients is always bounded.
const DefaultMaxLen = 64

// Option declares one option a mode accepts: a room option, given when a
// room is created, or a join option, given by each player as it joins.
type Option struct {
	Name        string     `json:"name"`
	Description string     `json:"description,omitempty"`
	Type        OptionType `json:"type"`
	// Min and Max bound an OptionInt when Min < Max.
	Min int64 `json:"min,omitempty"`
	Max int64 `json:"max,omitempty"`
	// Values are the choices of an OptionEnum.
	Values []string `json:"values,omitempty"`
	// MaxLen bounds an OptionString, in characters; 0 is DefaultMaxLen.
	MaxLen int `json:"max_len,omitempty"`
	// Default is the value the getters return when the option is not
	// given, as text of the option's type. Empty: the zero value.
	Default string `json:"default,omitempty"`
	// Secret marks a room option whose value only the room's creator and
	// the game may know (a passphrase, a hidden map seed): room lists and
	// the cluster's directory leave it out, and a room given one is never
	// chosen by quick-join or matchmaking, only joined by name. The mode
	// list still declares it.
	Secret bool `json:"secret,omitempty"`
}

// ErrBadOption is matched (errors.Is) by every *OptionError: a client gave
// an option the mode does not accept. A game's Join may return one too,
// to refuse a player because of an option (a full team, say).
var ErrBadOption = errors.New("bad option")

// OptionError says which option is wrong and what is allowed.
type OptionError struct {
	Option  string
	Problem string
}

func (e *OptionError) Error() string {
	return fmt.Sprintf("option %q %s", e.Option, e.Problem)
}

// Is makes errors.Is(err, ErrBadOption) true.
func (e *OptionError) Is(target error) bool { return target == ErrBadOption }

// Options are validated option values. The zero value holds none, and its
// getters return zero values.
type Options struct {
	decl []Option
	set  map[string]string // canonical text, by name; only given options
}

// ParseOptions checks raw, as a client sent it, against decl. The first
// problem, in name order, is returned as an *OptionError naming the option
// and what it allows.
func ParseOptions(decl []Option, raw map[string]string) (Options, error) {
	opts := Options{decl: decl}
	names := make([]string, 0, len(raw))
	for name := range raw {
		names = append(names, name)
	}
	slices.Sort(names)
	for _, name := range names {
		i := slices.IndexFunc(decl, func(o Option) bool { return o.Name == name })
		if i < 0 {
			return Options{}, unknownOption(decl, name)
		}
		v, err := decl[i].parse(raw[name])
		if err != nil {
			return Options{}, err
		}
		if opts.set == nil {
			opts.set = make(map[string]string, len(raw))
		}
		opts.set[name] = v
	}
	return opts, nil
}

func unknownOption(decl []Option, name string) error {
	if len(name) > 32 || !utf8.ValidString(name) {
		name = strings.ToValidUTF8(name[:min(len(name), 32)], "?") + "…"
	}
	if len(decl) == 0 {
		return &OptionError{name, "is unknown: this mode takes no options here"}
	}
	known := make([]string, len(decl))
	for i, o := range decl {
		known[i] = o.Name
	}
	return &OptionError{name, "is unknown: this mode takes " + strings.Join(known, ", ")}
}

// parse returns v in canonical form, or why it is not allowed.
func (o Option) parse(v string) (string, error) {
	bad := func(format string, args ...any) error {
		return &OptionError{o.Name, fmt.Sprintf(format, args...)}
	}
	switch o.Type {
	case OptionInt:
		n, err := strconv.ParseInt(v, 10, 64)
		if err != nil || (o.Min < o.Max && (n < o.Min || n > o.Max)) {
			if o.Min < o.Max {
				return "", bad("must be an integer from %d to %d", o.Min, o.Max)
			}
			return "", bad("must be an integer")
		}
		return strconv.FormatInt(n, 10), nil
	case OptionEnum:
		if !slices.Contains(o.Values, v) {
			return "", bad("must be one of %s", strings.Join(o.Values, ", "))
		}
		return v, nil
	case OptionBool:
		b, err := strconv.ParseBool(v)
		if err != nil {
			return "", bad("must be true or false")
		}
		return strconv.FormatBool(b), nil
	case OptionColor:
		if _, ok := parseColor(v); !ok {
			return "", bad("must be a colour #rrggbb")
		}
		return strings.ToLower(v), nil
	case OptionString:
		maxLen := cmpOr(o.MaxLen, DefaultMaxLen)
		if !utf8.ValidString(v) {
			return "", bad("must be valid UTF-8")
		}
		if utf8.RuneCountInString(v) > maxLen {
			return "", bad("is at most %d characters", maxLen)
		}
		if strings.IndexFunc(v, func(r rune) bool { return !unicode.IsPrint(r) }) >= 0 {
			return "", bad("may only hold printable characters")
		}
		return v, nil
	}
	return "", bad("has a type this server does not know")
}

func cmpOr(v, def int) int {
	if v <= 0 {
		return def
	}
	return v
}

func parseColor(v string) (uint32, bool) {
	if len(v) != 7 || v[0] != '#' {
		return 0, false
	}
	n, err := strconv.ParseUint(v[1:], 16, 32)
	return uint32(n), err == nil
}

// value returns the option's text: as given, else its default.
func (o Options) value(name string) string {
	if v, ok := o.set[name]; ok {
		return v
	}
	for _, d := range o.decl {
		if d.Name == name {
			return d.Default
		}
	}
	return ""
}

// Has reports whether the client gave the option.
func (o Options) Has(name string) bool {
	_, ok := o.set[name]
	return ok
}

// Int returns an OptionInt's value, or its default.
func (o Options) Int(name string) int64 {
	n, _ := strconv.ParseInt(o.value(name), 10, 64)
	return n
}

// String returns an option's text (an OptionString or OptionEnum), or its
// default.
func (o Options) String(name string) string { return o.value(name) }

// Bool returns an OptionBool's value, or its default.
func (o Options) Bool(name string) bool {
	b, _ := strconv.ParseBool(o.value(name))
	return b
}

// Color returns an OptionColor's value as 0xRRGGBB, or its default.
func (o Options) Color(name string) uint32 {
	c, _ := parseColor(o.value(name))
	return c
}

// Equal reports whether every declared option has the same value in o
// and p, defaults included: two rooms of one mode play alike.
func (o Options) Equal(p Options) bool {
	names := make(map[string]bool)
	for _, d := range o.decl {
		names[d.Name] = true
	}
	for _, d := range p.decl {
		names[d.Name] = true
	}
	for name := range names {
		if o.value(name) != p.value(name) {
			return false
		}
	}
	return true
}

// Public returns the options the client gave, in canonical text, but for
// those the mode marks Secret: what room lists may show.
func (o Options) Public() map[string]string {
	m := make(map[string]string, len(o.set))
	for k, v := range o.set {
		if !o.secret(k) {
			m[k] = v
		}
	}
	return m
}

// HasSecret reports whether the client gave an option the mode marks
// Secret.
func (o Options) HasSecret() bool {
	for k := range o.set {
		if o.secret(k) {
			return true
		}
	}
	return false
}

func (o Options) secret(name string) bool {
	i := slices.IndexFunc(o.decl, func(d Option) bool { return d.Name == name })
	return i >= 0 && o.decl[i].Secret
}

// Map returns the options the client gave, in canonical text.
func (o Options) Map() map[string]string {
	m := make(map[string]string, len(o.set))
	for k, v := range o.set {
		m[k] = v
	}
	return m
}
