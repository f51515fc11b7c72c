package e2e

import (
	"encoding/json"
	"errors"
	"fmt"
	"strings"
	"testing"
	"time"

	"github.com/arena-server/arena/arenatest"
	"github.com/arena-server/arena/game"
	"github.com/arena-server/arena/games/dots"
	"github.com/arena-server/arena/server"
)

// emitMode is dots with one game message, "emit" {"type":…, "data":{…}},
// which the game sends back to the whole room as that event: a mode the
// page was not written for, sending events of any name.
var emitMode = game.Mode{
	Name:     "emit",
	Kinds:    dots.Kinds,
	Messages: []game.MessageType{{Name: "emit", MaxBytes: 256}},
	New: func(cfg game.Config) game.Game {
		return &emitGame{Dots: dots.New(cfg), events: cfg.Events}
	},
}

type emitGame struct {
	*dots.Dots
	events *game.Events
}

func (g *emitGame) Message(m game.Message) error {
	var e struct {
		Type string          `json:"type"`
		Data json.RawMessage `json:"data"`
	}
	if err := json.Unmarshal(m.Data, &e); err != nil || e.Type == "" {
		return errors.New(`emit takes {"type": …, "data": {…}}`)
	}
	g.events.ToAll(game.Event{Type: e.Type, Data: e.Data})
	return nil
}

// TestPageShowsEventsItDoesNotKnow: an event of a mode the page has no
// words for shows as its type and fields, even when blasters has an event
// of the same name; blasters' own events keep blasters' words.
func TestPageShowsEventsItDoesNotKnow(t *testing.T) {
	srv := arenatest.Start(t, arenatest.Options{Config: func(c *server.Config) { c.Modes = append(c.Modes, emitMode) }})
	tb, id := openArena(t, srv, "/?room=e2e-emit&mode=emit")
	if mode := eval[string](tb, `window.arena.mode`); mode != "emit" {
		t.Fatalf("the page plays %q; want emit", mode)
	}
	eval[bool](tb, `window.arena.client.send('emit', { type: 'round_start', data: { level: 2, name: 'bonus' } })`)
	eval[bool](tb, fmt.Sprintf(`window.arena.client.send('emit', { type: 'kill', data: { killer: %d, victim: %d } })`, id, id))
	waitFor(tb, "both events in the feed", `document.getElementById('feed').children.length >= 2`, 5*time.Second)
	feed := eval[[]string](tb, `[...document.getElementById('feed').children].map((li) => li.textContent)`)
	want := []string{"round_start level=2 name=bonus", fmt.Sprintf("kill killer=%d victim=%d", id, id)}
	if strings.Join(feed, "|") != strings.Join(want, "|") {
		t.Errorf("the feed shows %q; want %q", feed, want)
	}

	// The wording itself, mode by mode.
	got := eval[[]string](tb, `import('/js/events.js').then(({ eventLine }) => {
		const nameOf = (id) => id === 1 ? 'you' : '#' + id;
		return [
			eventLine('blasters', 'round_start', { round: 3, seconds: 180 }, nameOf),
			eventLine('blasters', 'kill', { killer: 1, victim: 2 }, nameOf),
			eventLine('blasters', 'shrink', { radius: 300 }, nameOf),
			eventLine('tag', 'tagged', { it: 2, by: 1 }, nameOf),
			eventLine('tag', 'you_are_it', { by: 1 }, nameOf),
			eventLine('coins', 'round_start', {}, nameOf),
			eventLine('coins', 'said', 'hi', nameOf),
			eventLine('coins', 'toString', { a: [1, 2] }, nameOf),
		].map(String);
	})`)
	wantLines := []string{"Round 3: go!", "you blasted #2", "shrink radius=300", "you tagged #2", "null", "round_start", `said "hi"`, "toString a=[1,2]"}
	if strings.Join(got, "|") != strings.Join(wantLines, "|") {
		t.Errorf("event lines %q; want %q", got, wantLines)
	}
}
