package password

import (
	"context"
	"strings"
	"testing"
)

func TestHashVerify(t *testing.T) {
	ctx := context.Background()
	h, err := Hash(ctx, "s3cret")
	if err != nil {
		t.Fatal(err)
	}
	if !strings.HasPrefix(h, "$argon2id$v=19$m=19456,t=2,p=1$") || strings.Contains(h, "s3cret") {
		t.Fatalf("hash %q", h)
	}
	if !Valid(h) {
		t.Fatal("Valid refuses a hash Hash made")
	}
	if ok, err := Verify(ctx, h, "s3cret"); !ok || err != nil {
		t.Errorf("Verify(right) = %v, %v", ok, err)
	}
	if ok, err := Verify(ctx, h, "s3cre"); ok || err != nil {
		t.Errorf("Verify(wrong) = %v, %v", ok, err)
	}
	for _, bad := range []string{"", "s3cret", "$argon2i$v=19$m=19456,t=2,p=1$AAAAAAAAAAAAAAAAAAAAAA$AAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAA",
		strings.Replace(h, "m=19456", "m=1000000", 1), strings.Replace(h, "t=2", "t=90", 1)} {
		if _, err := Verify(ctx, bad, "s3cret"); err == nil {
			t.Errorf("Verify(%q) read a malformed or costlier hash", bad)
		}
	}
}

func TestHashWaitsForASlot(t *testing.T) {
	for range cap(slots) {
		slots <- struct{}{}
	}
	defer func() {
		for range cap(slots) {
			<-slots
		}
	}()
	ctx, cancel := context.WithCancel(context.Background())
	cancel()
	if _, err := Hash(ctx, "x"); err == nil {
		t.Fatal("Hash ran with every slot taken")
	}
}

// TestLongPassword: Hash and Verify hold no length policy of their own;
// accounts take passwords of up to 256 bytes.
func TestLongPassword(t *testing.T) {
	ctx := context.Background()
	pw := strings.Repeat("é", 128)
	h, err := Hash(ctx, pw)
	if err != nil {
		t.Fatal(err)
	}
	if ok, err := Verify(ctx, h, pw); !ok || err != nil {
		t.Fatalf("Verify of a 256-byte password = %v, %v", ok, err)
	}
	if ok, _ := Verify(ctx, h, pw[:254]); ok {
		t.Fatal("a prefix verified")
	}
}
