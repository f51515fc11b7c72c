package cluster

import (
	"context"
	"errors"
	"fmt"
	"time"

	"github.com/nats-io/nats.go/jetstream"

	"github.com/arena-server/arena/room"
)

// DefaultResumeTTL is how long the record of a resume is kept (see
// Directory.RecordResume). A record matters until a checkpoint newer than
// the resume is stored, which is one checkpoint interval (5 s by default)
// later, or until the room's dead node is taken over, within the node TTL
// (5 s) and at the latest the reap (1 min). Five minutes outlives both by
// far, and a NATS blip that skips checkpoints for a while with them; a
// node that cannot reach NATS for longer is taken for dead and gives its
// rooms up anyway. It is not longer because every resume of the cluster in
// that window is a key in the bucket (about 200 bytes each, hashes only).
const DefaultResumeTTL = 5 * time.Minute

// openResumes creates or binds to the bucket of resume records.
func openResumes(ctx context.Context, js jetstream.JetStream, cfg Config) (jetstream.KeyValue, error) {
	kv, err := js.CreateOrUpdateKeyValue(ctx, jetstream.KeyValueConfig{
		Bucket:      cfg.ResumesBucket,
		Description: "arena resumes: a spent token's hash → its successor's hash, until checkpoints catch up",
		History:     1,
		TTL:         cfg.ResumeTTL,
	})
	if err != nil {
		return nil, fmt.Errorf("cluster: resumes bucket %q: %w", cfg.ResumesBucket, err)
	}
	return kv, nil
}

// RecordResume records that the resume token of hash old was spent for the
// one of hash next (room.HashToken of both: the bucket never holds a
// token). A node records it before it hands the new token out, so that a
// restore from a checkpoint written before the resume follows old to next
// (NextHashes), rather than revive a spent token and refuse the new one.
func (d *Directory) RecordResume(ctx context.Context, old, next string) error {
	if !room.ValidTokenHash(old) || !room.ValidTokenHash(next) {
		return errors.New("cluster: a resume record of something other than token hashes")
	}
	if _, err := d.resumes.Put(ctx, old, []byte(next)); err != nil {
		return fmt.Errorf("cluster: recording a resume: %w", err)
	}
	return nil
}

// ForgetResume deletes the record of a resume that did not happen after
// all, so that a restore does not follow old to a token nobody was given.
func (d *Directory) ForgetResume(ctx context.Context, old string) error {
	if !room.ValidTokenHash(old) {
		return nil
	}
	if err := d.resumes.Delete(ctx, old); err != nil && !errors.Is(err, jetstream.ErrKeyNotFound) {
		return fmt.Errorf("cluster: forgetting a resume: %w", err)
	}
	return nil
}

// NextHashes returns, of hashes, those a recorded resume spent, each with
// the hash of the token it was spent for. A record that cannot be read or
// does not decode is left out, with a warning: its token then resumes as
// the checkpoint has it.
func (d *Directory) NextHashes(ctx context.Context, hashes []string) map[string]string {
	next := make(map[string]string)
	for i, h := range hashes {
		if !room.ValidTokenHash(h) {
			continue
		}
		e, err := d.resumes.Get(ctx, h)
		switch {
		case errors.Is(err, jetstream.ErrKeyNotFound):
			continue
		case err != nil && ctx.Err() != nil:
			d.log.Warn("cluster: resume records not all read; their players' tokens are the checkpoint's", "unread", len(hashes)-i, "err", err)
			return next
		case err != nil:
			d.log.Warn("cluster: a resume record not read; its player's token is the checkpoint's", "err", err)
			continue
		}
		if v := string(e.Value()); room.ValidTokenHash(v) {
			next[h] = v
		} else {
			d.log.Warn("cluster: a resume record that does not decode is ignored", "bytes", len(e.Value()))
		}
	}
	return next
}
