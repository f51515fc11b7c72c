package blasters

import (
	"encoding/json"
	"math/rand/v2"
	"slices"
	"strings"
	"testing"

	"github.com/arena-server/arena/game"
)

const rate = 20 // ticks a second in these tests

// newGame returns a game at 20 ticks a second with an events queue and
// the given room options, and players 1..n joined.
func newGame(t testing.TB, raw map[string]string, n int) (*Blasters, *game.Events) {
	t.Helper()
	opts, err := game.ParseOptions(Mode.RoomOptions, raw)
	if err != nil {
		t.Fatal(err)
	}
	q := game.NewEvents(nil)
	g := New(game.Config{Rand: rand.New(rand.NewPCG(1, 2)), TickRate: rate, Options: opts, Events: q})
	for id := range game.PlayerID(n) {
		if err := g.Join(game.Player{ID: id + 1, Name: "p"}); err != nil {
			t.Fatal(err)
		}
	}
	return g, q
}

// playing returns a game as newGame does, with the countdown over and its
// events taken.
func playing(t testing.TB, n int) (*Blasters, *game.Events) {
	t.Helper()
	g, q := newGame(t, nil, n)
	steps(g, CountdownSeconds*rate, nil)
	if g.phase != PhasePlaying {
		t.Fatalf("phase %d after the countdown; want playing", g.phase)
	}
	q.Take()
	return g, q
}

func steps(g *Blasters, n int, inputs []game.Input) {
	for range n {
		g.Step(inputs)
	}
}

func (g *Blasters) player(t testing.TB, id game.PlayerID) *player {
	t.Helper()
	i, found := g.find(id)
	if !found {
		t.Fatalf("no player %d", id)
	}
	return &g.players[i]
}

// place puts player id at (x, y), as if it had stood there for a while.
func (g *Blasters) place(t testing.TB, id game.PlayerID, x, y int32) {
	t.Helper()
	p := g.player(t, id)
	p.x, p.y = x, y
	for i := range p.history {
		p.history[i] = past{}
	}
}

func entity(t testing.TB, g *Blasters, id uint32) game.Entity {
	t.Helper()
	for _, e := range g.AppendEntities(nil) {
		if e.ID == id {
			return e
		}
	}
	t.Fatalf("no entity %d", id)
	return game.Entity{}
}

func bullets(g *Blasters) []game.Entity {
	var bs []game.Entity
	for _, e := range g.AppendEntities(nil) {
		if e.Kind == KindBullet {
			bs = append(bs, e)
		}
	}
	return bs
}

type sent struct {
	to   []game.PlayerID
	typ  string
	data string
}

func take(q *game.Events) []sent {
	var out []sent
	for _, e := range q.Take() {
		out = append(out, sent{e.To, e.Event.Type, string(e.Event.Data)})
	}
	return out
}

func ofType(evs []sent, typ string) []sent {
	return slices.DeleteFunc(slices.Clone(evs), func(e sent) bool { return e.typ != typ })
}

func fire(id game.PlayerID, aim int32) game.Input {
	return game.Input{Player: id, Buttons: game.Action, Axes: [game.MaxAxes]int32{aim}}
}

func TestModeCheck(t *testing.T) {
	if err := Mode.Check(); err != nil {
		t.Fatal(err)
	}
	kinds := Mode.EntityKinds()
	for _, c := range []struct {
		kind  game.Kind
		name  string
		index int
	}{
		{KindPlayer, "color", PlayerColor}, {KindPlayer, "score", PlayerScore},
		{KindPlayer, "health", PlayerHealth}, {KindPlayer, "kills", PlayerKills},
		{KindPlayer, "deaths", PlayerDeaths}, {KindPlayer, "aim", PlayerAim},
		{KindPlayer, "dead", PlayerDead}, {KindPlayer, "respawn", PlayerRespawn},
		{KindPlayer, "life", PlayerLife},
		{KindBullet, "owner", BulletOwner}, {KindBullet, "angle", BulletAngle},
		{KindRound, "phase", RoundPhase}, {KindRound, "seconds", RoundSecondsLeft},
		{KindRound, "number", RoundNumber},
	} {
		if got := kinds[c.kind].FieldIndex(c.name); got != c.index {
			t.Errorf("kind %s: field %s at %d; the constant says %d", kinds[c.kind].Name, c.name, got, c.index)
		}
	}
	if RoundID != game.ItemID(0) {
		t.Errorf("RoundID %#x; want game.ItemID(0)", RoundID)
	}
	if kinds[KindPlayer].TextIndex("name") != PlayerName {
		t.Error("the player's name is not at PlayerName")
	}
	if kinds[KindBullet].Name != "bullet" || kinds[KindRound].Name != "round" {
		t.Errorf("kinds %s, %s", kinds[KindBullet].Name, kinds[KindRound].Name)
	}
	if a := Mode.Axes; len(a) != 1 || a[0].Name != "aim" || a[0].Min != AimMin || a[0].Max != AimMax {
		t.Errorf("axes %+v", a)
	}
}

func TestMove(t *testing.T) {
	cases := []struct {
		x, y   int32
		b      game.Buttons
		wx, wy int32
	}{
		{300, 300, 0, 300, 300},
		{300, 300, game.Up, 300, 292},
		{300, 300, game.Right | game.Down, 306, 306},
		{300, 300, game.Left | game.Right, 300, 300},
		{300, 300, game.Up | game.Down | game.Left, 292, 300},
		{300, 300, game.Action, 300, 300},
		{Radius + 3, 300, game.Left, Radius, 300}, // the edge
		{Size - Radius, Size - Radius, game.Right | game.Down, Size - Radius, Size - Radius},
		{440 - Radius - 3, 500, game.Right, 440 - Radius, 500},       // flush against the centre block
		{440 - Radius, 500, game.Right | game.Up, 440 - Radius, 494}, // sliding along it
		{500, 560 + Radius + 2, game.Up, 500, 560 + Radius},          // under it
	}
	for _, c := range cases {
		if x, y := Move(c.x, c.y, c.b); x != c.wx || y != c.wy {
			t.Errorf("Move(%d, %d, %05b) = %d, %d; want %d, %d", c.x, c.y, c.b, x, y, c.wx, c.wy)
		}
	}
}

// TestMoveKeepsPlayersOutOfWalls walks a player at random for a long
// time: it never stands where it may not.
func TestMoveKeepsPlayersOutOfWalls(t *testing.T) {
	r := rand.New(rand.NewPCG(5, 6))
	x, y := Spawn(r)
	for i := range 100000 {
		x, y = Move(x, y, game.Buttons(r.IntN(16)))
		if !Valid(x, y) {
			t.Fatalf("after %d moves at (%d, %d)", i, x, y)
		}
	}
}

func TestSpawnIsValid(t *testing.T) {
	r := rand.New(rand.NewPCG(7, 8))
	for range 10000 {
		if x, y := Spawn(r); !Valid(x, y) || x < SpawnMargin || y > Size-SpawnMargin {
			t.Fatalf("spawned at (%d, %d)", x, y)
		}
	}
}

func TestJoin(t *testing.T) {
	g, _ := newGame(t, nil, 0)
	red, _ := game.ParseOptions(Mode.JoinOptions, map[string]string{"color": "#ff0000"})
	long := strings.Repeat("é", 40) // 80 bytes
	if err := g.Join(game.Player{ID: 3, Name: long, Options: red}); err != nil {
		t.Fatal(err)
	}
	for _, id := range []game.PlayerID{3, 0, game.PlayerID(game.ItemID(0))} {
		if err := g.Join(game.Player{ID: id}); err == nil {
			t.Errorf("player %d joined", id)
		}
	}
	e := entity(t, g, 3)
	if e.Fields[PlayerColor] != 0xff0000 || e.Fields[PlayerHealth] != MaxHealth || e.Fields[PlayerDead] != 0 || !Valid(e.X, e.Y) {
		t.Errorf("new player %+v", e)
	}
	if n := e.Texts[PlayerName]; n != strings.Repeat("é", 32) {
		t.Errorf("name %q: want it clipped to %d bytes on a character boundary", n, game.MaxText)
	}
}

func TestAimFollowsTheAxisWithinBounds(t *testing.T) {
	g, _ := newGame(t, nil, 1)
	for _, c := range [][2]int32{{1000, 1000}, {-3142, -3142}, {9999, AimMax}, {-9999, AimMin}} {
		g.Step([]game.Input{{Player: 1, Axes: [game.MaxAxes]int32{c[0]}}})
		if got := entity(t, g, 1).Fields[PlayerAim]; got != c[1] {
			t.Errorf("aim axis %d: aim %d; want %d", c[0], got, c[1])
		}
	}
}

func TestFireCooldown(t *testing.T) {
	g, _ := playing(t, 1)
	g.place(t, 1, 100, 300)
	var fired []int
	seen := map[uint32]bool{}
	for tick := range 20 {
		g.Step([]game.Input{fire(1, 0)})
		for _, b := range bullets(g) {
			if !seen[b.ID] {
				seen[b.ID] = true
				fired = append(fired, tick)
				if b.Fields[BulletOwner] != 1 || b.Fields[BulletAngle] != 0 {
					t.Errorf("bullet %+v", b)
				}
			}
		}
	}
	cool := int(FireCooldown.Milliseconds()) * rate / 1000
	if want := []int{0, cool, 2 * cool, 3 * cool}; !slices.Equal(fired, want) {
		t.Errorf("holding fire, shots on ticks %v; want %v", fired, want)
	}
}

func TestBulletsFlyStraightAndExpire(t *testing.T) {
	g, _ := playing(t, 1)
	g.place(t, 1, 100, 300)
	g.Step([]game.Input{fire(1, 0)})
	b := bullets(g)
	if len(b) != 1 || b[0].X != 100 || b[0].Y != 300 || b[0].ID != game.ItemID(1) {
		t.Fatalf("just fired: %+v", b)
	}
	life := int(BulletLife.Milliseconds()) * rate / 1000
	for i := 1; i < life; i++ {
		g.Step(nil)
		b := bullets(g)
		if len(b) != 1 || b[0].X != int32(100+i*BulletSpeed) || b[0].Y != 300 {
			t.Fatalf("%d ticks after firing: %+v", i, b)
		}
	}
	g.Step(nil)
	if b := bullets(g); len(b) != 0 {
		t.Errorf("bullet still flying after %v: %+v", BulletLife, b)
	}
}

func TestNoFiringOutsideARound(t *testing.T) {
	g, _ := newGame(t, nil, 1)
	for range CountdownSeconds * rate { // the last of them starts the round
		g.Step([]game.Input{fire(1, 0)})
	}
	if b := bullets(g); len(b) != 0 {
		t.Errorf("fired during the countdown: %+v", b)
	}
	g.Step([]game.Input{fire(1, 0)})
	if b := bullets(g); len(b) != 1 {
		t.Errorf("the round began and %d bullets flew; want 1", len(b))
	}
}

func TestBulletHitReducesHealth(t *testing.T) {
	g, q := playing(t, 2)
	g.place(t, 1, 100, 300)
	g.place(t, 2, 300, 310) // off centre, within HitRadius of the line
	g.Step([]game.Input{fire(1, 0)})
	for range 10 {
		g.Step(nil)
	}
	if b := bullets(g); len(b) != 0 {
		t.Errorf("bullet flew on: %+v", b)
	}
	if e := entity(t, g, 2); e.Fields[PlayerHealth] != MaxHealth-Damage {
		t.Errorf("target's health %d; want %d", e.Fields[PlayerHealth], MaxHealth-Damage)
	}
	if e := entity(t, g, 1); e.Fields[PlayerScore] != ScorePerHit || e.Fields[PlayerKills] != 0 {
		t.Errorf("shooter's score %d, kills %d", e.Fields[PlayerScore], e.Fields[PlayerKills])
	}
	want := []sent{{[]game.PlayerID{1, 2}, "hit", `{"shooter":1,"victim":2,"health":75}`}}
	if got := take(q); !slices.EqualFunc(got, want, eqSent) {
		t.Errorf("events %v; want %v", got, want)
	}
}

func TestBulletMissesAndStopsAtWalls(t *testing.T) {
	g, _ := playing(t, 2)
	g.place(t, 1, 300, 500)
	g.place(t, 2, 700, 500) // behind the centre block
	g.Step([]game.Input{fire(1, 0)})
	for range 10 {
		g.Step(nil)
	}
	if b := bullets(g); len(b) != 0 {
		t.Errorf("bullet in flight after it reached the wall: %+v", b)
	}
	if e := entity(t, g, 2); e.Fields[PlayerHealth] != MaxHealth {
		t.Errorf("hit through a wall: health %d", e.Fields[PlayerHealth])
	}
	g.place(t, 2, 300, 600) // beside the line, out of reach
	g.Step([]game.Input{fire(1, 0)})
	steps(g, 40, nil)
	if e := entity(t, g, 2); e.Fields[PlayerHealth] != MaxHealth {
		t.Errorf("hit by a shot that passed %d away: health %d", 100, e.Fields[PlayerHealth])
	}
}

// kill has player 1 shoot player 2 dead from close by, and returns the
// ticks it took; the countdown must be over.
func kill(t *testing.T, g *Blasters) {
	t.Helper()
	g.place(t, 1, 100, 300)
	g.place(t, 2, 160, 300)
	for range MaxHealth / Damage * int(FireCooldown.Milliseconds()) * rate / 1000 {
		if g.player(t, 2).dead() {
			break
		}
		g.Step([]game.Input{fire(1, 0)})
	}
	if !g.player(t, 2).dead() {
		t.Fatal("four hits and player 2 lives")
	}
}

func TestDeathAndRespawn(t *testing.T) {
	g, q := playing(t, 2)
	kill(t, g)
	evs := take(q)
	if kills := ofType(evs, "kill"); len(kills) != 1 || kills[0].to != nil || kills[0].data != `{"killer":1,"victim":2}` {
		t.Errorf("kill events %v", kills)
	}
	if hits := ofType(evs, "hit"); len(hits) != MaxHealth/Damage || hits[len(hits)-1].data != `{"shooter":1,"victim":2,"health":0}` {
		t.Errorf("hit events %v", hits)
	}
	shooter, victim := entity(t, g, 1), entity(t, g, 2)
	if shooter.Fields[PlayerKills] != 1 || shooter.Fields[PlayerScore] != 4*ScorePerHit+ScorePerKill {
		t.Errorf("shooter %+v", shooter.Fields)
	}
	if victim.Fields[PlayerDead] != 1 || victim.Fields[PlayerHealth] != 0 || victim.Fields[PlayerDeaths] != 1 || victim.Fields[PlayerRespawn] != 3 {
		t.Errorf("victim %+v", victim.Fields)
	}
	// The dead neither move, nor fire, nor are hit.
	ticks := int(RespawnDelay.Seconds() * rate)
	for i := 1; i < ticks; i++ {
		g.Step([]game.Input{fire(1, 0), {Player: 2, Buttons: game.Up | game.Action}})
		e := entity(t, g, 2)
		if e.Fields[PlayerDead] != 1 || e.X != victim.X || e.Y != victim.Y || e.Fields[PlayerDeaths] != 1 {
			t.Fatalf("%d ticks after death: %+v", i, e)
		}
		if want := int32((ticks - i + rate - 1) / rate); e.Fields[PlayerRespawn] != want {
			t.Fatalf("%d ticks after death the respawn countdown says %d; want %d", i, e.Fields[PlayerRespawn], want)
		}
		for _, b := range bullets(g) {
			if b.Fields[BulletOwner] == 2 {
				t.Fatalf("the dead fired: %+v", b)
			}
		}
	}
	g.Step(nil)
	e := entity(t, g, 2)
	if e.Fields[PlayerDead] != 0 || e.Fields[PlayerHealth] != MaxHealth || e.Fields[PlayerRespawn] != 0 || !Valid(e.X, e.Y) {
		t.Errorf("%v after death: %+v", RespawnDelay, e)
	}
	if e.Fields[PlayerLife] != victim.Fields[PlayerLife]+1 {
		t.Errorf("life %d after a respawn; was %d", e.Fields[PlayerLife], victim.Fields[PlayerLife])
	}
}

func TestAwayPlayersAreFrozenAndSafe(t *testing.T) {
	g, _ := playing(t, 2)
	g.place(t, 1, 100, 300)
	g.place(t, 2, 160, 300)
	g.Away(2)
	steps(g, 20, []game.Input{fire(1, 0), {Player: 2, Buttons: game.Down | game.Action}})
	e := entity(t, g, 2)
	if e.X != 160 || e.Y != 300 || e.Fields[PlayerHealth] != MaxHealth {
		t.Errorf("away player %+v", e)
	}
	for _, b := range bullets(g) {
		if b.Fields[BulletOwner] == 2 {
			t.Errorf("an away player fired")
		}
	}
	g.Back(2)
	steps(g, 10, []game.Input{fire(1, 0)})
	if e := entity(t, g, 2); e.Fields[PlayerHealth] == MaxHealth {
		t.Error("back, and still not hit")
	}
}

func TestLeaveTakesBulletsAlong(t *testing.T) {
	g, _ := playing(t, 2)
	g.place(t, 1, 100, 300)
	g.place(t, 2, 400, 300)
	g.Step([]game.Input{fire(1, 0)})
	g.Leave(1)
	g.Leave(1)
	steps(g, 20, nil)
	if e := entity(t, g, 2); e.Fields[PlayerHealth] != MaxHealth {
		t.Errorf("hit by a player who left: %+v", e)
	}
	if ents := g.AppendEntities(nil); len(ents) != 2 {
		t.Errorf("entities %+v; want player 2 and the round", ents)
	}
}

func TestEntitiesSortedByID(t *testing.T) {
	g, _ := playing(t, 30)
	in := make([]game.Input, 30)
	for i := range in {
		in[i] = game.Input{Player: game.PlayerID(i + 1), Buttons: game.Action | game.Buttons(i%16), Axes: [game.MaxAxes]int32{int32(i * 200)}}
	}
	for range 100 {
		g.Step(in)
		ents := g.AppendEntities(nil)
		if !slices.IsSortedFunc(ents, func(a, b game.Entity) int { return int(int64(a.ID) - int64(b.ID)) }) {
			t.Fatalf("entities out of order: %+v", ents)
		}
		for _, e := range ents {
			if (e.Kind == KindPlayer) != (e.ID < game.ItemID(0)) {
				t.Fatalf("entity %d of kind %d", e.ID, e.Kind)
			}
		}
	}
	if len(bullets(g)) == 0 {
		t.Error("nobody's shooting: the check checked nothing")
	}
}

func eqSent(a, b sent) bool {
	return a.typ == b.typ && a.data == b.data && slices.Equal(a.to, b.to)
}

// decode unmarshals an event's data, failing the test if it is not JSON.
func decode(t *testing.T, e sent, v any) {
	t.Helper()
	if err := json.Unmarshal([]byte(e.data), v); err != nil {
		t.Fatalf("%s: %v", e.data, err)
	}
}

func newRand() *rand.Rand { return rand.New(rand.NewPCG(1, 2)) }
