package room

import (
	"crypto/rand"
	"crypto/sha256"
	"crypto/subtle"
	"encoding/base64"
)

// newToken returns 128 random bits, URL-safe: the secret that lets a player
// resume, or take a seat Reserve holds.
func newToken() string {
	var b [16]byte
	_, _ = rand.Read(b[:])
	return base64.RawURLEncoding.EncodeToString(b[:])
}

// newRoomID returns 64 random bits, URL-safe: a room's Document.ID.
func newRoomID() string {
	var b [8]byte
	_, _ = rand.Read(b[:])
	return base64.RawURLEncoding.EncodeToString(b[:])
}

// HashToken returns the hash of a token, which is all a room, its manager,
// its documents and a cluster ever keep of it: whoever reads them (a
// checkpoint in NATS, say) learns nothing a client could present.
//
// A plain SHA-256 is the right hash here, not a slow password hash: the
// tokens are 128 random bits, not chosen by people, so there is no
// dictionary to try, and brute force over 2^128 is out of reach however
// fast each guess. The hash is unpadded URL-safe base64 (43 bytes), a
// valid NATS KV key.
func HashToken(token string) string {
	sum := sha256.Sum256([]byte(token))
	return base64.RawURLEncoding.EncodeToString(sum[:])
}

// tokenHashLen is the length of every HashToken.
const tokenHashLen = 43

// ValidTokenHash reports whether h has the shape of a HashToken.
func ValidTokenHash(h string) bool {
	if len(h) != tokenHashLen {
		return false
	}
	b, err := base64.RawURLEncoding.DecodeString(h)
	return err == nil && len(b) == sha256.Size
}

// sameHash compares two token hashes in constant time, so that how long a
// wrong token takes to refuse says nothing of the right one's hash.
func sameHash(a, b string) bool {
	return subtle.ConstantTimeCompare([]byte(a), []byte(b)) == 1
}
