package server

import (
	"context"
	"encoding/json"
	"errors"
	"log/slog"

	"github.com/arena-server/arena/game"
	"github.com/arena-server/arena/protocol"
	"github.com/arena-server/arena/room"
)

// Authenticator checks the access tokens of joins that sign in (?auth=1,
// then an auth message): package accounts's Service, for the program that
// runs arena. It answers at the speed of a join: arena's own tokens are
// checked without a round trip to a database.
//
// Its errors say what went wrong, for the player: one that wraps ErrBanned
// refuses the player for good, with its text (the ban's reason and end);
// ErrSignedOut likewise; ErrAuthUnavailable (or no answer within the
// handshake timeout) asks it to try again shortly. Any other error is a
// token that is not valid, or has expired (auth_failed): the client
// refreshes it and joins again.
type Authenticator interface {
	Authenticate(ctx context.Context, token string) (Identity, error)
}

// Storage keeps players' storage: package progress's Service.
type Storage interface {
	// Load reads an account's objects of the collections named, by
	// collection and key. It runs on a joining connection's goroutine,
	// within the handshake timeout; an error refuses a new player, to try
	// again shortly (storage_unavailable), rather than seat it without
	// its progress.
	Load(ctx context.Context, account string, collections []string) (map[string]map[string]json.RawMessage, error)
	// Save writes a game's save and hands done its outcome, from any
	// goroutine. It is called on a room's goroutine, and must not block.
	Save(s game.Save, done func(game.SaveResult))
	// Score writes a score a game submits to a leaderboard, from a
	// room's goroutine: it must not block.
	Score(game.Submission)
}

// Why an account's connections end, or its joins are refused: the errors
// an Authenticator wraps, and that CloseAccount takes.
var (
	ErrBanned          = errors.New("this account is banned")
	ErrSignedOut       = errors.New("this account signed out everywhere: sign in again")
	ErrAuthUnavailable = errors.New("accounts are unavailable right now; try again shortly")
)

// Refusals of a join that signs in, that are arena's to say.
var (
	// errAuthFailed: the Authenticator did not take the token. The
	// client is told no more than this: why a token fails is for logs.
	errAuthFailed = errors.New("the access token is not valid or has expired: refresh it and join again")
	// errAccountsOff: ?auth=1 on a server that checks no tokens (no
	// Authenticator, or every mode's policy is off).
	errAccountsOff = errors.New("accounts are off on this server")
	// errNoAuth: no auth message in time after ?auth=1.
	errNoAuth = errors.New("no auth message in time")
)

// resolveAuth gives every mode its auth policy, its own or the server's
// (AuthOptional by default), so that the rooms enforce one that is never
// "". The modes are copied: the caller's stay as they were.
func resolveAuth(cfg *Config) {
	if cfg.AuthPolicy == "" {
		cfg.AuthPolicy = game.AuthOptional
	}
	modes := make([]game.Mode, len(cfg.Modes))
	for i, m := range cfg.Modes {
		if m.Auth == "" {
			m.Auth = cfg.AuthPolicy
		}
		modes[i] = m
	}
	cfg.Modes = modes
}

// authPolicies says what the server's modes allow, for the checks a join
// gets before it reaches a room: whether any mode takes players who sign
// in (with an Authenticator to check them), and whether every mode
// requires them to.
func authPolicies(cfg *Config) (signIn, allRequired bool) {
	allRequired = true
	for _, m := range cfg.Modes {
		signIn = signIn || m.Auth != game.AuthOff
		allRequired = allRequired && m.Auth == game.AuthRequired
	}
	return signIn && cfg.Accounts != nil, allRequired
}

// signIn checks the access token of a join's auth message and makes the
// join its account's: the account and its name (which replaces ?name=)
// go in req, and the session is indexed by the account, for CloseAccount.
func (s *Server) signIn(sess *session, access string, req *room.JoinRequest) error {
	ctx, cancel := context.WithTimeout(sess.ctx, s.cfg.HandshakeTimeout)
	defer cancel()
	id, err := s.cfg.Accounts.Authenticate(ctx, access)
	switch {
	case err == nil:
	case errors.Is(err, ErrBanned) || errors.Is(err, ErrSignedOut):
		return err
	case errors.Is(err, ErrAuthUnavailable) || ctx.Err() != nil:
		sess.logf(slog.LevelWarn, "accounts could not check a token", "err", err)
		return ErrAuthUnavailable
	default:
		sess.logf(slog.LevelDebug, "access token refused", "err", err)
		return errAuthFailed
	}
	name := req.Name
	if id.Name != "" {
		name, err = protocol.Nickname(id.Name)
	}
	if id.Account == "" || len(id.Account) > maxAccount || err != nil {
		// The Authenticator's own fault: the player is told it could
		// not join, and the log says why.
		sess.logf(slog.LevelError, "the authenticator gave an identity arena cannot use", "account_bytes", len(id.Account), "err", err)
		return errors.New("unusable identity from the authenticator")
	}
	req.Account, req.Name, req.SignedIn = id.Account, name, true
	s.mu.Lock()
	sess.account = id.Account
	set := s.byAccount[id.Account]
	if set == nil {
		set = make(map[*session]struct{})
		s.byAccount[id.Account] = set
	}
	set[sess] = struct{}{}
	s.mu.Unlock()
	return nil
}

// CloseAccount ends every live connection of account on this server,
// players and spectators alike, and takes its players out of their rooms
// for good: their resume tokens die with them. why is ErrBanned or
// ErrSignedOut, or wraps one (a ban's text, with its reason and end, is
// shown to the player); anything else counts as a sign-out. The program
// calls it when the account is banned, signs out everywhere or is deleted
// (accounts.Config.OnRevoke), on every node.
func (s *Server) CloseAccount(account string, why error) {
	if account == "" {
		return
	}
	reason := reasonSignedOut.wire()
	if errors.Is(why, ErrBanned) {
		reason = reasonBanned.withText(closeText(why.Error()))
	}
	s.mu.Lock()
	open := make([]*session, 0, len(s.byAccount[account]))
	for sess := range s.byAccount[account] {
		open = append(open, sess)
	}
	s.mu.Unlock()
	for _, sess := range open {
		sess.closeFor(reason)
	}
	// Its players whose connection is away, or came back by resuming
	// without signing in, are the rooms' to find.
	evict := ErrSignedOut
	if reason.why == reasonBanned {
		evict = ErrBanned
	}
	s.rooms.EvictAccount(account, evict)
}

// closeText cuts text to what a close frame holds.
func closeText(text string) string {
	if len(text) > maxCloseText {
		return text[:maxCloseText]
	}
	return text
}
