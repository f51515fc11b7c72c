package server

import (
	"bytes"
	"crypto/tls"
	"encoding/binary"
	"errors"
	"io"
	"net"
	"syscall"
	"testing"
	"time"

	"golang.org/x/time/rate"
)

// clientFrame is a masked client frame (RFC 6455, section 5.2) with
// opcode op, FIN if fin, and payload, masked with a key of zeros: the
// parser never looks at a payload.
func clientFrame(op byte, fin bool, payload []byte) []byte {
	b0 := op
	if fin {
		b0 |= 0x80
	}
	var b []byte
	switch n := len(payload); {
	case n < 126:
		b = append(b, b0, 0x80|byte(n))
	case n <= 0xffff:
		b = binary.BigEndian.AppendUint16(append(b, b0, 0x80|126), uint16(n))
	default:
		b = binary.BigEndian.AppendUint64(append(b, b0, 0x80|127), uint64(n))
	}
	b = append(b, 0, 0, 0, 0)
	return append(b, payload...)
}

// parsed is what the parser saw of a stream: the opcode of each header,
// and whether a message was open at the end.
type parsed struct {
	opcodes []byte
	open    bool
}

// parseChunks feeds the stream to a parser in reads of the given sizes
// (the rest in one read, after the last).
func parseChunks(stream []byte, sizes []int) parsed {
	var f frameParser
	var got parsed
	feed := func(b []byte) {
		for len(b) > 0 {
			n, header := f.next(b)
			if n == 0 {
				panic("the parser passed nothing")
			}
			b = b[n:]
			if header {
				got.opcodes = append(got.opcodes, f.opcode)
			}
		}
	}
	for _, n := range sizes {
		n = min(n, len(stream))
		feed(stream[:n])
		stream = stream[n:]
	}
	feed(stream)
	got.open = f.open
	return got
}

func TestFrameParser(t *testing.T) {
	t.Parallel()
	cat := func(frames ...[]byte) []byte { return bytes.Join(frames, nil) }
	text := func(n int) []byte { return bytes.Repeat([]byte("x"), n) }
	const (
		cont, txt, bin, closeOp, ping, pong = 0x0, 0x1, 0x2, 0x8, 0x9, 0xa
	)
	tests := []struct {
		name   string
		stream []byte
		sizes  []int // read sizes; the rest in one read
		want   parsed
	}{
		{"one small message", clientFrame(txt, true, text(5)), nil, parsed{[]byte{txt}, false}},
		{"empty message", clientFrame(bin, true, nil), nil, parsed{[]byte{bin}, false}},
		{"16-bit length", clientFrame(txt, true, text(300)), nil, parsed{[]byte{txt}, false}},
		{"64-bit length", cat(clientFrame(bin, true, text(70000)), clientFrame(ping, true, nil)), nil, parsed{[]byte{bin, ping}, false}},
		{"64-bit length announced, payload to come", []byte{0x82, 0x80 | 127, 0, 0, 0, 1, 0, 0, 0, 0, 0, 0, 0, 0, 'x'}, nil, parsed{[]byte{bin}, true}},
		{"many frames in one read",
			cat(clientFrame(txt, true, text(3)), clientFrame(ping, true, text(4)), clientFrame(bin, true, text(200)), clientFrame(pong, true, nil), clientFrame(closeOp, true, []byte{3, 232})),
			nil, parsed{[]byte{txt, ping, bin, pong, closeOp}, false}},
		{"fragments", cat(clientFrame(txt, false, text(3)), clientFrame(cont, false, nil), clientFrame(ping, true, nil), clientFrame(cont, true, text(2))),
			nil, parsed{[]byte{txt, cont, ping, cont}, false}},
		{"fragments, last to come", cat(clientFrame(txt, false, text(3)), clientFrame(cont, false, nil), clientFrame(cont, false, nil)),
			nil, parsed{[]byte{txt, cont, cont}, true}},
		{"last frame's payload cut short", clientFrame(txt, true, text(10))[:12], nil, parsed{[]byte{txt}, true}},
		{"a control frame leaves no message open", clientFrame(ping, true, text(10)), []int{7}, parsed{[]byte{ping}, false}},
		{"header cut after its first byte", cat(clientFrame(txt, true, text(3)), clientFrame(bin, true, text(4))), []int{1, 8, 1}, parsed{[]byte{txt, bin}, false}},
		{"16-bit length cut in two", clientFrame(txt, true, text(300)), []int{3, 1}, parsed{[]byte{txt}, false}},
		{"64-bit length cut in two", clientFrame(bin, true, text(70000)), []int{2, 5, 4, 1}, parsed{[]byte{bin}, false}},
		{"mask key cut in two", clientFrame(txt, true, text(3)), []int{4}, parsed{[]byte{txt}, false}},
		{"byte by byte", cat(clientFrame(txt, false, text(130)), clientFrame(cont, true, text(1)), clientFrame(ping, true, nil)),
			[]int{1, 1, 1, 1, 1, 1, 1, 1, 1, 1, 1, 1, 1, 1, 1, 1, 1, 1, 1, 1, 1, 1, 1, 1, 1, 1, 1, 1, 1, 1, 1, 1, 1, 1, 1, 1, 1, 1, 1, 1}, parsed{[]byte{txt, cont, ping}, false}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			got := parseChunks(tt.stream, tt.sizes)
			if !bytes.Equal(got.opcodes, tt.want.opcodes) || got.open != tt.want.open {
				t.Errorf("got headers %x, open %v; want %x, open %v", got.opcodes, got.open, tt.want.opcodes, tt.want.open)
			}
		})
	}
}

// TestFrameParserEveryCut feeds one stream cut at every place, in two
// reads and in three, and wants the same headers every time.
func TestFrameParserEveryCut(t *testing.T) {
	t.Parallel()
	stream := bytes.Join([][]byte{
		clientFrame(0x1, false, []byte("ab")),
		clientFrame(0x9, true, nil),
		clientFrame(0x0, false, bytes.Repeat([]byte("y"), 126)),
		clientFrame(0x0, true, bytes.Repeat([]byte("z"), 65536)),
		clientFrame(0x2, true, nil),
	}, nil)
	want := []byte{0x1, 0x9, 0x0, 0x0, 0x2}
	for i := 0; i < 160; i++ {
		for j := range 20 {
			got := parseChunks(stream, []int{i, j})
			if !bytes.Equal(got.opcodes, want) || got.open {
				t.Fatalf("cut at %d and %d more: got %x, open %v; want %x", i, j, got.opcodes, got.open, want)
			}
		}
	}
}

// fakeConn is a net.Conn that reads from a buffer.
type fakeConn struct {
	net.Conn
	r *bytes.Reader
}

func (c *fakeConn) Read(b []byte) (int, error)         { return c.r.Read(b) }
func (c *fakeConn) SetReadDeadline(time.Time) error    { return nil }
func (c *fakeConn) SetWriteDeadline(t time.Time) error { return nil }

// TestFrameConnCharges: a frameConn charges every frame, and tells a flood
// of messages from one of other frames.
func TestFrameConnCharges(t *testing.T) {
	t.Parallel()
	tests := []struct {
		name  string
		frame []byte
		want  error
	}{
		{"messages", clientFrame(0x1, true, []byte("{}")), errFlooded},
		{"continuations", clientFrame(0x0, false, nil), errFrameFlood},
		{"pings", clientFrame(0x9, true, nil), errFrameFlood},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			const burst = 10
			var stream []byte
			if tt.frame[0]&0x0f == 0 {
				stream = clientFrame(0x1, false, nil) // the message they continue
			}
			for len(stream) < 4096 {
				stream = append(stream, tt.frame...)
			}
			c := &frameConn{Conn: &fakeConn{r: bytes.NewReader(stream)}, flood: rate.NewLimiter(1e-9, burst), maxMessageTime: time.Minute}
			buf := make([]byte, 16) // a few frames a read
			for {
				_, err := c.Read(buf)
				if err != nil {
					if !errors.Is(err, tt.want) {
						t.Fatalf("read ended with %v; want %v", err, tt.want)
					}
					break
				}
			}
			if got := c.flood.Tokens(); got > 0.5 {
				t.Errorf("%v tokens left after the flood; want none", got)
			}
		})
	}
}

// TestFrameConnWireBytes: a message's payload, summed over its frames as
// sent, is bounded; control frames between them do not count.
func TestFrameConnWireBytes(t *testing.T) {
	t.Parallel()
	x := func(n int) []byte { return bytes.Repeat([]byte("x"), n) }
	read := func(stream []byte) error {
		c := &frameConn{Conn: &fakeConn{r: bytes.NewReader(stream)}, maxMessageTime: time.Minute, maxWireBytes: 100}
		buf := make([]byte, 7)
		for {
			if _, err := c.Read(buf); err != nil {
				return err
			}
		}
	}
	under := bytes.Join([][]byte{
		clientFrame(0x1, false, x(60)), clientFrame(0x9, true, x(100)), clientFrame(0x0, true, x(40)),
		clientFrame(0x2, true, x(100)),
	}, nil)
	if err := read(under); err != io.EOF {
		t.Errorf("messages of 100 bytes: read ended with %v; want EOF", err)
	}
	over := bytes.Join([][]byte{clientFrame(0x1, false, x(60)), clientFrame(0x0, false, nil), clientFrame(0x0, true, x(41))}, nil)
	if err := read(over); !errors.Is(err, errWireTooBig) {
		t.Errorf("a message of 101 bytes in 3 frames: read ended with %v; want %v", err, errWireTooBig)
	}
	huge := append(clientFrame(0x1, false, nil), 0x80, 0x80|127, 0x7f, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0, 0, 0, 0)
	huge = append(huge, 0x80, 0x80|127, 0x7f, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0, 0, 0, 0)
	if err := read(huge); !errors.Is(err, errWireTooBig) {
		t.Errorf("64-bit lengths: read ended with %v; want %v", err, errWireTooBig)
	}
}

// TestFrameConnSyscallConn: wrapped, a TCP socket still offers its
// descriptor, which the session writes to without blocking; a TLS one
// does not, and the session writes through it.
func TestFrameConnSyscallConn(t *testing.T) {
	t.Parallel()
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	defer ln.Close()
	tcp, err := net.Dial("tcp", ln.Addr().String())
	if err != nil {
		t.Fatal(err)
	}
	defer tcp.Close()
	var c net.Conn = &frameConn{Conn: tcp}
	if sc, ok := c.(syscall.Conn); !ok {
		t.Fatal("a frameConn is no syscall.Conn")
	} else if raw, err := sc.SyscallConn(); err != nil || raw == nil {
		t.Errorf("over TCP: SyscallConn() = %v, %v; want the socket's", raw, err)
	}
	c = &frameConn{Conn: tls.Client(tcp, &tls.Config{})}
	if _, err := c.(syscall.Conn).SyscallConn(); err == nil {
		t.Error("over TLS: SyscallConn() succeeded; want an error")
	}
}

var sinkN int

// BenchmarkFrameParser parses a read of client frames: the seed client's
// move messages, as many as a 512-byte read (the Upgrader's
// ReadBufferSize) holds, and a read of one message, the common case.
func BenchmarkFrameParser(b *testing.B) {
	move := clientFrame(0x1, true, []byte(`{"type":"move","direction":"UP"}`))
	var full []byte
	for len(full)+len(move) <= 512 {
		full = append(full, move...)
	}
	for _, bm := range []struct {
		name string
		read []byte
	}{
		{"one_message", move},
		{"full_read", full},
		{"empty_continuations", bytes.Repeat(clientFrame(0x0, false, nil), 512/6)},
	} {
		b.Run(bm.name, func(b *testing.B) {
			var f frameParser
			frames := 0
			b.SetBytes(int64(len(bm.read)))
			b.ReportAllocs()
			for b.Loop() {
				p := bm.read
				for len(p) > 0 {
					n, header := f.next(p)
					p = p[n:]
					if header {
						frames++
					}
				}
			}
			sinkN = frames
			b.ReportMetric(float64(b.Elapsed().Nanoseconds())/float64(frames), "ns/frame")
		})
	}
}

// BenchmarkFrameConnRead is the parser with what a read adds to it: the
// clock and the rate limiter, for a read of one message.
func BenchmarkFrameConnRead(b *testing.B) {
	move := clientFrame(0x1, true, []byte(`{"type":"move","direction":"UP"}`))
	c := &frameConn{flood: rate.NewLimiter(rate.Inf, 1), maxMessageTime: time.Minute}
	b.ReportAllocs()
	for b.Loop() {
		if err := c.follow(move); err != nil {
			b.Fatal(err)
		}
	}
}
