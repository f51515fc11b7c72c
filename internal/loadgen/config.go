// Package loadgen simulates players of a real-time game server over real
// WebSockets and measures what players feel: how often the world updates,
// how long a key press takes to show, and whether they get thrown out.
//
// Most players only count the bytes and messages they receive: they never
// decode a state, so that the generator is not the bottleneck. A few probe
// players measure input-to-visible latency the way the Colyseus anchor's
// driver does, so that the figures compare: every 300–700 ms a probe sends
// one move and times until the first state in which its own position
// changed, finding its own entry in the state without decoding the rest.
package loadgen

import (
	"errors"
	"fmt"
	"io"
	"net"
	"time"
)

// Behaviour is what the players that are not probes do.
type Behaviour uint8

// Behaviours.
const (
	// Hold holds one key: a move in the same direction every tick interval,
	// on a fixed schedule with a random phase per player.
	Hold Behaviour = iota
	// Walk is Hold, but each move turns to a random direction with
	// probability 1/20, as the Colyseus anchor's driver does.
	Walk
	// Idle sends nothing.
	Idle
)

var behaviourNames = [...]string{"hold", "walk", "idle"}

func (b Behaviour) String() string {
	if int(b) < len(behaviourNames) {
		return behaviourNames[b]
	}
	return fmt.Sprintf("Behaviour(%d)", b)
}

// ParseBehaviour returns the behaviour called s.
func ParseBehaviour(s string) (Behaviour, error) {
	for i, n := range behaviourNames {
		if n == s {
			return Behaviour(i), nil
		}
	}
	return 0, fmt.Errorf("unknown behaviour %q: want hold, walk or idle", s)
}

// Config describes one load run.
type Config struct {
	// URL is the server's WebSocket address, e.g. ws://127.0.0.1:8765/.
	URL      string
	Protocol Protocol
	// Players is how many simulated players connect.
	Players int
	// Rooms spreads the players over this many rooms, bench-0 … bench-R-1,
	// round robin. 1 uses the server's default room.
	Rooms int
	// Probes is how many players measure latency (the first ones to
	// connect). They count towards Players.
	Probes    int
	Behaviour Behaviour
	// Moving is the fraction of the players that are not probes that do
	// what Behaviour says; the others are idle. Default (0) means all.
	Moving float64
	// Ramp spreads the connections evenly over this long.
	Ramp time.Duration
	// Warmup is how long to wait after the ramp before measuring.
	Warmup time.Duration
	// Duration is the measured window.
	Duration time.Duration
	// MoveInterval is how often a holding player sends a move: the
	// server's tick interval. Default 50 ms.
	MoveInterval time.Duration
	// ServerPID, if not zero, is the server process whose CPU and peak RSS
	// are reported.
	ServerPID int
	// Compress offers permessage-deflate, as browsers do. Servers that
	// accept it compress what they send and every player decompresses
	// every message, so the generator works harder. Off by default, as the
	// Colyseus anchor's driver does not offer it either.
	Compress bool
	// Fire has the players of a protocol that can (the native one) hold the
	// action button as they move, aiming a new way at each turn: a
	// shooter's bots (blasters) that fire as they go.
	Fire bool
	// Seed seeds every random choice (phases, directions, probe timing).
	Seed uint64
	// Label names the run in the results.
	Label string
	// LocalAddr, if set, is the source IP every player dials from (a
	// loopback address such as 127.0.0.2), so that a run can play the
	// victims of an attack from another address.
	LocalAddr string
	// Room, if set, puts every player in this one room, overriding Rooms.
	Room string
	// Progress receives a line per second; nil for none.
	Progress io.Writer
}

func (c *Config) validate() error {
	switch {
	case c.URL == "":
		return errors.New("no server URL")
	case c.Protocol == nil:
		return errors.New("no protocol")
	case c.Players < 1:
		return fmt.Errorf("players %d: want at least 1", c.Players)
	case c.Rooms < 1:
		return fmt.Errorf("rooms %d: want at least 1", c.Rooms)
	case c.Probes < 0:
		return fmt.Errorf("probes %d: want 0 or more", c.Probes)
	case c.Ramp < 0 || c.Warmup < 0:
		return errors.New("ramp and warmup must not be negative")
	case c.Duration <= 0:
		return errors.New("duration must be positive")
	case c.MoveInterval < 0:
		return errors.New("move interval must not be negative")
	}
	if c.Behaviour > Idle {
		return fmt.Errorf("behaviour %d unknown", c.Behaviour)
	}
	if c.MoveInterval == 0 {
		c.MoveInterval = 50 * time.Millisecond
	}
	if c.Moving < 0 || c.Moving > 1 {
		return fmt.Errorf("moving %v: want a fraction in (0, 1]", c.Moving)
	}
	if c.Moving == 0 {
		c.Moving = 1
	}
	if c.LocalAddr != "" && net.ParseIP(c.LocalAddr) == nil {
		return fmt.Errorf("local address %q is not an IP address", c.LocalAddr)
	}
	c.Probes = min(c.Probes, c.Players)
	if _, err := c.Protocol.URL(c.URL, ""); err != nil {
		return err
	}
	return nil
}

// roomName is the room of player i.
func (c *Config) roomName(i int) string {
	if c.Room != "" {
		return c.Room
	}
	if c.Rooms <= 1 {
		return ""
	}
	return fmt.Sprintf("bench-%d", i%c.Rooms)
}
