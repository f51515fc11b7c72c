package password

import (
	"context"
	"testing"
)

// BenchmarkVerify is the hashing cost of one login (issue 24): one
// argon2id verification at OWASP's parameters, on one goroutine. Its
// ns/op is a core's time per hash, as nothing else runs meanwhile.
func BenchmarkVerify(b *testing.B) {
	ctx := context.Background()
	h, err := Hash(ctx, "correct horse battery")
	if err != nil {
		b.Fatal(err)
	}
	for b.Loop() {
		if ok, err := Verify(ctx, h, "correct horse battery"); !ok || err != nil {
			b.Fatal(ok, err)
		}
	}
}
