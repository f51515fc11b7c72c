package cluster

import (
	"context"
	"encoding/binary"
	"errors"
	"fmt"
	"sync"
	"time"

	"github.com/nats-io/nats.go/jetstream"

	"github.com/arena-server/arena/game"
)

// idBlock is how many player IDs a node reserves at a time: one round trip
// per thousand players, and 4 million blocks before uint32 runs out.
const idBlock = 1024

// IDs hands out player IDs unique across the cluster: each node reserves
// blocks of them from a counter in a JetStream KV bucket, by
// compare-and-swap, and deals them out locally. The next block is reserved
// in the background once half of the current one is gone. New never waits
// on NATS: it runs on a room's goroutine, and a NATS stall there would
// stall the room's ticks. With no ID at hand it returns 0 at once, and the
// join is refused with a code that says to try again.
type IDs struct {
	kv      jetstream.KeyValue
	timeout time.Duration

	mu        sync.Mutex
	next, end uint32 // the current block: next up to end
	spare     uint32 // the first ID of a reserved block not yet used; 0: none
	fetching  bool
	// counter is the cluster counter's value as this node last saw it:
	// how much of the ID space the cluster has reserved.
	counter uint64
}

const idsKey = "next"

// OpenIDs binds to (or creates) the bucket of the cluster's ID counter.
func OpenIDs(ctx context.Context, js jetstream.JetStream, bucket string) (*IDs, error) {
	if bucket == "" {
		bucket = "arena_ids"
	}
	kv, err := js.CreateOrUpdateKeyValue(ctx, jetstream.KeyValueConfig{
		Bucket:      bucket,
		Description: "arena's player ID counter",
		History:     1,
	})
	if err != nil {
		return nil, fmt.Errorf("cluster: ids bucket %q: %w", bucket, err)
	}
	ids := &IDs{kv: kv, timeout: 2 * time.Second}
	first, err := ids.reserve(ctx)
	if err != nil {
		return nil, err
	}
	ids.next, ids.end = first, first+idBlock
	return ids, nil
}

// New returns an ID no node of the cluster has handed out, or 0 if none is
// at hand (NATS away, or joins faster than a round trip per half block):
// it never waits, and a block is then on its way for the next join.
func (ids *IDs) New() game.PlayerID {
	ids.mu.Lock()
	defer ids.mu.Unlock()
	if ids.next == ids.end && ids.spare != 0 {
		ids.next, ids.end, ids.spare = ids.spare, ids.spare+idBlock, 0
	}
	var id uint32
	if ids.next != ids.end {
		id = ids.next
		ids.next++
	}
	if ids.end-ids.next < idBlock/2 && ids.spare == 0 && !ids.fetching {
		ids.fetching = true
		go ids.fetchSpare()
	}
	return game.PlayerID(id)
}

// Used returns the share of the cluster's ID space (2³² IDs) reserved so
// far, as this node last saw the counter: a cluster near 1 runs out of
// player IDs, and joins fail.
func (ids *IDs) Used() float64 {
	ids.mu.Lock()
	defer ids.mu.Unlock()
	return float64(ids.counter) / (1 << 32)
}

func (ids *IDs) fetchSpare() {
	ctx, cancel := context.WithTimeout(context.Background(), ids.timeout)
	defer cancel()
	first, err := ids.reserve(ctx)
	ids.mu.Lock()
	defer ids.mu.Unlock()
	ids.fetching = false
	if err == nil {
		ids.spare = first
	}
}

// reserve takes the next block from the counter.
func (ids *IDs) reserve(ctx context.Context) (uint32, error) {
	for range 10 {
		e, err := ids.kv.Get(ctx, idsKey)
		var rev uint64
		first := uint64(1) // 0 is no player
		switch {
		case errors.Is(err, jetstream.ErrKeyNotFound):
		case err != nil:
			return 0, fmt.Errorf("cluster: reading the ID counter: %w", err)
		case len(e.Value()) != 8:
			return 0, errors.New("cluster: the ID counter is not 8 bytes")
		default:
			rev, first = e.Revision(), binary.BigEndian.Uint64(e.Value())
		}
		if first+idBlock > 1<<32 {
			return 0, errors.New("cluster: player IDs are used up")
		}
		val := binary.BigEndian.AppendUint64(nil, first+idBlock)
		if rev == 0 {
			_, err = ids.kv.Create(ctx, idsKey, val)
		} else {
			_, err = ids.kv.Update(ctx, idsKey, val, rev)
		}
		if err == nil {
			ids.mu.Lock()
			ids.counter = max(ids.counter, first+idBlock)
			ids.mu.Unlock()
			return uint32(first), nil
		}
		if !errors.Is(err, jetstream.ErrKeyExists) && !errors.Is(err, jetstream.ErrKeyRevisionMismatch) {
			return 0, fmt.Errorf("cluster: reserving player IDs: %w", err)
		}
	}
	return 0, errors.New("cluster: reserving player IDs: too much contention")
}

// legacySecretKey held the relay secret the cluster's nodes once shared,
// in plaintext. Nodes sign their relays with keys of their own now; the
// first node of this version to start deletes the old secret, so that a
// dump of the bucket no longer hands it over.
const legacySecretKey = "relay-secret"

func (ids *IDs) forgetLegacySecret(ctx context.Context) error {
	_, err := ids.kv.Get(ctx, legacySecretKey)
	if errors.Is(err, jetstream.ErrKeyNotFound) {
		return nil
	}
	if err == nil {
		err = ids.kv.Purge(ctx, legacySecretKey)
	}
	if err != nil {
		return fmt.Errorf("cluster: deleting the old relay secret: %w", err)
	}
	return nil
}
