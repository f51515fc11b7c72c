package game

import (
	"fmt"
	"regexp"
	"time"

	"github.com/robfig/cron/v3"
)

// Board is a leaderboard a mode feeds: when one of its games ends, each
// player with an account submits the standing's Stat to the board.
type Board struct {
	// ID names the board in the API: [a-z0-9_-]{1,32}, unique across the
	// server's modes.
	ID string
	// Stat is the standing's value submitted: "score" (Standing.Score),
	// "win" (1 for the first place, 0 for the others), or a key of
	// Standing.Stats. Empty: "score".
	Stat string
	// Order is "desc" (higher is better; the default) or "asc" (lower is
	// better: a race's time).
	Order string
	// Operator is how a submission meets the score already there: "best"
	// (the default) keeps the better of the two, "set" replaces it, and
	// "incr" adds to it (wins, kills over a season).
	Operator string
	// Reset is when a new season starts: "never" (the default), "daily",
	// "weekly" (Monday), "monthly", all at 00:00 UTC, or a cron
	// expression of five fields (robfig/cron's standard parser; a
	// CRON_TZ= prefix names its zone, UTC otherwise). Past seasons are
	// kept.
	Reset string
}

var boardID = regexp.MustCompile(`^[a-z0-9_-]{1,32}$`)

// Normalized returns b with its defaults filled in.
func (b Board) Normalized() Board {
	if b.Stat == "" {
		b.Stat = "score"
	}
	if b.Order == "" {
		b.Order = "desc"
	}
	if b.Operator == "" {
		b.Operator = "best"
	}
	if b.Reset == "" {
		b.Reset = "never"
	}
	return b
}

// Check says what is wrong with a board's declaration, if anything.
func (b Board) Check() error {
	b = b.Normalized()
	if !boardID.MatchString(b.ID) {
		return fmt.Errorf("board %q: an ID is 1 to 32 of a-z, 0-9, _ and -", b.ID)
	}
	switch b.Order {
	case "desc", "asc":
	default:
		return fmt.Errorf("board %s: order %q is neither desc nor asc", b.ID, b.Order)
	}
	switch b.Operator {
	case "best", "set", "incr":
	default:
		return fmt.Errorf("board %s: operator %q is none of best, set, incr", b.ID, b.Operator)
	}
	if _, err := ParseReset(b.Reset); err != nil {
		return fmt.Errorf("board %s: %w", b.ID, err)
	}
	return nil
}

// Reset is a board's schedule of seasons.
type Reset struct {
	spec  string
	sched cron.Schedule // nil: never
}

// The named schedules, as cron expressions in UTC. A week starts on
// Monday (ISO 8601), not on cron's @weekly Sunday.
var namedResets = map[string]string{
	"daily":   "0 0 * * *",
	"weekly":  "0 0 * * 1",
	"monthly": "0 0 1 * *",
}

// ParseReset parses a Board's Reset.
func ParseReset(spec string) (Reset, error) {
	if spec == "" || spec == "never" {
		return Reset{spec: "never"}, nil
	}
	expr := spec
	if named, ok := namedResets[spec]; ok {
		expr = named
	}
	s, err := cron.ParseStandard(expr)
	if err != nil {
		return Reset{}, fmt.Errorf("reset %q is neither never, daily, weekly, monthly nor a cron expression: %v", spec, err)
	}
	// A schedule that never fires (February 30) would leave every
	// submission in a season that never starts.
	if s.Next(time.Date(2000, 1, 1, 0, 0, 0, 0, time.UTC)).IsZero() {
		return Reset{}, fmt.Errorf("reset %q never fires", spec)
	}
	return Reset{spec: spec, sched: s}, nil
}

// String returns the schedule as it was written.
func (r Reset) String() string { return r.spec }

// maxSeason is how far back Season looks for a schedule's last start:
// robfig/cron's Next looks five years ahead, and so does this.
const maxSeason = 5 * 366 * 24 * time.Hour

// Season returns the start of the season t falls in: the schedule's
// latest firing at or before t. A board that never resets has one
// season, which starts at the zero Unix time. Seasons are named by their
// start, so a submission lands in the season of its own time, whatever
// the clock says when it is written: one made across a reset is in
// exactly one season.
func (r Reset) Season(t time.Time) time.Time {
	if r.sched == nil {
		return time.Unix(0, 0).UTC()
	}
	t = t.UTC().Truncate(time.Second)
	// The latest firing f <= t is Next(x) for the largest x with
	// Next(x) <= t (Next is strictly after x, to the second, and never
	// decreases as x grows): bisect x over the window before t, in
	// seconds, which takes some 28 steps where walking the firings from
	// five years back could take millions.
	lo, hi := t.Add(-maxSeason), t // Next(lo) <= t is to be found; Next(hi) > t always
	if n := r.sched.Next(lo); n.IsZero() || n.After(t) {
		return time.Unix(0, 0).UTC() // no firing within the window: the first season
	}
	for hi.Sub(lo) > time.Second {
		mid := lo.Add(hi.Sub(lo) / 2).Truncate(time.Second)
		if mid.Equal(lo) {
			break
		}
		if n := r.sched.Next(mid); !n.IsZero() && !n.After(t) {
			lo = mid
		} else {
			hi = mid
		}
	}
	return r.sched.Next(lo).UTC()
}

// Next returns the start of the season after the one t falls in; the
// zero time for a board that never resets.
func (r Reset) Next(t time.Time) time.Time {
	if r.sched == nil {
		return time.Time{}
	}
	return r.sched.Next(t.UTC()).UTC()
}
