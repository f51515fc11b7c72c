// Package password hashes passwords with argon2id and checks them in
// constant time: room passwords, and accounts' (package accounts). Only
// the encoded hash is ever kept: in a room's configuration, its
// checkpoints and the documents that move it, or in an account's row.
//
// Hash and Verify take a password of any length: how long one may be is
// the caller's policy (MaxLen for a room's, 256 bytes for an account's),
// checked where the caller validates its input.
package password

import (
	"context"
	"crypto/rand"
	"crypto/subtle"
	"encoding/base64"
	"errors"
	"fmt"
	"strings"

	"golang.org/x/crypto/argon2"
)

// OWASP's parameters for argon2id (Password Storage Cheat Sheet): 19 MiB,
// two passes, one lane; a 16-byte salt and a 32-byte key.
const (
	memoryKiB = 19456
	passes    = 2
	lanes     = 1
	saltLen   = 16
	keyLen    = 32
)

// MaxLen bounds a room's password, in bytes: argon2 takes any length, but
// a client's text is always bounded. Accounts allow 256 (package accounts).
const MaxLen = 128

// ErrMalformed is returned by Verify for an encoded hash it cannot read.
var ErrMalformed = errors.New("password: malformed hash")

// slots bounds the hashes computed at once. One costs ~20-50 ms of a core
// and 19 MiB: without a bound, a flood of joins or creations of passworded
// rooms would take every core and a great deal of memory from the rooms'
// ticks. Two at a time leaves the rest of the box to the game; callers
// past them wait, as long as their context lets them.
var slots = make(chan struct{}, 2)

func acquire(ctx context.Context) error {
	select {
	case slots <- struct{}{}:
		return nil
	case <-ctx.Done():
		return fmt.Errorf("password: waiting to hash: %w", ctx.Err())
	}
}

func release() { <-slots }

// Hash returns password's argon2id hash with a fresh salt, encoded in the
// PHC string format: $argon2id$v=19$m=19456,t=2,p=1$SALT$KEY.
func Hash(ctx context.Context, password string) (string, error) {
	salt := make([]byte, saltLen)
	_, _ = rand.Read(salt)
	if err := acquire(ctx); err != nil {
		return "", err
	}
	key := argon2.IDKey([]byte(password), salt, passes, memoryKiB, lanes, keyLen)
	release()
	enc := base64.RawStdEncoding
	return fmt.Sprintf("$argon2id$v=%d$m=%d,t=%d,p=%d$%s$%s", argon2.Version, memoryKiB, passes, lanes,
		enc.EncodeToString(salt), enc.EncodeToString(key)), nil
}

// Verify reports whether password is the one encoded hashes. The
// parameters are the hash's own, bounded so that a forged hash (from a
// tampered checkpoint) cannot make one check cost more than ours does;
// the keys are compared in constant time.
func Verify(ctx context.Context, encoded, password string) (bool, error) {
	salt, key, m, t, p, err := decode(encoded)
	if err != nil {
		return false, err
	}
	if err := acquire(ctx); err != nil {
		return false, err
	}
	got := argon2.IDKey([]byte(password), salt, t, m, p, uint32(len(key)))
	release()
	return subtle.ConstantTimeCompare(got, key) == 1, nil
}

// Valid reports whether encoded is a hash Verify reads.
func Valid(encoded string) bool {
	_, _, _, _, _, err := decode(encoded)
	return err == nil
}

func decode(encoded string) (salt, key []byte, m, t uint32, p uint8, err error) {
	parts := strings.Split(encoded, "$")
	if len(parts) != 6 || parts[0] != "" || parts[1] != "argon2id" {
		return nil, nil, 0, 0, 0, ErrMalformed
	}
	var v int
	if _, err := fmt.Sscanf(parts[2], "v=%d", &v); err != nil || v != argon2.Version {
		return nil, nil, 0, 0, 0, ErrMalformed
	}
	if _, err := fmt.Sscanf(parts[3], "m=%d,t=%d,p=%d", &m, &t, &p); err != nil ||
		m < 8*uint32(max(p, 1)) || m > memoryKiB || t < 1 || t > passes || p < 1 || p > lanes {
		return nil, nil, 0, 0, 0, ErrMalformed
	}
	enc := base64.RawStdEncoding
	salt, err1 := enc.DecodeString(parts[4])
	key, err2 := enc.DecodeString(parts[5])
	if err1 != nil || err2 != nil || len(salt) < 8 || len(salt) > 64 || len(key) < 16 || len(key) > 64 {
		return nil, nil, 0, 0, 0, ErrMalformed
	}
	return salt, key, m, t, p, nil
}
