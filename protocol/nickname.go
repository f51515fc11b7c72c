package protocol

import (
	"fmt"
	"strings"
	"unicode"
	"unicode/utf8"
)

// MaxNameLength is the longest nickname (or account name), in characters.
const MaxNameLength = 16

// maxMarksInARow bounds the combining marks (Mn, Me) after one character.
// Two are as many as a written language stacks on a letter (Vietnamese ệ
// decomposed, Thai กี่); more is "Zalgo" text, which draws over the lines
// around the name.
const maxMarksInARow = 2

// Nickname validates a player's chosen name. Names are shown to others, so
// they are short, printable and can be seen and read: no invisible
// characters (a name of Hangul fillers looks empty; one with a bidi
// override reads backwards), no stacks of combining marks, no glyphs wider
// than a line. Clients still render names as text, never as markup.
func Nickname(name string) (string, error) {
	name = strings.TrimSpace(name)
	if !utf8.ValidString(name) {
		return "", badName("names must be valid UTF-8")
	}
	if utf8.RuneCountInString(name) > MaxNameLength {
		return "", badName(fmt.Sprintf("names are at most %d characters", MaxNameLength))
	}
	if name == "" {
		return "", nil // no name: the game gives one
	}
	// The first character is neither a space (trimmed), nor invisible,
	// nor a mark: it is a letter, digit, symbol or punctuation mark that
	// can be seen, so every name this accepts has one.
	marks := 0
	for i, r := range name {
		switch {
		case invisible(r):
			return "", badName(fmt.Sprintf("names may not hold invisible characters, such as %U", r))
		case !unicode.IsPrint(r):
			// Controls, spaces other than ' ', private-use, surrogate and
			// unassigned code points.
			return "", badName(fmt.Sprintf("names may only hold printable characters; %U is not one", r))
		case tooWide(r):
			return "", badName(fmt.Sprintf("names may not hold %U, which is drawn wider than a name's place", r))
		case i == 0 && unicode.IsMark(r):
			return "", badName("names may not start with a combining mark")
		case unicode.In(r, unicode.Mn, unicode.Me):
			if marks++; marks > maxMarksInARow {
				return "", badName(fmt.Sprintf("names may hold at most %d combining marks in a row", maxMarksInARow))
			}
			continue
		}
		marks = 0
	}
	return name, nil
}

func badName(msg string) error {
	return &Error{Code: CodeBadRequest, Message: msg}
}

// invisible reports whether r draws nothing, though some of these count as
// letters or symbols: format characters (zero-width spaces and joiners,
// bidi controls, tags), the other default-ignorable code points, the
// Hangul fillers, and the blank Braille cell.
func invisible(r rune) bool {
	switch r {
	case 0x115F, 0x1160, 0x3164, 0xFFA0, // Hangul fillers
		0x2800: // Braille pattern blank
		return true
	}
	return unicode.In(r, unicode.Cf, unicode.Other_Default_Ignorable_Code_Point)
}

// tooWide reports whether r is one of the few glyphs that fonts draw many
// times wider than a letter, so that one of them spills over whatever is
// beside a name.
func tooWide(r rune) bool {
	switch r {
	case 0xFDFA, 0xFDFB, 0xFDFD, 0xFDFE, 0xFDFF, // Arabic ligatures of whole phrases
		0x12219, 0x1242B, // cuneiform signs
		0xA9C5,         // Javanese pada luhur
		0x2E3A, 0x2E3B: // two- and three-em dashes
		return true
	}
	return false
}
