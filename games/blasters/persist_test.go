package blasters

import (
	"encoding/json"
	"math/rand/v2"
	"strings"
	"testing"

	"github.com/arena-server/arena/game"
	"github.com/arena-server/arena/gametest"
)

// script returns n ticks of inputs for players 1..players: random buttons,
// aims and views behind, fire held often.
func script(seed uint64, n, players int) [][]game.Input {
	r := rand.New(rand.NewPCG(seed, seed))
	ticks := make([][]game.Input, n)
	for i := range ticks {
		for id := range players {
			in := game.Input{Player: game.PlayerID(id + 1), Buttons: game.Buttons(r.IntN(32)), Behind: r.IntN(7)}
			in.Axes[0] = int32(AimMin + r.IntN(AimMax-AimMin+1))
			ticks[i] = append(ticks[i], in)
		}
	}
	return ticks
}

// play runs g through the ticks and returns its entities after each.
func play(g *Blasters, ticks [][]game.Input) [][]game.Entity {
	var seen [][]game.Entity
	for _, in := range ticks {
		g.Step(in)
		seen = append(seen, g.AppendEntities(nil))
	}
	return seen
}

func TestDeterminism(t *testing.T) {
	ticks := script(9, 3000, 12)
	a, _ := newGame(t, map[string]string{"round": "60"}, 12)
	b, _ := newGame(t, map[string]string{"round": "60"}, 12)
	ea, eb := play(a, ticks), play(b, ticks)
	for i := range ea {
		if !equalEntities(ea[i], eb[i]) {
			t.Fatalf("tick %d: the games differ:\n%+v\n%+v", i+1, ea[i], eb[i])
		}
	}
	// The script must exercise the rules: shots, deaths, a round's end.
	if a.number < 2 {
		t.Errorf("only round %d reached", a.number)
	}
	var deaths, shots int32
	for _, e := range ea[len(ea)-1] {
		deaths += e.Fields[PlayerDeaths]
		if e.Kind == KindBullet {
			shots++
		}
	}
	if deaths == 0 || shots == 0 {
		t.Errorf("%d deaths, %d bullets at the end: the script shoots too little", deaths, shots)
	}
}

// TestExportImportMidRound saves a game in the middle of a firefight,
// restores it into a fresh game with the random source beside it, and
// plays both on: bullets, history and timers must all have been saved.
func TestExportImportMidRound(t *testing.T) {
	pcg := rand.NewPCG(1, 2)
	cfg := game.Config{Rand: rand.New(pcg), TickRate: rate}
	orig := New(cfg)
	for id := range game.PlayerID(8) {
		_ = orig.Join(game.Player{ID: id + 1, Name: "p"})
	}
	ticks := script(4, 1000, 8)
	play(orig, ticks[:400])
	orig.Away(3)
	state, err := orig.Export()
	if err != nil {
		t.Fatal(err)
	}
	if len(orig.bullets) == 0 || orig.phase != PhasePlaying {
		t.Fatalf("exported with %d bullets in phase %d: the test tests too little", len(orig.bullets), orig.phase)
	}
	dead := 0
	for _, p := range orig.players {
		if p.dead() {
			dead++
		}
	}
	if dead == 0 {
		t.Fatal("nobody dead at the export: the test tests too little")
	}
	src, _ := pcg.MarshalBinary()
	restored := rand.NewPCG(0, 0)
	if err := restored.UnmarshalBinary(src); err != nil {
		t.Fatal(err)
	}
	copied := New(game.Config{Rand: rand.New(restored), TickRate: rate})
	if err := copied.Import(state); err != nil {
		t.Fatalf("import: %v\n%s", err, state)
	}
	again, _ := copied.Export()
	if string(again) != string(state) {
		t.Errorf("export of the import differs:\n%s\n%s", state, again)
	}
	ea, eb := play(orig, ticks[400:]), play(copied, ticks[400:])
	for i := range ea {
		if !equalEntities(ea[i], eb[i]) {
			t.Fatalf("%d ticks after the import the copy differs:\n%+v\n%+v", i+1, ea[i], eb[i])
		}
	}
}

func TestExportImportRoundTrip(t *testing.T) {
	gametest.RoundTrip(t, Mode, badStates(t)...)
}

// now is player 1's history entry of the saved tick.
func now(s *saved) *savedPast {
	h := s.Players[0].History
	return &h[s.Tick%uint64(len(h))]
}

// badStates are saved states Import must refuse: each a valid one with
// one thing broken.
func badStates(t *testing.T) []string {
	g, _ := playing(t, 2)
	g.place(t, 1, 100, 300)
	steps(g, 2, []game.Input{fire(1, 0)})
	state, err := g.Export()
	if err != nil {
		t.Fatal(err)
	}
	if err := New(game.Config{Rand: newRand(), TickRate: rate}).Import(state); err != nil {
		t.Fatalf("the good state is refused: %v", err)
	}
	edit := func(f func(s *saved)) string {
		var s saved
		if err := json.Unmarshal(state, &s); err != nil {
			t.Fatal(err)
		}
		f(&s)
		out, _ := json.Marshal(s)
		return string(out)
	}
	return []string{
		``, `{`, `[]`, `{"version":1,"players":{}}`,
		edit(func(s *saved) { s.Version = 2 }),
		edit(func(s *saved) { s.Phase = "warmup" }),
		edit(func(s *saved) { s.Round = 0 }),
		edit(func(s *saved) { s.PhaseEnd = 0 }),
		edit(func(s *saved) { s.PhaseEnd = RoundSeconds*rate + 1 }),
		edit(func(s *saved) { s.Second = 5 }),
		edit(func(s *saved) { s.Phase, s.PhaseEnd = "over", 10 }), // bullets in the pause
		edit(func(s *saved) { s.NextShot = 1 }),
		edit(func(s *saved) { s.Players[1].ID = 1 }),
		edit(func(s *saved) { s.Players[0].ID = 0 }),
		edit(func(s *saved) { s.Players[0].X = 500; s.Players[0].Y = 500 }), // in the centre block
		edit(func(s *saved) { s.Players[0].X = -1 }),
		edit(func(s *saved) { s.Players[0].Color = 1 << 24 }),
		edit(func(s *saved) { s.Players[0].Aim = 4000 }),
		edit(func(s *saved) { s.Players[0].Health = 101 }),
		edit(func(s *saved) { s.Players[0].Health = 0 }),   // dead without a respawn
		edit(func(s *saved) { s.Players[0].Respawn = 10 }), // alive and respawning
		edit(func(s *saved) { s.Players[0].Cool = 100 }),
		edit(func(s *saved) { s.Players[0].Score = -1 }),
		edit(func(s *saved) { s.Players[0].Name = strings.Repeat("x", game.MaxText+1) }),
		edit(func(s *saved) { s.Players[0].History = s.Players[0].History[1:] }),
		edit(func(s *saved) { now(s).Tick += 5 }),               // in the future
		edit(func(s *saved) { now(s).Tick-- }),                  // in another tick's slot
		edit(func(s *saved) { now(s).X = 500; now(s).Y = 500 }), // in a wall
		edit(func(s *saved) { s.Bullets[0].Owner = 9 }),
		edit(func(s *saved) { s.Bullets[0].N = s.NextShot }),
		edit(func(s *saved) { s.Bullets = append(s.Bullets, s.Bullets[0]) }),
		edit(func(s *saved) { s.Bullets[0].VX = 1 << 20 }),
		edit(func(s *saved) { s.Bullets[0].VX, s.Bullets[0].VY = 0, 0 }),
		edit(func(s *saved) { s.Bullets[0].X = -1 }),
		edit(func(s *saved) { s.Bullets[0].Life = 0 }),
		edit(func(s *saved) { s.Bullets[0].Angle = -4000 }),
	}
}
