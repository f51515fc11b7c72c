package blasters

import (
	"math"
	"strconv"

	"github.com/arena-server/arena/game"
)

// sub is the bullets' sub-unit precision: they fly in 1/256 world units,
// so that a shot goes where it was aimed however far it flies.
const sub = 8

type bullet struct {
	n      uint32 // its entity ID is game.ItemID(n)
	owner  game.PlayerID
	x, y   int32 // in 1/256 units
	vx, vy int32 // 1/256 units a tick
	angle  int32 // milliradians, for clients to draw it
	life   game.Timer
}

// velocity returns a bullet's step for an aim in milliradians. Rounding to
// integers here keeps the flight itself exact integer arithmetic, so a
// saved game replays identically on any machine.
func velocity(aim int32) (vx, vy int32) {
	s, c := math.Sincos(float64(aim) / 1000)
	return int32(math.Round(c * BulletSpeed * (1 << sub))), int32(math.Round(s * BulletSpeed * (1 << sub)))
}

// fire shoots a bullet for player id if it is alive and ready, judged
// behind ticks in the past (see the package doc on lag compensation).
func (g *Blasters) fire(id game.PlayerID, behind int) {
	i, found := g.find(id)
	if !found {
		return
	}
	p := &g.players[i]
	if !p.target() || p.cool.Running() {
		return
	}
	p.cool = game.After(FireCooldown, g.cfg.TickRate)
	b := bullet{n: g.nextShot, owner: id, x: p.x << sub, y: p.y << sub, angle: p.aim,
		life: game.After(BulletLife, g.cfg.TickRate)}
	b.vx, b.vy = velocity(p.aim)
	g.nextShot++
	// A shooter cannot have seen further back than the game remembers, nor
	// before the game began.
	behind = max(0, min(behind, g.rewind, int(g.tick)-1))
	for ago := behind - 1; ago >= 0; ago-- {
		if !g.fly(&b, ago) {
			return
		}
	}
	g.bullets = append(g.bullets, b)
}

// flyAll moves every bullet in flight one tick, in the present, and drops
// those that hit something or flew their course.
func (g *Blasters) flyAll() {
	kept := g.bullets[:0]
	for _, b := range g.bullets {
		if g.fly(&b, 0) {
			kept = append(kept, b)
		}
	}
	g.bullets = kept
}

// fly moves b one tick, judged against where the players stood ago ticks
// before this one, and reports whether it flies on.
func (g *Blasters) fly(b *bullet, ago int) bool {
	if v := g.struck(b, ago); v >= 0 {
		g.hit(b.owner, v)
		return false
	}
	b.x += b.vx
	b.y += b.vy
	if b.x < 0 || b.y < 0 || b.x > Size<<sub || b.y > Size<<sub {
		return false
	}
	for i := range walls {
		w := &walls[i]
		if b.x >= w.MinX<<sub && b.x <= w.MaxX<<sub && b.y >= w.MinY<<sub && b.y <= w.MaxY<<sub {
			return false
		}
	}
	return !b.life.Tick()
}

// struck returns the index of the player that b's next step passes within
// HitRadius of, the first along its path (on a tie the lower ID), as the
// players stood ago ticks before this one; or -1. A player is hit only if
// it could be hit both then and now: nobody dies twice, and nobody is hit
// where they stood before they respawned or came back.
func (g *Blasters) struck(b *bullet, ago int) int {
	when := g.tick - uint64(ago)
	const r = int64(HitRadius) << sub
	x0, y0, vx, vy := int64(b.x), int64(b.y), int64(b.vx), int64(b.vy)
	dd := vx*vx + vy*vy
	best, bestAlong := -1, int64(0)
	for i := range g.players {
		p := &g.players[i]
		if p.id == b.owner || !p.target() {
			continue
		}
		then := &p.history[when%uint64(len(p.history))]
		if then.tick != when || !then.target {
			continue
		}
		wx, wy := int64(then.x)<<sub-x0, int64(then.y)<<sub-y0
		// Beyond reach of the whole step: also keeps the products below
		// small enough for int64.
		if wx > r+abs(vx) || -wx > r+abs(vx) || wy > r+abs(vy) || -wy > r+abs(vy) {
			continue
		}
		along := wx*vx + wy*vy
		var near bool
		switch {
		case along <= 0: // the start is the nearest point
			near = wx*wx+wy*wy <= r*r
		case along >= dd: // the end is
			ex, ey := wx-vx, wy-vy
			near = ex*ex+ey*ey <= r*r
		default: // the distance to the line, squared, is cross²/dd
			cross := wx*vy - wy*vx
			near = cross*cross <= r*r*dd
		}
		if near && (best < 0 || along < bestAlong) {
			best, bestAlong = i, along
		}
	}
	return best
}

func abs(v int64) int64 {
	if v < 0 {
		return -v
	}
	return v
}

// hit takes Damage from players[v], shot by shooter, and scores it.
func (g *Blasters) hit(shooter game.PlayerID, v int) {
	victim := &g.players[v]
	victim.health = max(victim.health-Damage, 0)
	s, found := g.find(shooter)
	if found {
		g.players[s].score += ScorePerHit
	}
	g.pair = [2]game.PlayerID{shooter, victim.id}
	g.send(g.pair[:], "hit", "shooter", int64(shooter), "victim", int64(victim.id), "health", int64(victim.health))
	if victim.health > 0 {
		return
	}
	victim.deaths++
	victim.respawn = game.After(RespawnDelay, g.cfg.TickRate)
	if found {
		g.players[s].kills++
		g.players[s].score += ScorePerKill
	}
	g.send(nil, "kill", "killer", int64(shooter), "victim", int64(victim.id), "", 0)
}

// send sends an event whose data is an object of up to three integers
// (an empty key ends the list) to the players to, or to all if to is nil.
// It builds the data in a reused buffer, so that a tick of shooting
// allocates nothing in the game.
func (g *Blasters) send(to []game.PlayerID, typ string, k1 string, v1 int64, k2 string, v2 int64, k3 string, v3 int64) {
	if g.cfg.Events == nil {
		return
	}
	b := append(g.buf[:0], '{')
	for _, kv := range [...]struct {
		k string
		v int64
	}{{k1, v1}, {k2, v2}, {k3, v3}} {
		if kv.k == "" {
			break
		}
		if len(b) > 1 {
			b = append(b, ',')
		}
		b = append(b, '"')
		b = append(b, kv.k...)
		b = append(b, '"', ':')
		b = strconv.AppendInt(b, kv.v, 10)
	}
	b = append(b, '}')
	g.buf = b
	e := game.Event{Type: typ, Data: b}
	if to == nil {
		g.cfg.Events.ToAll(e)
	} else {
		g.cfg.Events.ToPlayers(to, e)
	}
}
