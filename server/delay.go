package server

import (
	"errors"
	"math/rand/v2"
	"time"
)

// delayLine holds a connection's outgoing messages for a while before
// writing them, in order: a slow, jittery network on demand, for testing
// prediction and interpolation and for demos. It is off unless SendDelay or
// SendJitter is set, and it is the one place a session has a third
// goroutine.
type delayLine struct {
	s      *session
	delay  time.Duration
	jitter time.Duration
	queue  chan delayed
	last   time.Time
	done   chan struct{}
}

type delayed struct {
	due      time.Time
	msgType  int
	data     []byte
	prepared prepared
}

// delayLineDepth bounds the messages in flight: 256 is over ten seconds of
// states at 20 Hz, far beyond any delay worth simulating.
const delayLineDepth = 256

var errDelayLineFull = errors.New("delay line full")

func newDelayLine(s *session, delay, jitter time.Duration) *delayLine {
	d := &delayLine{s: s, delay: delay, jitter: jitter, queue: make(chan delayed, delayLineDepth), done: make(chan struct{})}
	go d.run()
	return d
}

func (d *delayLine) due() time.Time {
	t := time.Now().Add(d.delay)
	if d.jitter > 0 {
		t = t.Add(rand.N(d.jitter))
	}
	// A TCP stream keeps order: a message never overtakes the one before.
	if t.Before(d.last) {
		t = d.last
	}
	d.last = t
	return t
}

func (d *delayLine) push(m delayed) error {
	select {
	case d.queue <- m:
		return nil
	default:
		return errDelayLineFull
	}
}

func (d *delayLine) writeMessage(msgType int, data []byte) error {
	return d.push(delayed{due: d.due(), msgType: msgType, data: append([]byte(nil), data...)})
}

func (d *delayLine) writePrepared(p prepared) error {
	return d.push(delayed{due: d.due(), prepared: p})
}

func (d *delayLine) run() {
	defer close(d.done)
	timer := time.NewTimer(time.Hour)
	defer timer.Stop()
	out := newWSSink(d.s.ws, d.s.cfg.WriteTimeout)
	for {
		var m delayed
		select {
		case m = <-d.queue:
		case <-d.s.ctx.Done():
			return
		}
		timer.Reset(time.Until(m.due))
		select {
		case <-timer.C:
		case <-d.s.ctx.Done():
			return
		}
		var err error
		if m.prepared.msg != nil || m.prepared.err != nil {
			err = out.writePrepared(m.prepared)
		} else {
			err = out.writeMessage(m.msgType, m.data)
		}
		if err != nil {
			d.s.writeFailed(err)
			return
		}
	}
}

// wait returns once the delay line's goroutine has stopped.
func (d *delayLine) wait() { <-d.done }
