package accounts

import (
	"context"
	"errors"
	"fmt"
	"sync"
	"time"

	"github.com/arena-server/arena/store"
)

// sanction is what voids an account's tokens before they expire.
type sanction struct {
	revokedBefore time.Time // tokens issued before it are void
	bannedUntil   time.Time // zero: not banned
	reason        string
	// learned is when a ban was learned. A poll that began before it
	// does not clear the ban: it may simply not have seen it yet.
	learned time.Time
}

// revocations is every sanction this node knows of that can still void a
// token, by account ID. Authenticate reads it on every join, so it is a
// map behind a read lock rather than a query.
type revocations struct {
	mu sync.RWMutex
	m  map[string]sanction
	// since is when the last successful poll began: the next asks the
	// store for sign-outs from a little before it.
	since time.Time
}

func (r *revocations) init() { r.m = make(map[string]sanction) }

// check refuses a token issued at iat for account if it is banned now or
// signed out everywhere after iat.
func (r *revocations) check(account string, iat, now time.Time) error {
	r.mu.RLock()
	sc, ok := r.m[account]
	r.mu.RUnlock()
	if !ok {
		return nil
	}
	if sc.bannedUntil.After(now) {
		return &BanError{Reason: sc.reason, Until: sc.bannedUntil}
	}
	if iat.Before(sc.revokedBefore) {
		return ErrRevoked
	}
	return nil
}

// revoke records that account's tokens issued before before are void,
// and reports whether that is news (so that live connections are closed
// once, not again for every node that repeats it).
func (r *revocations) revoke(account string, before time.Time) bool {
	r.mu.Lock()
	defer r.mu.Unlock()
	sc := r.m[account]
	if !before.After(sc.revokedBefore) {
		return false
	}
	sc.revokedBefore = before
	r.m[account] = sc
	return true
}

// ban records a ban and reports whether it is news.
func (r *revocations) ban(account string, until time.Time, reason string, learned time.Time) bool {
	r.mu.Lock()
	defer r.mu.Unlock()
	sc := r.m[account]
	news := !sc.bannedUntil.Equal(until)
	wasBanned := sc.bannedUntil.After(learned)
	sc.bannedUntil, sc.reason, sc.learned = until, reason, learned
	r.m[account] = sc
	return news && !wasBanned
}

// revokeLocal ends an account's sessions for an action of this node, and
// publishes it to the others.
func (s *Service) revokeLocal(accountID string, why Revocation, before time.Time) {
	s.rev.revoke(accountID, before)
	s.onRevoke(accountID, why)
	s.publish(accountID, why, before)
}

// publish hands a change to an account's sessions made on this node to
// Config.Publish, for the other nodes of a cluster.
func (s *Service) publish(accountID string, why Revocation, before time.Time) {
	if s.cfg.Publish != nil {
		s.cfg.Publish(accountID, why, before)
	}
}

func (s *Service) onRevoke(accountID string, why Revocation) {
	s.log.Info("accounts: sessions ended", "account", accountID, "why", why.String())
	if s.cfg.OnRevoke != nil {
		s.cfg.OnRevoke(accountID, why)
	}
}

// sinceMargin is how far before the last poll the next one looks: a
// sign-out's time is taken before its transaction commits, and nodes'
// clocks differ.
const sinceMargin = 10 * time.Second

// pollSanctions learns of the bans and sign-outs the store holds. The
// first poll (notify false, from New) reads back as far as a token can
// live and calls no OnRevoke: there is nothing live to close yet. Later
// ones call it for what is news. A ban that is no longer in the store
// (lifted, or an account deleted) is forgotten; sign-outs are forgotten
// once every token they void has expired anyway.
func (s *Service) pollSanctions(ctx context.Context, notify bool) error {
	start := s.now()
	s.rev.mu.RLock()
	since := s.rev.since
	s.rev.mu.RUnlock()
	if oldest := start.Add(-(s.cfg.AccessTTL + leeway)); since.Before(oldest) {
		since = oldest
	} else {
		since = since.Add(-sinceMargin)
	}
	list, err := s.db.Sanctions(ctx, start, since)
	if err != nil {
		return fmt.Errorf("accounts: polling sanctions: %w", err)
	}
	banned := make(map[string]bool)
	type event struct {
		id  string
		why Revocation
	}
	var events []event
	for _, a := range list {
		revNews := !a.RevokedBefore.IsZero() && s.rev.revoke(a.ID, a.RevokedBefore)
		if a.BannedUntil.After(start) {
			banned[a.ID] = true
			if s.rev.ban(a.ID, a.BannedUntil, a.BanReason, start) {
				events = append(events, event{a.ID, RevokedBanned})
				continue
			}
		}
		if revNews {
			events = append(events, event{a.ID, RevokedSignedOut})
		}
	}
	s.rev.mu.Lock()
	s.rev.since = start
	expired := start.Add(-(s.cfg.AccessTTL + leeway))
	for id, sc := range s.rev.m {
		if !banned[id] && !sc.bannedUntil.IsZero() && sc.learned.Before(start) {
			sc.bannedUntil, sc.reason = time.Time{}, ""
		}
		if sc.bannedUntil.IsZero() && sc.revokedBefore.Before(expired) {
			delete(s.rev.m, id)
			continue
		}
		s.rev.m[id] = sc
	}
	s.rev.mu.Unlock()
	if notify {
		for _, e := range events {
			s.onRevoke(e.id, e.why)
		}
	}
	return nil
}

// banOf returns the ban an account row holds now, if any.
func banOf(a store.Account, now time.Time) error {
	if a.BannedUntil.After(now) {
		return &BanError{Reason: a.BanReason, Until: a.BannedUntil}
	}
	return nil
}

// Recheck learns from the store what became of an account, for news from
// another node that names the account and nothing else (a cluster
// broadcast, cluster.Node.ServeRevoked). The store is the truth: news
// forged on the bus can make a node look, never end anyone's sessions. A
// deleted account, which leaves no row for a poll to find, has its tokens
// voided now; a ban or a sign-out is read by a poll made at once.
func (s *Service) Recheck(ctx context.Context, accountID string) {
	_, err := s.db.AccountByID(ctx, accountID)
	switch {
	case errors.Is(err, store.ErrNotFound):
		if s.rev.revoke(accountID, s.now()) {
			s.onRevoke(accountID, RevokedDeleted)
		}
	case err != nil:
		// The store is down: the poll learns of it when it is back.
		s.log.Warn("accounts: cannot recheck an account", "account", accountID, "err", err)
	default:
		select {
		case s.poke <- struct{}{}:
		default:
		}
	}
}
