package room

import (
	"context"
	"encoding/json"
	"errors"
	"io"
	"log/slog"
	"sync"
	"testing"
	"time"

	"github.com/arena-server/arena/game"
	"github.com/arena-server/arena/games/tag"
)

// fakeDirectory is a cluster of one node, whose resume records live in a
// map, and whose claims restore doc, if set.
type fakeDirectory struct {
	mu      sync.Mutex
	next    map[string]string // the records: hash → next hash
	failing bool              // RecordResume fails, as with NATS away
	doc     []byte
}

func (d *fakeDirectory) Claim(context.Context, string, string, map[string]string, int, int, Privacy) ([]byte, error) {
	d.mu.Lock()
	defer d.mu.Unlock()
	return d.doc, nil
}

func (d *fakeDirectory) Release(string)               {}
func (d *fakeDirectory) Owner(string) *ElsewhereError { return nil }

func (d *fakeDirectory) RecordResume(_ context.Context, old, next string) error {
	d.mu.Lock()
	defer d.mu.Unlock()
	if d.failing {
		return errors.New("NATS is away")
	}
	d.next[old] = next
	return nil
}

func (d *fakeDirectory) ForgetResume(_ context.Context, old string) {
	d.mu.Lock()
	defer d.mu.Unlock()
	delete(d.next, old)
}

func (d *fakeDirectory) NextHashes(_ context.Context, hashes []string) map[string]string {
	d.mu.Lock()
	defer d.mu.Unlock()
	out := make(map[string]string)
	for _, h := range hashes {
		if n, ok := d.next[h]; ok {
			out[h] = n
		}
	}
	return out
}

func newClusterManager(t *testing.T, dir *fakeDirectory) *Manager {
	t.Helper()
	m, err := NewManager(ManagerConfig{Modes: []game.Mode{tag.Mode}, Room: Settings{ResumeGrace: time.Minute}, Directory: dir,
		Logger: slog.New(slog.NewTextHandler(io.Discard, nil))})
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(m.Close)
	return m
}

// TestAClusterResumeRotatesOnlyToARecordedToken: in a cluster, a resume's
// new token is recorded (hashes only) before the player gets it; if it
// cannot be, the player keeps its token, which still works.
func TestAClusterResumeRotatesOnlyToARecordedToken(t *testing.T) {
	dir := &fakeDirectory{next: map[string]string{}}
	m := newClusterManager(t, dir)
	ctx := context.Background()
	_, j, err := m.Join(ctx, "keep", "", JoinRequest{Client: &fakeClient{}})
	if err != nil {
		t.Fatal(err)
	}
	_, r1, err := m.Join(ctx, "keep", "", JoinRequest{Client: &fakeClient{}, Token: j.Token})
	if err != nil || !r1.Resumed || r1.Token == j.Token {
		t.Fatalf("resume: %+v, %v; want a resume with a new token", r1, err)
	}
	if got := dir.next[HashToken(j.Token)]; got != HashToken(r1.Token) {
		t.Errorf("the record of the resume: %q; want the new token's hash %q", got, HashToken(r1.Token))
	}

	dir.mu.Lock()
	dir.failing = true
	dir.mu.Unlock()
	_, r2, err := m.Join(ctx, "", "", JoinRequest{Client: &fakeClient{}, Token: r1.Token})
	if err != nil || !r2.Resumed || r2.Token != r1.Token {
		t.Fatalf("resume with no record possible: %+v, %v; want a resume keeping token %q", r2, err, r1.Token)
	}
	_, r3, err := m.Join(ctx, "", "", JoinRequest{Client: &fakeClient{}, Token: r1.Token})
	if err != nil || !r3.Resumed || r3.Player != j.Player {
		t.Fatalf("the kept token again: %+v, %v; want player %d resumed", r3, err, j.Player)
	}

	dir.mu.Lock()
	dir.failing = false
	dir.mu.Unlock()
	// A token this node does not know gets no record.
	if _, _, err := m.Join(ctx, "keep", "", JoinRequest{Client: &fakeClient{}, Token: "unknown"}); err != nil {
		t.Fatal(err)
	}
	// A resume that does not happen (the token's player is in another
	// room than the one named) leaves no record behind.
	if _, _, err := m.Join(ctx, "other", "", JoinRequest{Client: &fakeClient{}, Token: r1.Token}); err != nil {
		t.Fatal(err)
	}
	if len(dir.next) != 1 {
		t.Errorf("records %v; want only the first resume's", dir.next)
	}
}

// TestAClaimedRoomFollowsRecordedResumes: a room taken over from a dead
// node's checkpoint follows each member's recorded resumes, several in a
// row: the newest token resumes the player, the spent ones nobody.
func TestAClaimedRoomFollowsRecordedResumes(t *testing.T) {
	doc, tokens := exportedTokens(t, tag.Mode)
	spent := []string{tokens[0], "second", "third"}
	dir := &fakeDirectory{doc: doc, next: map[string]string{
		HashToken(spent[0]): HashToken(spent[1]),
		HashToken(spent[1]): HashToken(spent[2]),
		HashToken(spent[2]): HashToken("newest"),
	}}
	m := newClusterManager(t, dir)
	ctx := context.Background()
	var d Document
	if err := json.Unmarshal(doc, &d); err != nil {
		t.Fatal(err)
	}
	for _, tok := range spent {
		_, j, err := m.Join(ctx, d.Room, "", JoinRequest{Client: &fakeClient{}, Token: tok})
		if err != nil || j.Resumed {
			t.Errorf("spent token %q: %+v, %v; want a new player", tok, j, err)
		}
	}
	_, j, err := m.Join(ctx, d.Room, "", JoinRequest{Client: &fakeClient{}, Token: "newest"})
	if err != nil || !j.Resumed || j.Player != d.Members[0].ID {
		t.Errorf("the newest token: %+v, %v; want player %d resumed", j, err, d.Members[0].ID)
	}
	_, j, err = m.Join(ctx, d.Room, "", JoinRequest{Client: &fakeClient{}, Token: tokens[1]})
	if err != nil || !j.Resumed || j.Player != d.Members[1].ID {
		t.Errorf("the other member, who never resumed: %+v, %v; want player %d resumed", j, err, d.Members[1].ID)
	}
}
