package server

import (
	"errors"
	"math/rand/v2"
	"sync"
	"time"
)

// delayLine holds a connection's outgoing messages for a while before
// writing them, in order: a slow, jittery network on demand, for testing
// prediction and interpolation and for demos. It is off unless SendDelay or
// SendJitter is set, and it is the one place a session has a goroutine of
// its own.
type delayLine struct {
	s      *session
	delay  time.Duration
	jitter time.Duration
	queue  chan delayed
	last   time.Time
	done   chan struct{}
	quit   chan struct{}
	once   sync.Once
}

type delayed struct {
	due      time.Time
	msgType  int
	data     []byte
	prepared *prepared
}

// delayLineDepth bounds the messages in flight: 256 is over ten seconds of
// states at 20 Hz, far beyond any delay worth simulating.
const delayLineDepth = 256

var errDelayLineFull = errors.New("delay line full")

func newDelayLine(s *session, delay, jitter time.Duration) *delayLine {
	d := &delayLine{s: s, delay: delay, jitter: jitter, queue: make(chan delayed, delayLineDepth), done: make(chan struct{}), quit: make(chan struct{})}
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

func (d *delayLine) writePrepared(p *prepared) error {
	return d.push(delayed{due: d.due(), prepared: p})
}

// run writes each message when it is due, under the session's write lock,
// as the session itself would have.
func (d *delayLine) run() {
	defer close(d.done)
	timer := time.NewTimer(time.Hour)
	defer timer.Stop()
	for {
		var m delayed
		select {
		case m = <-d.queue:
		case <-d.quit:
			return
		}
		timer.Reset(time.Until(m.due))
		select {
		case <-timer.C:
		case <-d.quit:
			return
		}
		s := d.s
		s.mu.Lock()
		var err error
		if m.prepared != nil {
			err = s.writePrepared(m.prepared)
		} else {
			err = s.writeFrame(m.msgType, m.data)
		}
		if err != nil {
			s.closeLocked(reasonNetwork.wire())
		}
		s.mu.Unlock()
		if err != nil {
			return
		}
	}
}

// stop ends the delay line and waits for its goroutine.
func (d *delayLine) stop() {
	d.once.Do(func() { close(d.quit) })
	<-d.done
}
