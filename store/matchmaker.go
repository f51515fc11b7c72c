package store

import (
	"context"
	"database/sql"
	"encoding/json"
	"errors"
	"fmt"
	"time"
)

// The states of a matchmaker ticket.
const (
	TicketWaiting   = "waiting"
	TicketMatched   = "matched"
	TicketCancelled = "cancelled"
	TicketExpired   = "expired"
)

// ErrTicketTaken is MatchTickets's answer when a ticket of the match no
// longer waits: another matcher took it, or its player cancelled it. None
// of the match's tickets is taken then.
var ErrTicketTaken = errors.New("store: a ticket no longer waits")

// ErrAlreadyQueued is AddTicket's answer for an account that has a
// waiting ticket already.
var ErrAlreadyQueued = errors.New("store: the account has a waiting ticket")

// MatchTicket is a matchmaker ticket as the store keeps it.
type MatchTicket struct {
	ID      string
	Account string
	Pool    string // its mode and options, as one key
	Mode    string
	Options map[string]string
	Party   []string
	Mu      float64
	Sigma   float64
	Created time.Time
	Expires time.Time
	State   string
	// Once matched: the room, where it runs, a seat per account of the
	// ticket, and its team (0: none).
	Room  string
	URL   string
	Seats map[string]string
	Team  int
}

// TicketMatch is where a matcher puts one ticket.
type TicketMatch struct {
	ID    string
	Room  string
	URL   string
	Seats map[string]string
	Team  int
}

const ticketColumns = `id, account, pool, mode, options, party, mu, sigma, created_at, expires_at, state, room, url, seats, team`

func scanTicket(row interface{ Scan(...any) error }) (MatchTicket, error) {
	var t MatchTicket
	var options, party, seats string
	var created, expires int64
	err := row.Scan(&t.ID, &t.Account, &t.Pool, &t.Mode, &options, &party, &t.Mu, &t.Sigma, &created, &expires, &t.State, &t.Room, &t.URL, &seats, &t.Team)
	if err != nil {
		return t, err
	}
	t.Created, t.Expires = fromMicro(created), fromMicro(expires)
	err = errors.Join(json.Unmarshal([]byte(options), &t.Options), json.Unmarshal([]byte(party), &t.Party), json.Unmarshal([]byte(seats), &t.Seats))
	return t, err
}

func jsonText(v any) string {
	b, _ := json.Marshal(v) // maps of strings and slices of them: never fails
	return string(b)
}

// AddTicket puts a waiting ticket in the pool; an account with one
// waiting already is ErrAlreadyQueued.
func (db *DB) AddTicket(ctx context.Context, t MatchTicket) error {
	if t.Options == nil {
		t.Options = map[string]string{}
	}
	if t.Party == nil {
		t.Party = []string{}
	}
	_, err := db.SQL.ExecContext(ctx, db.rebind(`INSERT INTO matchmaker_tickets (`+ticketColumns+`, updated_at)
		VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, '', '', '{}', 0, ?)`),
		t.ID, t.Account, t.Pool, t.Mode, jsonText(t.Options), jsonText(t.Party), t.Mu, t.Sigma, micro(t.Created), micro(t.Expires), TicketWaiting, micro(t.Created))
	if err != nil && classify(err) == uniqueOther {
		return fmt.Errorf("store: add ticket: %w", ErrAlreadyQueued)
	}
	if err != nil {
		return fmt.Errorf("store: add ticket: %w", err)
	}
	return nil
}

// QueuedIn returns the ID of a waiting ticket that holds any of the
// accounts, as its account or in its party, or "" if none does. A
// ticket's party is JSON text: a party member is found by its quoted ID
// in it (IDs hold no quotes).
func (db *DB) QueuedIn(ctx context.Context, accounts []string, now time.Time) (string, error) {
	for _, a := range accounts {
		var id string
		err := db.SQL.QueryRowContext(ctx, db.rebind(`SELECT id FROM matchmaker_tickets WHERE state = ? AND expires_at > ? AND (account = ? OR party LIKE ?) LIMIT 1`),
			TicketWaiting, micro(now), a, "%"+jsonText(a)+"%").Scan(&id)
		if err == nil {
			return id, nil
		}
		if !errors.Is(err, sql.ErrNoRows) {
			return "", fmt.Errorf("store: queued in: %w", err)
		}
	}
	return "", nil
}

// Ticket returns a ticket, whatever its state, or ErrNotFound.
func (db *DB) Ticket(ctx context.Context, id string) (MatchTicket, error) {
	t, err := scanTicket(db.SQL.QueryRowContext(ctx, db.rebind(`SELECT `+ticketColumns+` FROM matchmaker_tickets WHERE id = ?`), id))
	if errors.Is(err, sql.ErrNoRows) {
		return t, fmt.Errorf("store: ticket: %w", ErrNotFound)
	}
	if err != nil {
		return t, fmt.Errorf("store: ticket: %w", err)
	}
	return t, nil
}

// CancelTicket takes account's waiting ticket id out of the pool. A ticket
// that is not account's, or no longer waits, is ErrNotFound.
func (db *DB) CancelTicket(ctx context.Context, id, account string, now time.Time) error {
	res, err := db.SQL.ExecContext(ctx, db.rebind(`UPDATE matchmaker_tickets SET state = ?, updated_at = ? WHERE id = ? AND account = ? AND state = ?`),
		TicketCancelled, micro(now), id, account, TicketWaiting)
	return affected("cancel ticket", res, err)
}

// WaitingTickets returns the tickets in the pool at now, oldest first.
func (db *DB) WaitingTickets(ctx context.Context, now time.Time) ([]MatchTicket, error) {
	rows, err := db.SQL.QueryContext(ctx, db.rebind(`SELECT `+ticketColumns+` FROM matchmaker_tickets WHERE state = ? AND expires_at > ? ORDER BY created_at, id`),
		TicketWaiting, micro(now))
	if err != nil {
		return nil, fmt.Errorf("store: waiting tickets: %w", err)
	}
	defer rows.Close()
	var out []MatchTicket
	for rows.Next() {
		t, err := scanTicket(rows)
		if err != nil {
			return nil, fmt.Errorf("store: waiting tickets: %w", err)
		}
		out = append(out, t)
	}
	if err := rows.Err(); err != nil {
		return nil, fmt.Errorf("store: waiting tickets: %w", err)
	}
	return out, nil
}

// ExpireTickets marks the waiting tickets past their expiry expired, and
// deletes the tickets that left the pool before forget (their players had
// time to read how they ended).
func (db *DB) ExpireTickets(ctx context.Context, now, forget time.Time) error {
	_, err1 := db.SQL.ExecContext(ctx, db.rebind(`UPDATE matchmaker_tickets SET state = ?, updated_at = ? WHERE state = ? AND expires_at <= ?`),
		TicketExpired, micro(now), TicketWaiting, micro(now))
	_, err2 := db.SQL.ExecContext(ctx, db.rebind(`DELETE FROM matchmaker_tickets WHERE state <> ? AND updated_at < ?`), TicketWaiting, micro(forget))
	if err := errors.Join(err1, err2); err != nil {
		return fmt.Errorf("store: expire tickets: %w", err)
	}
	return nil
}

// MatchTickets takes the tickets of one room out of the pool, all of them
// or none: a ticket that no longer waits (another matcher took it, its
// player cancelled it, it expired) is ErrTicketTaken, and no ticket is
// taken. The update takes a row only if it still waits, which Postgres
// re-checks after a concurrent writer commits, so two matchers never
// both take a ticket.
func (db *DB) MatchTickets(ctx context.Context, ms []TicketMatch, now time.Time) error {
	return db.tx(ctx, "match tickets", func(tx *sql.Tx) error {
		q := db.rebind(`UPDATE matchmaker_tickets SET state = ?, room = ?, url = ?, seats = ?, team = ?, updated_at = ?
			WHERE id = ? AND state = ? AND expires_at > ?`)
		for _, m := range ms {
			res, err := tx.ExecContext(ctx, q, TicketMatched, m.Room, m.URL, jsonText(m.Seats), m.Team, micro(now), m.ID, TicketWaiting, micro(now))
			if err != nil {
				return fmt.Errorf("store: match tickets: %w", err)
			}
			if n, err := res.RowsAffected(); err != nil || n != 1 {
				return fmt.Errorf("store: match ticket %s: %w", m.ID, ErrTicketTaken)
			}
		}
		return nil
	})
}

// Lease takes or renews the lease name for holder until now+ttl, and
// reports whether holder has it: it does if nobody had it, it had it
// already, or the last holder's lapsed.
func (db *DB) Lease(ctx context.Context, name, holder string, now time.Time, ttl time.Duration) (bool, error) {
	res, err := db.SQL.ExecContext(ctx, db.rebind(`INSERT INTO matchmaker_lease (name, holder, until) VALUES (?, ?, ?)
		ON CONFLICT (name) DO UPDATE SET holder = excluded.holder, until = excluded.until
		WHERE matchmaker_lease.holder = excluded.holder OR matchmaker_lease.until <= ?`),
		name, holder, micro(now.Add(ttl)), micro(now))
	if err != nil {
		return false, fmt.Errorf("store: lease %s: %w", name, err)
	}
	n, err := res.RowsAffected()
	if err != nil {
		return false, fmt.Errorf("store: lease %s: %w", name, err)
	}
	return n == 1, nil
}
