package blasters

import (
	"encoding/json"
	"errors"
	"fmt"
	"time"

	"github.com/arena-server/arena/game"
)

// stateVersion is the version of Export's JSON. Import refuses others: a
// newer server reads an older state by converting it, never by guessing.
const stateVersion = 1

// Timers are saved as the ticks they have left (0: stopped).

type savedPast struct {
	Tick   uint64 `json:"tick"`
	X      int32  `json:"x"`
	Y      int32  `json:"y"`
	Target bool   `json:"target,omitempty"`
}

type savedPlayer struct {
	ID      game.PlayerID `json:"id"`
	Name    string        `json:"name"`
	X       int32         `json:"x"`
	Y       int32         `json:"y"`
	Color   uint32        `json:"color"`
	Aim     int32         `json:"aim"`
	Health  int32         `json:"health"`
	Score   int32         `json:"score"`
	Kills   int32         `json:"kills"`
	Deaths  int32         `json:"deaths"`
	Away    bool          `json:"away,omitempty"`
	Life    uint8         `json:"life"`
	Cool    int           `json:"cool"`
	Respawn int           `json:"respawn"`
	History []savedPast   `json:"history"`
}

type savedBullet struct {
	N     uint32        `json:"n"`
	Owner game.PlayerID `json:"owner"`
	X     int32         `json:"x"`
	Y     int32         `json:"y"`
	VX    int32         `json:"vx"`
	VY    int32         `json:"vy"`
	Angle int32         `json:"angle"`
	Life  int           `json:"life"`
}

type saved struct {
	Version  int           `json:"version"`
	Tick     uint64        `json:"tick"`
	Phase    string        `json:"phase"`
	Round    int           `json:"round"`
	PhaseEnd int           `json:"phase_end"`
	Second   int           `json:"second"`
	NextShot uint32        `json:"next_shot"`
	Players  []savedPlayer `json:"players"`
	Bullets  []savedBullet `json:"bullets"`
}

// Export implements game.Persistent: versioned JSON, with the recent
// positions that lag compensation needs, so that a restored game judges
// shots exactly as the original would have.
func (g *Blasters) Export() ([]byte, error) {
	s := saved{
		Version: stateVersion, Tick: g.tick, Phase: phaseNames[g.phase], Round: g.number,
		PhaseEnd: g.phaseEnd.Ticks(), Second: g.second.Ticks(), NextShot: g.nextShot,
		Players: make([]savedPlayer, len(g.players)), Bullets: make([]savedBullet, len(g.bullets)),
	}
	for i, p := range g.players {
		sp := savedPlayer{ID: p.id, Name: p.name, X: p.x, Y: p.y, Color: p.color, Aim: p.aim,
			Health: p.health, Score: p.score, Kills: p.kills, Deaths: p.deaths, Away: p.away, Life: p.life,
			Cool: p.cool.Ticks(), Respawn: p.respawn.Ticks(), History: make([]savedPast, len(p.history))}
		for j, h := range p.history {
			sp.History[j] = savedPast{h.tick, h.x, h.y, h.target}
		}
		s.Players[i] = sp
	}
	for i, b := range g.bullets {
		s.Bullets[i] = savedBullet{b.n, b.owner, b.x, b.y, b.vx, b.vy, b.angle, b.life.Ticks()}
	}
	return json.Marshal(s)
}

// Import implements game.Persistent. It refuses, and changes nothing, a
// state that the rules could not have produced at this game's tick rate
// and round length.
func (g *Blasters) Import(state []byte) error {
	var s saved
	if err := json.Unmarshal(state, &s); err != nil {
		return fmt.Errorf("blasters: import: %w", err)
	}
	n, err := g.imported(&s)
	if err != nil {
		return fmt.Errorf("blasters: import: %w", err)
	}
	*g = *n
	return nil
}

// imported builds a game from s, or says what is wrong with it.
func (g *Blasters) imported(s *saved) (*Blasters, error) {
	r := g.cfg.TickRate
	n := &Blasters{cfg: g.cfg, rewind: g.rewind, roundLen: g.roundLen, tick: s.Tick, number: s.Round, nextShot: s.NextShot}
	n.phase = -1
	for i, name := range phaseNames {
		if s.Phase == name {
			n.phase = i
		}
	}
	longest := map[int]time.Duration{PhaseCountdown: CountdownSeconds * time.Second, PhasePlaying: g.roundLen, PhaseOver: PauseDelay}[n.phase]
	switch {
	case s.Version != stateVersion:
		return nil, fmt.Errorf("version %d; this server reads %d", s.Version, stateVersion)
	case n.phase < 0:
		return nil, fmt.Errorf("unknown phase %q", s.Phase)
	case s.Round < 1 || s.NextShot < 1 || s.NextShot >= 1<<31:
		return nil, fmt.Errorf("round %d, next shot %d out of range", s.Round, s.NextShot)
	case s.PhaseEnd < 1 || s.PhaseEnd > game.After(longest, r).Ticks():
		return nil, fmt.Errorf("phase %s ends in %d ticks, outside 1..%s", s.Phase, s.PhaseEnd, longest)
	case s.Second < 0 || s.Second > r || (s.Second == 0) != (n.phase != PhaseCountdown):
		return nil, fmt.Errorf("countdown second in %d ticks, in phase %s", s.Second, s.Phase)
	case n.phase != PhasePlaying && len(s.Bullets) > 0:
		return nil, fmt.Errorf("%d bullets fly while the phase is %s", len(s.Bullets), s.Phase)
	}
	n.phaseEnd, n.second = game.AfterTicks(s.PhaseEnd), game.AfterTicks(s.Second)
	n.players = make([]player, len(s.Players))
	for i := range s.Players {
		sp := &s.Players[i]
		if i > 0 && sp.ID <= s.Players[i-1].ID {
			return nil, fmt.Errorf("player %d out of order or repeated", sp.ID)
		}
		p, err := g.importPlayer(sp, s.Tick)
		if err != nil {
			return nil, fmt.Errorf("player %d: %w", sp.ID, err)
		}
		n.players[i] = p
	}
	n.bullets = make([]bullet, len(s.Bullets))
	for i, sb := range s.Bullets {
		if i > 0 && sb.N <= s.Bullets[i-1].N {
			return nil, fmt.Errorf("bullet %d out of order or repeated", sb.N)
		}
		if err := n.checkBullet(&sb); err != nil {
			return nil, fmt.Errorf("bullet %d: %w", sb.N, err)
		}
		n.bullets[i] = bullet{sb.N, sb.Owner, sb.X, sb.Y, sb.VX, sb.VY, sb.Angle, game.AfterTicks(sb.Life)}
	}
	return n, nil
}

func (g *Blasters) importPlayer(sp *savedPlayer, tick uint64) (player, error) {
	r := g.cfg.TickRate
	switch {
	case sp.ID == 0 || uint32(sp.ID) >= game.ItemID(0):
		return player{}, errors.New("id out of range")
	case len(sp.Name) > game.MaxText:
		return player{}, fmt.Errorf("name longer than %d bytes", game.MaxText)
	case !Valid(sp.X, sp.Y):
		return player{}, fmt.Errorf("at (%d, %d), off the field or in a wall", sp.X, sp.Y)
	case sp.Color > 0xffffff:
		return player{}, fmt.Errorf("color %#x is not 0xRRGGBB", sp.Color)
	case sp.Aim < AimMin || sp.Aim > AimMax:
		return player{}, fmt.Errorf("aim %d outside %d..%d", sp.Aim, AimMin, AimMax)
	case sp.Health < 0 || sp.Health > MaxHealth || sp.Score < 0 || sp.Kills < 0 || sp.Deaths < 0:
		return player{}, errors.New("health, score, kills or deaths out of range")
	case sp.Cool < 0 || sp.Cool > game.After(FireCooldown, r).Ticks():
		return player{}, fmt.Errorf("fire cooldown of %d ticks", sp.Cool)
	case sp.Respawn < 0 || sp.Respawn > game.After(RespawnDelay, r).Ticks() || (sp.Respawn > 0) != (sp.Health == 0):
		return player{}, fmt.Errorf("respawn in %d ticks with health %d: the dead, and only they, wait to respawn", sp.Respawn, sp.Health)
	case len(sp.History) != g.rewind+1:
		return player{}, fmt.Errorf("history of %d ticks; want %d at %d ticks a second", len(sp.History), g.rewind+1, r)
	}
	p := player{id: sp.ID, name: sp.Name, x: sp.X, y: sp.Y, color: sp.Color, aim: sp.Aim, health: sp.Health,
		score: sp.Score, kills: sp.Kills, deaths: sp.Deaths, away: sp.Away, life: sp.Life,
		cool: game.AfterTicks(sp.Cool), respawn: game.AfterTicks(sp.Respawn), history: make([]past, len(sp.History))}
	for j, h := range sp.History {
		// An entry is the ring's slot for its tick, of a recent tick;
		// zero is an empty slot.
		if h != (savedPast{}) && (h.Tick > tick || h.Tick%uint64(len(sp.History)) != uint64(j) || !Valid(h.X, h.Y)) {
			return player{}, fmt.Errorf("history entry %d (tick %d at (%d, %d)) does not fit tick %d", j, h.Tick, h.X, h.Y, tick)
		}
		p.history[j] = past{h.Tick, h.X, h.Y, h.Target}
	}
	return p, nil
}

func (g *Blasters) checkBullet(sb *savedBullet) error {
	const most = BulletSpeed<<sub + 1
	_, owned := g.find(sb.Owner)
	switch {
	case sb.N < 1 || sb.N >= g.nextShot:
		return fmt.Errorf("not yet fired (next shot %d)", g.nextShot)
	case !owned:
		return fmt.Errorf("owner %d is not playing", sb.Owner)
	case sb.X < 0 || sb.Y < 0 || sb.X > Size<<sub || sb.Y > Size<<sub:
		return errors.New("off the field")
	case sb.VX < -most || sb.VX > most || sb.VY < -most || sb.VY > most || sb.VX == 0 && sb.VY == 0:
		return fmt.Errorf("velocity (%d, %d) out of range", sb.VX, sb.VY)
	case sb.Angle < AimMin || sb.Angle > AimMax:
		return fmt.Errorf("angle %d out of range", sb.Angle)
	case sb.Life < 1 || sb.Life > game.After(BulletLife, g.cfg.TickRate).Ticks():
		return fmt.Errorf("%d ticks to live", sb.Life)
	}
	return nil
}
