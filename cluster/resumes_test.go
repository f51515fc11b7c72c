package cluster

import (
	"maps"
	"testing"

	"github.com/nats-io/nats.go/jetstream"

	"github.com/arena-server/arena/internal/natstest"
	"github.com/arena-server/arena/room"
)

// TestResumeRecords: a resume recorded by one node is followed by another
// (hashes only); a forgotten one is not; a record that does not decode,
// and keys that are no token hashes, are ignored.
func TestResumeRecords(t *testing.T) {
	s := natstest.Start(t)
	a, b := open(t, s, "a"), open(t, s, "b")
	ctx := ctxT(t)
	t1, t2, t3 := room.HashToken("t1"), room.HashToken("t2"), room.HashToken("t3")
	if err := a.RecordResume(ctx, t1, t2); err != nil {
		t.Fatal(err)
	}
	if err := a.RecordResume(ctx, t2, t3); err != nil {
		t.Fatal(err)
	}
	if err := a.RecordResume(ctx, "t1", t2); err == nil {
		t.Error("a record keyed by a plaintext token was written; want it refused")
	}
	js, err := jetstream.New(natstest.Connect(t, s))
	if err != nil {
		t.Fatal(err)
	}
	kv, err := js.KeyValue(ctx, "arena_resumes")
	if err != nil {
		t.Fatal(err)
	}
	junk := room.HashToken("junk")
	if _, err := kv.Put(ctx, junk, []byte("not a hash")); err != nil {
		t.Fatal(err)
	}
	got := b.NextHashes(ctx, []string{t1, t2, t3, junk, "t1"})
	if want := map[string]string{t1: t2, t2: t3}; !maps.Equal(got, want) {
		t.Errorf("next hashes %v; want %v", got, want)
	}
	if err := a.ForgetResume(ctx, t2); err != nil {
		t.Fatal(err)
	}
	if got := b.NextHashes(ctx, []string{t2}); len(got) != 0 {
		t.Errorf("a forgotten resume: %v; want none", got)
	}
}
