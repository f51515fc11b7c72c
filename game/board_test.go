package game

import (
	"strings"
	"testing"
	"time"
)

func TestBoardCheck(t *testing.T) {
	ok := []Board{
		{ID: "kills"},
		{ID: "a_b-9", Stat: "win", Order: "asc", Operator: "incr", Reset: "weekly"},
		{ID: "c", Reset: "*/15 * * * *"},
		{ID: "d", Reset: "CRON_TZ=Europe/Paris 0 6 * * 1-5"},
	}
	for _, b := range ok {
		if err := b.Check(); err != nil {
			t.Errorf("%+v: %v", b, err)
		}
	}
	bad := map[string]Board{
		"ID":       {ID: "Kills"},
		"ID ":      {ID: ""},
		"order":    {ID: "a", Order: "up"},
		"operator": {ID: "a", Operator: "max"},
		"reset":    {ID: "a", Reset: "hourly-ish"},
		"fires":    {ID: "a", Reset: "0 0 30 2 *"},
	}
	for what, b := range bad {
		if err := b.Check(); err == nil {
			t.Errorf("%s: %+v passed", what, b)
		}
	}
	m := Mode{Name: "m", New: func(Config) Game { return nil }, Boards: []Board{{ID: "x"}, {ID: "x"}}}
	if err := m.Check(); err == nil || !strings.Contains(err.Error(), "twice") {
		t.Errorf("a board declared twice: %v", err)
	}
	m.Boards = []Board{{ID: "x", Operator: "nope"}}
	if err := m.Check(); err == nil {
		t.Error("a mode with a bad board passed")
	}
}

func TestResetSeason(t *testing.T) {
	at := func(s string) time.Time {
		v, err := time.Parse(time.RFC3339Nano, s)
		if err != nil {
			t.Fatal(err)
		}
		return v
	}
	for _, c := range []struct{ reset, t, season, next string }{
		{"never", "2026-12-08T04:05:06Z", "1970-01-01T00:00:00Z", ""},
		{"daily", "2026-12-08T04:05:06Z", "2026-12-08T00:00:00Z", "2026-12-09T00:00:00Z"},
		{"daily", "2026-12-08T00:00:00Z", "2026-12-08T00:00:00Z", "2026-12-09T00:00:00Z"},
		{"daily", "2026-12-07T23:59:59.999999Z", "2026-12-07T00:00:00Z", "2026-12-08T00:00:00Z"},
		{"daily", "2026-12-08T05:00:00+06:00", "2026-12-07T00:00:00Z", "2026-12-08T00:00:00Z"},
		{"weekly", "2026-12-08T04:05:06Z", "2026-12-07T00:00:00Z", "2026-12-14T00:00:00Z"}, // a Tuesday: the week began Monday
		{"weekly", "2026-12-06T23:00:00Z", "2026-11-30T00:00:00Z", "2026-12-07T00:00:00Z"}, // a Sunday is the week's last day
		{"monthly", "2026-12-08T04:05:06Z", "2026-12-01T00:00:00Z", "2027-01-01T00:00:00Z"},
		{"monthly", "2027-03-01T00:00:00Z", "2027-03-01T00:00:00Z", "2027-04-01T00:00:00Z"},
		{"*/15 * * * *", "2026-12-08T04:05:06Z", "2026-12-08T04:00:00Z", "2026-12-08T04:15:00Z"},
		{"0 0 29 2 *", "2026-12-08T04:05:06Z", "2024-02-29T00:00:00Z", "2028-02-29T00:00:00Z"}, // years apart
		{"CRON_TZ=Asia/Tokyo 0 0 * * *", "2026-12-08T16:00:00Z", "2026-12-08T15:00:00Z", "2026-12-09T15:00:00Z"},
	} {
		r, err := ParseReset(c.reset)
		if err != nil {
			t.Fatal(err)
		}
		if got := r.Season(at(c.t)); !got.Equal(at(c.season)) {
			t.Errorf("%s: Season(%s) = %s, want %s", c.reset, c.t, got, c.season)
		}
		next := r.Next(at(c.t))
		if (c.next == "" && !next.IsZero()) || (c.next != "" && !next.Equal(at(c.next))) {
			t.Errorf("%s: Next(%s) = %s, want %s", c.reset, c.t, next, c.next)
		}
	}
}
