package server

import (
	"bytes"
	"compress/flate"
	"encoding/binary"
	"strings"
	"sync"

	"github.com/gorilla/websocket"
)

// Message types, as the codecs name them: gorilla's, which are the frame
// opcodes of RFC 6455.
const (
	textMessage   = websocket.TextMessage
	binaryMessage = websocket.BinaryMessage
)

// Sessions write their frames themselves, straight into the socket without
// blocking (session.writeLocked); gorilla reads. A server's frame is a
// header and the payload, unmasked.

// appendFrameHeader appends a frame header (RFC 6455, section 5.2) with
// its first byte b0 (FIN, RSV bits, opcode) for n payload bytes.
func appendFrameHeader(b []byte, b0 byte, n int) []byte {
	switch {
	case n < 126:
		return append(b, b0, byte(n))
	case n <= 65535:
		return binary.BigEndian.AppendUint16(append(b, b0, 126), uint16(n))
	}
	return binary.BigEndian.AppendUint64(append(b, b0, 127), uint64(n))
}

// prepared is a message encoded once for many connections: a seed state,
// the same for every seed client of a room. It is framed once, and
// compressed once for the clients that negotiated permessage-deflate.
type prepared struct {
	msgType int
	data    []byte

	plainOnce sync.Once
	plain     []byte

	deflateOnce sync.Once
	deflated    []byte
	err         error
}

func prepare(msgType int, data []byte) *prepared {
	return &prepared{msgType: msgType, data: data}
}

// frame is the whole frame for a client, compressed or not.
func (p *prepared) frame(deflate bool) ([]byte, error) {
	if deflate {
		p.deflateOnce.Do(p.compress)
		return p.deflated, p.err
	}
	p.plainOnce.Do(func() {
		p.plain = appendFrameHeader(make([]byte, 0, len(p.data)+10), 0x80|byte(p.msgType), len(p.data))
		p.plain = append(p.plain, p.data...)
	})
	return p.plain, nil
}

// compress builds the compressed frame (RFC 7692, section 7.2.1): no
// context carried over from earlier messages, as the handshake promised
// (server_no_context_takeover), the flush's trailing 00 00 ff ff cut, and
// the RSV1 bit set.
func (p *prepared) compress() {
	var body bytes.Buffer
	fw, err := flate.NewWriter(&body, flate.BestSpeed)
	if err == nil {
		_, err = fw.Write(p.data)
	}
	if err == nil {
		err = fw.Flush()
	}
	if err != nil {
		p.err = err
		return
	}
	payload := bytes.TrimSuffix(body.Bytes(), []byte{0, 0, 0xff, 0xff})
	p.deflated = appendFrameHeader(make([]byte, 0, len(payload)+10), 0x80|0x40|byte(p.msgType), len(payload))
	p.deflated = append(p.deflated, payload...)
}

// offersDeflate reports whether a handshake's extension headers offer
// permessage-deflate, which the upgrader then accepts.
func offersDeflate(h []string) bool {
	for _, v := range h {
		for ext := range strings.SplitSeq(v, ",") {
			name, _, _ := strings.Cut(ext, ";")
			if strings.TrimSpace(name) == "permessage-deflate" {
				return true
			}
		}
	}
	return false
}
