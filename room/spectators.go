package room

import (
	"slices"

	"github.com/arena-server/arena/game"
)

// watch adds a spectator (JoinRequest.Watch) and welcomes it. Spectators
// take no seat, but they cost the room a delivery each tick: a box or a
// room too loaded for new players takes no new spectators either.
func (r *Room) watch(req JoinRequest) error {
	c := req.Client
	if err := r.loaded(); err != nil {
		return err
	}
	if _, ok := r.game.(game.Viewer); ok {
		if _, ok := r.game.(game.WatcherViewer); !ok {
			return ErrNoSpectators
		}
	}
	if lim := r.cfg.MaxSpectators; lim > 0 && len(r.watchers) >= lim {
		return ErrTooManySpectators
	}
	r.watchers = append(r.watchers, c)
	r.stats.spectators.Store(int64(len(r.watchers)))
	seated := r.seated(0, "", false)
	if req.Account != "" {
		seated.Account, seated.Name = req.Account, req.Name
	}
	c.Event(seated)
	return nil
}

// unwatch removes a spectator whose connection ended. It holds nothing,
// so it is simply gone: no grace, nothing to resume.
func (r *Room) unwatch(c Client) {
	if i := slices.Index(r.watchers, c); i >= 0 {
		r.watchers = slices.Delete(r.watchers, i, i+1)
		r.stats.spectators.Store(int64(len(r.watchers)))
	}
}

// watcherView is the key of what spectators see this tick: the game's
// choice if it is a game.WatcherViewer, else the one view of a game that
// shows everyone everything.
func (r *Room) watcherView() game.ViewKey {
	if w, ok := r.game.(game.WatcherViewer); ok {
		return w.WatcherView()
	}
	return 0
}

// broadcast sends ev to every connected player and every spectator.
func (r *Room) broadcast(ev GameEvent) {
	for _, m := range r.members {
		if m.client != nil {
			m.client.Event(ev)
		}
	}
	for _, c := range r.watchers {
		c.Event(ev)
	}
}
