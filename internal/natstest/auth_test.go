package natstest

import (
	"errors"
	"strings"
	"testing"
	"time"

	"github.com/nats-io/nats-server/v2/server"
	"github.com/nats-io/nats.go"
)

// TestEveryWayToAuthenticateLetsTheRightUserInAndNoOneElse starts a
// server for each helper and connects with and without its credentials.
func TestEveryWayToAuthenticateLetsTheRightUserInAndNoOneElse(t *testing.T) {
	t.Parallel()
	seed, pub := Nkey(t)
	op := NewOperator(t)
	tlsFiles := NewTLS(t)
	for _, tc := range []struct {
		name      string
		configure func(*server.Options)
		right     []nats.Option
	}{
		{"password", Users(nil, "arena", "s3cret"), []nats.Option{nats.UserInfo("arena", "s3cret")}},
		{"token", func(o *server.Options) { o.Authorization = "t0ken" }, []nats.Option{nats.Token("t0ken")}},
		{"nkey", func(o *server.Options) { o.Nkeys = []*server.NkeyUser{{Nkey: pub}} }, []nats.Option{must(nats.NkeyOptionFromSeed(seed))}},
		{"creds", op.Configure, []nats.Option{nats.UserCredentials(op.Creds(t, nil))}},
		{"tls", tlsFiles.Configure, []nats.Option{nats.RootCAs(tlsFiles.CA), nats.ClientCert(tlsFiles.ClientCert, tlsFiles.ClientKey)}},
	} {
		t.Run(tc.name, func(t *testing.T) {
			s := StartWith(t, tc.configure)
			nc, err := nats.Connect(s.ClientURL(), tc.right...)
			if err != nil {
				t.Fatalf("with credentials: %v", err)
			}
			defer nc.Close()
			// JetStream works for the user: the account has it.
			if _, err := nc.Request("$JS.API.INFO", nil, 5*time.Second); err != nil {
				t.Errorf("JetStream: %v", err)
			}
			if nc, err := nats.Connect(s.ClientURL(), nats.Timeout(2*time.Second)); err == nil {
				nc.Close()
				t.Errorf("connected without credentials")
			}
		})
	}
}

// TestArenaPermissionsDenyOtherSubjects: a user with ArenaPermissions may
// not touch another application's subjects or streams.
func TestArenaPermissionsDenyOtherSubjects(t *testing.T) {
	t.Parallel()
	s := StartWith(t, Users(ArenaPermissions(), "arena", "s3cret"))
	errs := make(chan error, 10)
	nc := ConnectURL(t, s.ClientURL(), nats.UserInfo("arena", "s3cret"),
		nats.ErrorHandler(func(_ *nats.Conn, _ *nats.Subscription, err error) { errs <- err }))
	for _, subject := range []string{"orders.new", "$JS.API.STREAM.CREATE.ORDERS", "$KV.other.key", "$JS.API.STREAM.DELETE.KV_arena_rooms"} {
		if err := nc.Publish(subject, nil); err != nil {
			t.Fatal(err)
		}
		select {
		case err := <-errs:
			if !errors.Is(err, nats.ErrPermissionViolation) || !strings.Contains(err.Error(), subject) {
				t.Errorf("publish to %s: %v", subject, err)
			}
		case <-time.After(5 * time.Second):
			t.Errorf("publish to %s allowed", subject)
		}
	}
}

func must[T any](v T, err error) T {
	if err != nil {
		panic(err)
	}
	return v
}
