// Package blasters is a top-down shooter: the example of a game written
// against arena's Game API v2, with declared entity kinds, an aim axis,
// timers, events, options, saved state and server-side lag compensation.
//
// # Rules
//
// Players move on a 1000×1000 field with a few walls (Walls) at Speed
// units a tick (W, A, S, D: game.Up, Left, Down, Right; see Move), aim
// with the axis "aim", an angle in milliradians from -3142 to 3142 (0 is
// +x, π/2 is +y, which points down the screen), and fire with
// game.Action, at most once every FireCooldown. A bullet flies
// BulletSpeed units a tick from its shooter's centre until it hits a
// player, a wall or the edge, or has flown for BulletLife. A hit takes
// Damage of a player's MaxHealth health and scores the shooter
// ScorePerHit; the hit that takes the last of it kills, scores
// ScorePerKill more, and counts a kill and a death. The dead come back
// RespawnDelay later, with full health, at a spawn point the room's
// random source draws (Spawn).
//
// Play comes in rounds. Each begins with a countdown of CountdownSeconds,
// during which players may move but not fire; then the round runs for the
// room option "round" (seconds, 30 to 600, default 180); then there is a
// pause of PauseDelay in which nobody fires; then scores, kills and
// deaths are reset, everyone respawns, and the next countdown begins.
// Players may join at any time, and play at once if a round is running.
// A player whose connection dropped (game.Presence) is frozen until it
// comes back: it neither moves nor fires, and bullets pass through it.
//
// # Lag compensation
//
// A player sees the others where they were Input.Behind ticks ago (its
// interpolation delay plus half its round trip), so the server judges its
// shots against the world as it saw it. Bullets are projectiles, not
// hitscan: a projectile lives through many ticks, and rewinding the
// targets for each tick of its flight would make it hit players who are
// long gone behind cover. Instead, when a player fires with Behind = B
// (capped at game.MaxRewindMillis' worth of ticks), the bullet is born at
// the shooter's present position and flown B ticks at once, each of those
// ticks judged against the targets' recorded positions of that tick: the
// first against where they were B-1 ticks ago, the last against the
// present. After that the bullet is B ticks ahead of a fresh one and flies
// in the present like any other. A bullet that is a ticks old is thus
// always judged against the targets as they stood on the shooter's screen
// a ticks after it fired, and no target is rewound by more than the cap.
//
// # Entities
//
// Kinds[KindPlayer] "player" (ID: its PlayerID): fields color, score,
// health, kills, deaths, aim (fixed, scale 1000, interpolated), dead
// (bool), respawn (whole seconds until it comes back, 0 if alive), life
// (counts its spawns, modulo 256: when it changes, the player was placed
// anew, by a respawn or a new round, and a client should not glide it
// there from where it was); text name. Kinds[KindBullet] "bullet" (ID: game.ItemID(n), n ≥ 1, counted
// from 1 in each round): owner, angle (fixed, scale 1000). Kinds[KindRound]
// "round" (ID: game.ItemID(0), always present): phase ("countdown",
// "playing", "over"), seconds (whole seconds left in the phase), number
// (the round, from 1). Positions are world units. Only what moves or
// changes changes: a standing player's entity is the same tick after
// tick.
//
// # Events
//
// All go to every player unless said otherwise:
//
//	countdown   {"seconds":3}, then 2, then 1, one a second before a round
//	round_start {"round":1,"seconds":180}
//	hit         {"shooter":1,"victim":2,"health":75}, to those two only
//	kill        {"killer":1,"victim":2}, for a kill feed
//	round_over  {"round":1,"winner":1,"players":5,"standings":[{"player":1,
//	            "name":"ann","score":290,"kills":3,"deaths":0},...]}
//
// In round_over, winner is 0 for a draw (nobody scored, or the best are
// tied); standings are best first (score, then kills, then fewer deaths,
// then lower ID) and hold as many players as fit in game.MaxEventData;
// players says how many there were.
package blasters

import (
	"fmt"
	"slices"
	"strconv"
	"time"
	"unicode/utf8"

	"github.com/arena-server/arena/game"
)

// The rules of combat and rounds.
const (
	MaxHealth    = 100
	Damage       = 25
	ScorePerHit  = 10
	ScorePerKill = 50
	// HitRadius is how close a bullet's path must pass to a player's
	// centre to hit it: the player's radius plus the bullet's.
	HitRadius    = Radius + 4
	BulletSpeed  = 24 // units a tick, less than any wall is thick
	BulletLife   = 1250 * time.Millisecond
	FireCooldown = 250 * time.Millisecond
	RespawnDelay = 3 * time.Second
	// CountdownSeconds are counted down before each round, one
	// "countdown" event a second.
	CountdownSeconds = 3
	// RoundSeconds is a round's length unless the room option "round"
	// says otherwise.
	RoundSeconds = 180
	PauseDelay   = 5 * time.Second
	// AimMin and AimMax bound the aim axis: ±π in milliradians.
	AimMin = -3142
	AimMax = 3142
)

// Kinds of entity, indices of Mode.Kinds.
const (
	KindPlayer           = game.KindPlayer
	KindBullet game.Kind = 1
	KindRound  game.Kind = 2
)

// Fields of a player entity, indices of Entity.Fields.
const (
	PlayerColor = iota
	PlayerScore
	PlayerHealth
	PlayerKills
	PlayerDeaths
	PlayerAim
	PlayerDead
	PlayerRespawn
	PlayerLife
)

// PlayerName is the index of a player entity's name in Entity.Texts.
const PlayerName = 0

// Fields of a bullet entity.
const (
	BulletOwner = iota
	BulletAngle
)

// Fields of the round entity.
const (
	RoundPhase = iota
	RoundSecondsLeft
	RoundNumber
)

// Phases of a round, the values of the round entity's phase field.
const (
	PhaseCountdown = iota
	PhasePlaying
	PhaseOver
)

var phaseNames = []string{"countdown", "playing", "over"}

// RoundID is the entity ID of the round entity: game.ItemID(0).
const RoundID = 1 << 31

// Mode registers blasters with a server.
var Mode = game.Mode{
	Name:        "blasters",
	Description: "A top-down shooter in rounds: move with WASD, aim, fire. Most points wins the round.",
	New:         func(cfg game.Config) game.Game { return New(cfg) },
	// A shooter's arena: past sixteen, players spawn into each other's
	// fire and a round is noise.
	MaxPlayers: 16,
	Axes:       []game.Axis{{Name: "aim", Min: AimMin, Max: AimMax}},
	RoomOptions: []game.Option{{
		Name:        "round",
		Description: "A round's length in seconds.",
		Type:        game.OptionInt,
		Min:         30,
		Max:         600,
		Default:     strconv.Itoa(RoundSeconds),
	}},
	JoinOptions: []game.Option{{
		Name:        "color",
		Description: "Your colour, #rrggbb. Default: a random one.",
		Type:        game.OptionColor,
	}},
	Kinds: []game.EntityKind{
		KindPlayer: {
			Name: "player",
			Fields: []game.Field{
				PlayerColor:   {Name: "color", Type: game.Color},
				PlayerScore:   {Name: "score", Type: game.Int, Delta: true},
				PlayerHealth:  {Name: "health", Type: game.Uint, Bits: 8},
				PlayerKills:   {Name: "kills", Type: game.Uint, Bits: 16},
				PlayerDeaths:  {Name: "deaths", Type: game.Uint, Bits: 16},
				PlayerAim:     {Name: "aim", Type: game.Fixed, Scale: 1000, Interp: true},
				PlayerDead:    {Name: "dead", Type: game.Bool},
				PlayerRespawn: {Name: "respawn", Type: game.Uint, Bits: 8},
				PlayerLife:    {Name: "life", Type: game.Uint, Bits: 8},
			},
			Texts: []game.Text{PlayerName: {Name: "name"}},
		},
		KindBullet: {
			Name: "bullet",
			Fields: []game.Field{
				BulletOwner: {Name: "owner", Type: game.Uint},
				BulletAngle: {Name: "angle", Type: game.Fixed, Scale: 1000},
			},
		},
		KindRound: {
			Name: "round",
			Fields: []game.Field{
				RoundPhase:       {Name: "phase", Type: game.Enum, Values: phaseNames},
				RoundSecondsLeft: {Name: "seconds", Type: game.Uint, Bits: 16},
				RoundNumber:      {Name: "number", Type: game.Uint},
			},
		},
	},
	// Kills over the week, and wins for ever, by account. They are fed by
	// the game's results (game.Result, its standings' Stats "kills"):
	// a round's end is not yet one (see the package doc).
	Boards: []game.Board{
		{ID: "blasters_kills", Stat: "kills", Operator: "incr", Reset: "weekly"},
		{ID: "blasters_wins", Stat: "win", Operator: "incr"},
	},
}

var (
	_ game.Game       = (*Blasters)(nil)
	_ game.Presence   = (*Blasters)(nil)
	_ game.Persistent = (*Blasters)(nil)
)

// past is where a player stood at the end of one tick, for lag
// compensation. A target is one that could be hit then.
type past struct {
	tick   uint64
	x, y   int32
	target bool
}

type player struct {
	id      game.PlayerID
	name    string
	x, y    int32
	color   uint32
	aim     int32
	health  int32
	score   int32
	kills   int32
	deaths  int32
	away    bool
	life    uint8      // counts spawns, so that clients see a jump as one
	cool    game.Timer // until it may fire again
	respawn game.Timer // until it comes back; running iff dead
	history []past     // ring by tick, len = rewind+1
}

func (p *player) dead() bool { return p.health <= 0 }

// target reports whether a bullet can hit the player now.
func (p *player) target() bool { return !p.dead() && !p.away }

// Blasters is the game state. Use New.
type Blasters struct {
	cfg     game.Config
	rewind  int      // the most ticks a shot is judged in the past
	players []player // sorted by id
	bullets []bullet // sorted by id
	tick    uint64

	phase     int
	number    int        // the round, from 1
	phaseEnd  game.Timer // the end of the countdown, the round or the pause
	second    game.Timer // the next countdown event
	roundLen  time.Duration
	nextShot  uint32 // the n of the next bullet's game.ItemID(n)
	buf       []byte // event data, reused
	pair      [2]game.PlayerID
	standings []standing // reused at round ends
	// scored holds the rounds ended since the room last asked (Scored):
	// each is a result the program keeps (history, ratings, boards).
	scored []game.Result
}

// Scored implements game.Scorer: the results of the rounds that ended
// since the room last asked.
func (g *Blasters) Scored() []game.Result {
	s := g.scored
	g.scored = nil
	return s
}

// New returns a field whose first countdown has begun.
func New(cfg game.Config) *Blasters {
	if cfg.TickRate <= 0 {
		cfg.TickRate = 20
	}
	seconds := int64(RoundSeconds)
	if cfg.Options.Has("round") { // a bare Config holds no options
		seconds = cfg.Options.Int("round")
	}
	g := &Blasters{
		cfg:      cfg,
		rewind:   game.MaxRewindTicks(cfg.TickRate),
		roundLen: time.Duration(seconds) * time.Second,
		number:   1,
		nextShot: 1,
	}
	g.startCountdown()
	return g
}

// Join places the player at a spawn point, alive, with the colour it chose
// (join option color) or a random one.
func (g *Blasters) Join(p game.Player) error {
	i, found := g.find(p.ID)
	if found {
		return fmt.Errorf("player %d already joined", p.ID)
	}
	if p.ID == 0 || uint32(p.ID) >= game.ItemID(0) {
		return fmt.Errorf("player id %d is outside 1..%d", p.ID, game.ItemID(0)-1)
	}
	// The colour is drawn even when the player chose one, so that a choice
	// never shifts what the random source gives later.
	color := uint32(g.cfg.Rand.IntN(0x1000000))
	if p.Options.Has("color") {
		color = p.Options.Color("color")
	}
	np := player{id: p.ID, name: clip(p.Name), color: color, history: make([]past, g.rewind+1)}
	g.spawn(&np)
	g.players = slices.Insert(g.players, i, np)
	return nil
}

// clip shortens a name to what an entity's text may hold, on a character
// boundary.
func clip(name string) string {
	if len(name) <= game.MaxText {
		return name
	}
	n := game.MaxText
	for n > 0 && !utf8.RuneStart(name[n]) {
		n--
	}
	return name[:n]
}

// spawn brings p back to life at a fresh spawn point.
func (g *Blasters) spawn(p *player) {
	p.x, p.y = Spawn(g.cfg.Rand)
	p.life++
	p.health = MaxHealth
	p.respawn.Stop()
	p.cool.Stop()
}

// Leave removes the player and its bullets in flight, so that nobody is
// credited to a player who is gone.
func (g *Blasters) Leave(id game.PlayerID) {
	i, found := g.find(id)
	if !found {
		return
	}
	g.players = slices.Delete(g.players, i, i+1)
	g.bullets = slices.DeleteFunc(g.bullets, func(b bullet) bool { return b.owner == id })
}

// Away freezes the player: it neither moves nor fires, and bullets pass
// through it, so that a dropped connection is not a free kill.
func (g *Blasters) Away(id game.PlayerID) {
	if i, found := g.find(id); found {
		g.players[i].away = true
	}
}

// Back unfreezes the player.
func (g *Blasters) Back(id game.PlayerID) {
	if i, found := g.find(id); found {
		g.players[i].away = false
	}
}

// Step advances the world by one tick: the players' timers, their moves
// and aims, the record of where they stand, the bullets in flight, then
// the new shots, and last the round's clock.
func (g *Blasters) Step(inputs []game.Input) {
	g.tick++
	for i := range g.players {
		p := &g.players[i]
		p.cool.Tick()
		if p.respawn.Tick() {
			g.spawn(p)
		}
	}
	for _, in := range inputs {
		if i, found := g.find(in.Player); found {
			p := &g.players[i]
			if p.dead() || p.away {
				continue
			}
			p.x, p.y = Move(p.x, p.y, in.Buttons)
			p.aim = max(AimMin, min(AimMax, in.Axes[0]))
		}
	}
	g.record()
	g.flyAll()
	if g.phase == PhasePlaying {
		for _, in := range inputs {
			if in.Buttons&game.Action != 0 {
				g.fire(in.Player, in.Behind)
			}
		}
	}
	g.clock()
}

// record notes where every player stands at the end of this tick's moves.
func (g *Blasters) record() {
	for i := range g.players {
		p := &g.players[i]
		p.history[g.tick%uint64(len(p.history))] = past{tick: g.tick, x: p.x, y: p.y, target: p.target()}
	}
}

// AppendEntities appends the players by ascending ID, then the round, then
// the bullets.
func (g *Blasters) AppendEntities(dst []game.Entity) []game.Entity {
	for i := range g.players {
		p := &g.players[i]
		e := game.Entity{ID: uint32(p.id), Kind: KindPlayer, X: p.x, Y: p.y}
		e.Fields[PlayerColor] = int32(p.color)
		e.Fields[PlayerScore] = p.score
		e.Fields[PlayerHealth] = max(p.health, 0)
		e.Fields[PlayerKills] = p.kills
		e.Fields[PlayerDeaths] = p.deaths
		e.Fields[PlayerAim] = p.aim
		e.Fields[PlayerDead] = game.Flag(p.dead())
		e.Fields[PlayerRespawn] = seconds(p.respawn, g.cfg.TickRate)
		e.Fields[PlayerLife] = int32(p.life)
		e.Texts[PlayerName] = p.name
		dst = append(dst, e)
	}
	r := game.Entity{ID: RoundID, Kind: KindRound, X: Size / 2, Y: Size / 2}
	r.Fields[RoundPhase] = int32(g.phase)
	r.Fields[RoundSecondsLeft] = seconds(g.phaseEnd, g.cfg.TickRate)
	r.Fields[RoundNumber] = int32(g.number)
	dst = append(dst, r)
	for i := range g.bullets {
		b := &g.bullets[i]
		e := game.Entity{ID: game.ItemID(b.n), Kind: KindBullet, X: b.x >> sub, Y: b.y >> sub}
		e.Fields[BulletOwner] = int32(b.owner)
		e.Fields[BulletAngle] = b.angle
		dst = append(dst, e)
	}
	return dst
}

// seconds is the time left on t in whole seconds, rounded up, for a
// countdown that changes once a second.
func seconds(t game.Timer, tickRate int) int32 {
	return int32((t.Left(tickRate) + time.Second - 1) / time.Second)
}

// World returns the field's size.
func (g *Blasters) World() game.World { return game.World{Width: Size, Height: Size} }

func (g *Blasters) find(id game.PlayerID) (int, bool) {
	return slices.BinarySearchFunc(g.players, id, func(p player, id game.PlayerID) int {
		return int(int64(p.id) - int64(id))
	})
}
