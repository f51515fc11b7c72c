package room

import "time"

// Settings are a room's limits and timings. One struct carries them from
// the flags to the room: server.Config.Room, ManagerConfig.Room (for every
// room of the manager) and a room's own Config. DefaultSettings are what
// arena runs with; a zero field means no limit (TickRate: the default).
type Settings struct {
	// TickRate is ticks per second.
	TickRate int
	// Capacity is the most players a room holds (connected or away): a
	// manager's rooms hold the smaller of it and their mode's MaxPlayers.
	// Zero means no limit.
	Capacity int
	// ResumeGrace is how long a player whose connection dropped stays in
	// the room, waiting to resume. Zero removes it at once.
	ResumeGrace time.Duration
	// IdleTimeout is how long a room lives with nobody in it before it
	// asks to be retired (Host.Idle), unless its mode says otherwise
	// (game.Mode.IdleTimeout, KeepAlive) or its manager keeps it. Zero:
	// for ever.
	IdleTimeout time.Duration
	// MaxSeatsPerAddr bounds the seats (connected or away) one address
	// holds in a room, so that one address cannot fill it with players
	// that dropped their connection. Away players count until their
	// resume grace ends. Zero means no limit.
	MaxSeatsPerAddr int
	// MaxSpectators bounds a room's spectators (JoinRequest.Watch), who
	// hold no seat; past it a watch is refused with ErrTooManySpectators.
	// Zero means no limit.
	MaxSpectators int
}

// DefaultSettings returns the settings arena runs with out of the box
// (server.DefaultConfig): safe to expose, generous enough for real games.
func DefaultSettings() Settings {
	return Settings{
		TickRate:        20,
		Capacity:        1000,
		ResumeGrace:     20 * time.Second,
		IdleTimeout:     30 * time.Second,
		MaxSeatsPerAddr: 50,
		MaxSpectators:   100,
	}
}
