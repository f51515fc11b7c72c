package game

import (
	"bytes"
	"log/slog"
	"strings"
	"testing"
)

func TestEventsQueueAndValidation(t *testing.T) {
	var logs bytes.Buffer
	q := NewEvents(slog.New(slog.NewTextHandler(&logs, nil)))
	buf := []byte(`{"a":1}`)
	q.To(7, Event{Type: "hit", Data: buf})
	buf[2] = 'b' // the game reuses its buffer: the queued event must not change
	q.ToPlayers([]PlayerID{1, 2}, Event{Type: "team_win"})
	q.ToPlayers(nil, Event{Type: "nobody"})
	for _, bad := range []Event{
		{Type: ""},
		{Type: "Upper"},
		{Type: strings.Repeat("a", MaxEventType+1)},
		{Type: "x", Data: []byte(`[1]`)},
		{Type: "x", Data: []byte(`null`)},
		{Type: "x", Data: []byte(`{"a":`)},
		{Type: "x", Data: []byte(`{"a":"` + strings.Repeat("a", MaxEventData) + `"}`)},
	} {
		q.ToAll(bad)
	}
	q.ToAll(Event{Type: "a_1", Data: []byte(`{}`)})
	got := q.Take()
	if len(got) != 3 {
		t.Fatalf("queued %d events, want 3: %+v", len(got), got)
	}
	if got[0].To[0] != 7 || string(got[0].Event.Data) != `{"a":1}` {
		t.Errorf("first event %+v", got[0])
	}
	if len(got[1].To) != 2 || string(got[1].Event.Data) != `{}` {
		t.Errorf("second event %+v: empty data must become {}", got[1])
	}
	if got[2].To != nil || got[2].Event.Type != "a_1" {
		t.Errorf("third event %+v", got[2])
	}
	if n := strings.Count(logs.String(), "level=ERROR"); n != 1 {
		t.Errorf("%d error logs for invalid events, want 1: %s", n, logs.String())
	}
	if len(q.Take()) != 0 {
		t.Error("Take did not empty the queue")
	}
	var nilQ *Events
	nilQ.ToAll(Event{Type: "x"}) // must not panic
	if nilQ.Take() != nil {
		t.Error("a nil queue returned events")
	}
}
