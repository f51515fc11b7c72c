package cluster

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"maps"
	"slices"
	"strings"
	"time"

	"github.com/nats-io/nats.go/jetstream"
)

// RoomEntry is a room as the directory knows it.
type RoomEntry struct {
	Name    string `json:"name"`
	Node    string `json:"node"`
	Mode    string `json:"mode"`
	Players int    `json:"players"`
	// Held counts the seats held for players redirected to the room,
	// which its capacity counts too.
	Held     int `json:"held,omitempty"`
	Capacity int `json:"capacity"`
	// TickRate is the room's ticks per second, for the room lists of
	// other nodes.
	TickRate int `json:"tick_rate,omitempty"`
	// Options are the room's options that lists may show
	// (game.Options.Public), which a quick-join that asks for options
	// matches. Options a mode marks secret are never here: the directory
	// is readable by every NATS user.
	Options map[string]string `json:"options,omitempty"`
	// Private rooms are never listed nor matched: they are joined by
	// name only.
	Private bool `json:"private,omitempty"`
	// Secret: the room has secret options, left out of Options; it is
	// never matched.
	Secret bool `json:"secret,omitempty"`
	// Version is the entry's KV revision, filled when read.
	Version uint64    `json:"-"`
	Updated time.Time `json:"updated"`
	// From is the dead node a Claim took the room over from, if it did.
	From string `json:"-"`

	Spectators int `json:"spectators,omitempty"` // watchers (?spectate=1), who hold no seat
}

// OwnedError is the ErrOwned of a Claim, with the owner's entry.
type OwnedError struct{ Entry RoomEntry }

func (e *OwnedError) Error() string {
	return fmt.Sprintf("%v: %q is on %q", ErrOwned, e.Entry.Name, e.Entry.Node)
}

func (e *OwnedError) Unwrap() error { return ErrOwned }

// OwnerOf returns the entry of the live owner that made a Claim fail.
func OwnerOf(err error) (RoomEntry, bool) {
	var o *OwnedError
	if errors.As(err, &o) {
		return o.Entry, true
	}
	return RoomEntry{}, false
}

// Former returns the rooms of this node's former life (see Open) not yet
// restored.
func (d *Directory) Former() []RoomEntry {
	d.mu.RLock()
	rooms := slices.Collect(maps.Values(d.former))
	d.mu.RUnlock()
	slices.SortFunc(rooms, func(a, b RoomEntry) int { return strings.Compare(a.Name, b.Name) })
	return rooms
}

// Claim makes this node the owner of room e.Name, unless a live node owns
// it already (then the error is an *OwnedError). A room whose owner died is
// taken over. Every write is a compare-and-swap, so of nodes racing for the
// same room exactly one wins.
func (d *Directory) Claim(ctx context.Context, e RoomEntry) (RoomEntry, error) {
	if err := checkName(e.Name); err != nil {
		return RoomEntry{}, err
	}
	if d.ctx.Err() != nil {
		return RoomEntry{}, ErrClosed
	}
	e.Node = d.cfg.Node
	e.Updated = time.Now()
	data, err := json.Marshal(e)
	if err != nil {
		return RoomEntry{}, err
	}
	// Each turn of the loop follows a lost race: the entry it saw changed.
	// A few are enough: a live winner ends it with ErrOwned.
	for range 5 {
		rev, err := d.rooms.Create(ctx, e.Name, data)
		if err == nil {
			if d.takeFormer(e.Name) {
				e.From = d.cfg.Node
			}
			return d.hold(e, rev), nil
		}
		if !errors.Is(err, jetstream.ErrKeyExists) {
			return RoomEntry{}, fmt.Errorf("cluster: claiming %q: %w", e.Name, err)
		}
		kve, err := d.rooms.Get(ctx, e.Name)
		if errors.Is(err, jetstream.ErrKeyNotFound) {
			continue // released meanwhile: Create again
		}
		if err != nil {
			return RoomEntry{}, fmt.Errorf("cluster: claiming %q: %w", e.Name, err)
		}
		cur, err := decodeRoom(kve)
		if err == nil && cur.Node != d.cfg.Node {
			// Ask the bucket, not our view: the view may lag a heartbeat
			// behind, and a takeover of a live node's room splits it.
			alive, err := d.alive(ctx, cur.Node)
			if err != nil {
				return RoomEntry{}, fmt.Errorf("cluster: claiming %q: %w", e.Name, err)
			}
			if alive {
				d.takeFormer(e.Name) // restored by another node meanwhile
				return RoomEntry{}, &OwnedError{Entry: cur}
			}
		}
		// Ours already (a former life of this node), unreadable, or its
		// owner is dead: take it over, unless someone beats us to it.
		// A private room stays out of lists and matching while it is
		// restored: whoever claims it may not know yet what it is.
		take := data
		if (cur.Private && !e.Private) || (cur.Secret && !e.Secret) {
			taken := e
			taken.Private, taken.Secret = e.Private || cur.Private, e.Secret || cur.Secret
			if take, err = json.Marshal(taken); err != nil {
				return RoomEntry{}, err
			}
		}
		rev, err = d.rooms.Update(ctx, e.Name, take, kve.Revision())
		if err == nil {
			e.Private, e.Secret = e.Private || cur.Private, e.Secret || cur.Secret
			if cur.Node != d.cfg.Node {
				d.log.Info("took over room of dead node", "room", e.Name, "from", cur.Node)
				e.From = cur.Node
			}
			if d.takeFormer(e.Name) {
				e.From = cur.Node // a former life of this node's: restore it
			}
			return d.hold(e, rev), nil
		}
		if !errors.Is(err, jetstream.ErrKeyRevisionMismatch) {
			return RoomEntry{}, fmt.Errorf("cluster: claiming %q: %w", e.Name, err)
		}
	}
	return RoomEntry{}, fmt.Errorf("cluster: claiming %q: too much contention", e.Name)
}

// takeFormer reports whether name is a room of this node's former life
// still to restore, and forgets it: a claim restores it now.
func (d *Directory) takeFormer(name string) bool {
	d.mu.Lock()
	defer d.mu.Unlock()
	_, ok := d.former[name]
	delete(d.former, name)
	return ok
}

func (d *Directory) hold(e RoomEntry, rev uint64) RoomEntry {
	e.Version = rev
	d.mu.Lock()
	d.owned[e.Name] = rev
	d.mu.Unlock()
	return e
}

// Update rewrites the entry of a room this node owns (its mode, players,
// capacity). It fails with ErrNotOwner if the room was taken over or
// reaped since this node last wrote it, as happens when this node's
// heartbeats failed for longer than the TTL: the caller then Claims the
// room again, or closes it if a live node now owns it.
func (d *Directory) Update(ctx context.Context, e RoomEntry) (RoomEntry, error) {
	if err := checkName(e.Name); err != nil {
		return RoomEntry{}, err
	}
	d.mu.RLock()
	rev, ok := d.owned[e.Name]
	d.mu.RUnlock()
	if !ok {
		return RoomEntry{}, fmt.Errorf("%w: %q", ErrNotOwner, e.Name)
	}
	e.Node = d.cfg.Node
	e.Updated = time.Now()
	data, err := json.Marshal(e)
	if err != nil {
		return RoomEntry{}, err
	}
	nrev, err := d.rooms.Update(ctx, e.Name, data, rev)
	if errors.Is(err, jetstream.ErrKeyRevisionMismatch) {
		d.drop(e.Name, rev)
		return RoomEntry{}, fmt.Errorf("%w: %q was taken over or deleted", ErrNotOwner, e.Name)
	}
	if err != nil {
		return RoomEntry{}, fmt.Errorf("cluster: updating %q: %w", e.Name, err)
	}
	return d.hold(e, nrev), nil
}

// Release deletes the entry of a room this node owns; it leaves alone an
// entry another node has taken over.
func (d *Directory) Release(ctx context.Context, name string) error {
	if err := checkName(name); err != nil {
		return err
	}
	d.mu.RLock()
	rev, ok := d.owned[name]
	d.mu.RUnlock()
	if !ok {
		return fmt.Errorf("%w: %q", ErrNotOwner, name)
	}
	err := forget(ctx, d.rooms, name, rev)
	if errors.Is(err, jetstream.ErrKeyRevisionMismatch) {
		d.drop(name, rev)
		return fmt.Errorf("%w: %q was taken over", ErrNotOwner, name)
	}
	if err != nil {
		return fmt.Errorf("cluster: releasing %q: %w", name, err)
	}
	d.drop(name, rev)
	return nil
}

// drop forgets a room unless a Claim or Update wrote it again meanwhile.
func (d *Directory) drop(name string, rev uint64) {
	d.mu.Lock()
	if d.owned[name] == rev {
		delete(d.owned, name)
	}
	d.mu.Unlock()
}

// Handoff makes node to the owner of a room this node owns, by
// compare-and-swap, before to imports it: from then on joins anywhere are
// sent there. It returns the entry's new revision, which Reclaim needs if
// to does not take the room.
func (d *Directory) Handoff(ctx context.Context, name, to string) (uint64, error) {
	if err := checkName(to); err != nil {
		return 0, err
	}
	d.mu.RLock()
	rev, ok := d.owned[name]
	d.mu.RUnlock()
	if !ok {
		return 0, fmt.Errorf("%w: %q", ErrNotOwner, name)
	}
	e, err := d.get(ctx, name, rev)
	if err != nil {
		return 0, err
	}
	e.Node, e.Updated = to, time.Now()
	data, err := json.Marshal(e)
	if err != nil {
		return 0, err
	}
	nrev, err := d.rooms.Update(ctx, name, data, rev)
	if errors.Is(err, jetstream.ErrKeyRevisionMismatch) {
		d.drop(name, rev)
		return 0, fmt.Errorf("%w: %q was taken over", ErrNotOwner, name)
	}
	if err != nil {
		return 0, fmt.Errorf("cluster: handing %q to %q: %w", name, to, err)
	}
	d.drop(name, rev)
	return nrev, nil
}

// Reclaim takes back a room handed off at revision rev that its new owner
// did not take. ErrNotOwner means the entry changed since: the other node
// adopted the room after all.
func (d *Directory) Reclaim(ctx context.Context, name string, rev uint64) error {
	e, err := d.get(ctx, name, rev)
	if err != nil {
		return err
	}
	e.Node, e.Updated = d.cfg.Node, time.Now()
	data, err := json.Marshal(e)
	if err != nil {
		return err
	}
	nrev, err := d.rooms.Update(ctx, name, data, rev)
	if errors.Is(err, jetstream.ErrKeyRevisionMismatch) {
		return fmt.Errorf("%w: %q changed since its handoff", ErrNotOwner, name)
	}
	if err != nil {
		return fmt.Errorf("cluster: reclaiming %q: %w", name, err)
	}
	d.hold(e, nrev)
	return nil
}

// Adopt makes this node the owner of a room another node handed to it.
func (d *Directory) Adopt(ctx context.Context, name string) error {
	if err := checkName(name); err != nil {
		return err
	}
	kve, err := d.rooms.Get(ctx, name)
	if err != nil {
		return fmt.Errorf("cluster: adopting %q: %w", name, err)
	}
	e, err := decodeRoom(kve)
	if err != nil {
		return fmt.Errorf("cluster: adopting %q: %w", name, err)
	}
	if e.Node != d.cfg.Node {
		return fmt.Errorf("%w: %q is %q's", ErrNotOwner, name, e.Node)
	}
	d.hold(e, kve.Revision())
	return nil
}

// get reads a room's entry, which must be at revision rev.
func (d *Directory) get(ctx context.Context, name string, rev uint64) (RoomEntry, error) {
	kve, err := d.rooms.Get(ctx, name)
	if errors.Is(err, jetstream.ErrKeyNotFound) {
		return RoomEntry{}, fmt.Errorf("%w: %q is gone", ErrNotOwner, name)
	}
	if err != nil {
		return RoomEntry{}, fmt.Errorf("cluster: reading %q: %w", name, err)
	}
	if kve.Revision() != rev {
		return RoomEntry{}, fmt.Errorf("%w: %q changed", ErrNotOwner, name)
	}
	return decodeRoom(kve)
}

// forget deletes a room's entry if it is still at revision rev. Its marker
// goes too after a while: a plain delete would leave one for every room
// name ever used, and every watcher reads them all on start.
func forget(ctx context.Context, kv jetstream.KeyValue, name string, rev uint64) error {
	return kv.Purge(ctx, name, jetstream.LastRevision(rev), jetstream.PurgeTTL(markerTTL))
}

// markerTTL is long enough for every live watcher to see a purge; one
// that starts later finds no key, which is all the marker would tell it.
var markerTTL = time.Minute

// Lookup returns the room's entry if its owner is alive.
func (d *Directory) Lookup(name string) (RoomEntry, bool) {
	d.mu.RLock()
	defer d.mu.RUnlock()
	r, ok := d.roomView[name]
	if !ok {
		return RoomEntry{}, false
	}
	if _, alive := d.nodeView[r.Node]; !alive {
		return RoomEntry{}, false
	}
	return r, true
}

// Rooms returns the rooms whose owners are alive, sorted by name.
func (d *Directory) Rooms() []RoomEntry {
	d.mu.RLock()
	rooms := make([]RoomEntry, 0, len(d.roomView))
	for _, r := range d.roomView {
		if _, alive := d.nodeView[r.Node]; alive {
			rooms = append(rooms, r)
		}
	}
	d.mu.RUnlock()
	slices.SortFunc(rooms, func(a, b RoomEntry) int { return strings.Compare(a.Name, b.Name) })
	return rooms
}

// Mine returns the rooms the directory gives this node, but for those of its
// former life still to restore (Former).
func (d *Directory) Mine() []RoomEntry {
	d.mu.RLock()
	var rooms []RoomEntry
	for _, r := range d.roomView {
		if _, former := d.former[r.Name]; r.Node == d.cfg.Node && !former {
			rooms = append(rooms, r)
		}
	}
	d.mu.RUnlock()
	return rooms
}

// Forget deletes the room's entry if it is still e's revision: an entry
// under this node's name for a room that does not run here.
func (d *Directory) Forget(ctx context.Context, e RoomEntry) error {
	if err := forget(ctx, d.rooms, e.Name, e.Version); err != nil {
		return fmt.Errorf("cluster: forgetting %q: %w", e.Name, err)
	}
	d.drop(e.Name, e.Version)
	return nil
}

// Orphans returns the rooms whose owners are not alive, as this node's view
// has them: rooms of a node that died, which a survivor may restore.
func (d *Directory) Orphans() []RoomEntry {
	d.mu.RLock()
	var rooms []RoomEntry
	for _, r := range d.roomView {
		if _, alive := d.nodeView[r.Node]; !alive && r.Node != d.cfg.Node {
			rooms = append(rooms, r)
		}
	}
	d.mu.RUnlock()
	slices.SortFunc(rooms, func(a, b RoomEntry) int { return strings.Compare(a.Name, b.Name) })
	return rooms
}

func decodeRoom(e jetstream.KeyValueEntry) (RoomEntry, error) {
	var r RoomEntry
	if err := json.Unmarshal(e.Value(), &r); err != nil {
		return RoomEntry{}, err
	}
	r.Name, r.Version = e.Key(), e.Revision()
	return r, nil
}
