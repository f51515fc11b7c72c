package game

import "time"

// Timer measures game time in ticks, so that rules say "in three seconds"
// instead of counting ticks by hand, and stay deterministic: a timer moves
// only when the game ticks it, never with the wall clock. The zero Timer
// is stopped.
type Timer struct{ left int }

// After returns a timer that fires on the tick at which d has passed, at
// tickRate ticks a second: at least one tick from now.
func After(d time.Duration, tickRate int) Timer {
	ticks := int((d*time.Duration(tickRate) + time.Second - 1) / time.Second) // round up
	return Timer{left: max(ticks, 1)}
}

// AfterTicks returns a timer that fires n ticks from now (a stopped one
// for n < 1): how a game restores a timer it saved with Ticks.
func AfterTicks(n int) Timer { return Timer{left: max(n, 0)} }

// Ticks is how many ticks the timer has left (0 once stopped), for a game
// that saves its state (Persistent).
func (t Timer) Ticks() int { return t.left }

// Tick advances the timer by one tick and reports whether it fired on this
// one. A timer fires once; then it is stopped.
func (t *Timer) Tick() bool {
	if t.left <= 0 {
		return false
	}
	t.left--
	return t.left == 0
}

// Running reports whether the timer has yet to fire.
func (t Timer) Running() bool { return t.left > 0 }

// Left is the game time until the timer fires, for a countdown shown to
// players.
func (t Timer) Left(tickRate int) time.Duration {
	return time.Duration(t.left) * time.Second / time.Duration(tickRate)
}

// Stop stops the timer without firing it.
func (t *Timer) Stop() { t.left = 0 }
