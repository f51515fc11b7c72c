package cluster

import (
	"bytes"
	"crypto/ed25519"
	"encoding/base64"
	"encoding/hex"
	"errors"
	"strings"
	"testing"
	"time"

	"github.com/nats-io/nats.go/jetstream"

	"github.com/arena-server/arena/internal/natstest"
)

// TestRelaySignatures: a relay signed by a live node, for this node, this
// client and this query, within the window, verifies; a relay that differs
// in any of them, or that a node not live signed, does not.
func TestRelaySignatures(t *testing.T) {
	s := natstest.Start(t)
	a, b, c := open(t, s, "a"), open(t, s, "b"), open(t, s, "c")
	eventually(t, 5*time.Second, "a sees b and c", func() bool { return hasNode(a, "b") && hasNode(a, "c") })
	now := time.Now()
	good, sig := b.SignRelay("a", "10.1.2.3", "room=x", now)
	if err := a.VerifyRelay(good, sig, now); err != nil {
		t.Fatalf("b's relay to a: %v", err)
	}
	// c leaves the cluster; what it signs is no longer believed.
	if err := c.Leave(ctxT(t)); err != nil {
		t.Fatal(err)
	}
	eventually(t, 5*time.Second, "a sees c gone", func() bool { return !hasNode(a, "c") })

	_, stranger, _ := ed25519.GenerateKey(nil)
	signedBy := func(key ed25519.PrivateKey, r Relay) []byte { return ed25519.Sign(key, r.Message()) }
	with := func(f func(*Relay)) Relay { r := good; f(&r); return r }
	cases := []struct {
		name string
		rel  Relay
		sig  []byte
		want error
	}{
		{"no signature", good, nil, ErrRelaySignature},
		{"another key", good, signedBy(stranger, good), ErrRelaySignature},
		{"a node that is not live", good, func() []byte { _, sig := c.SignRelay("a", "10.1.2.3", "room=x", now); return sig }(), ErrRelaySignature},
		{"named as the node that is not live", with(func(r *Relay) { r.From = "c" }), func() []byte { _, sig := c.SignRelay("a", "10.1.2.3", "room=x", now); return sig }(), ErrRelayNode},
		{"an unknown node", with(func(r *Relay) { r.From = "ghost" }), signedBy(stranger, with(func(r *Relay) { r.From = "ghost" })), ErrRelayNode},
		{"another client address", with(func(r *Relay) { r.For = "10.1.2.4" }), sig, ErrRelaySignature},
		{"another query", with(func(r *Relay) { r.Query = "room=y" }), sig, ErrRelaySignature},
		{"another time", with(func(r *Relay) { r.At = now.Add(time.Second) }), sig, ErrRelaySignature},
		{"another target node, signed for", good, func() []byte { _, sig := b.SignRelay("c", "10.1.2.3", "room=x", now); return sig }(), ErrRelaySignature},
		{"another target node, named", with(func(r *Relay) { r.To = "c" }), func() []byte { _, sig := b.SignRelay("c", "10.1.2.3", "room=x", now); return sig }(), ErrRelayTarget},
	}
	for _, tc := range cases {
		if err := a.VerifyRelay(tc.rel, tc.sig, now); !errors.Is(err, tc.want) {
			t.Errorf("%s: %v; want %v", tc.name, err, tc.want)
		}
	}
	// The window, both ways.
	for _, off := range []time.Duration{-RelayWindow - time.Second, RelayWindow + time.Second} {
		r, sig := b.SignRelay("a", "10.1.2.3", "room=x", now.Add(off))
		if err := a.VerifyRelay(r, sig, now); !errors.Is(err, ErrRelayStale) {
			t.Errorf("signed %v from now: %v; want %v", off, err, ErrRelayStale)
		}
	}
	r, sig := b.SignRelay("a", "10.1.2.3", "room=x", now.Add(-RelayWindow+time.Second))
	if err := a.VerifyRelay(r, sig, now); err != nil {
		t.Errorf("signed just inside the window: %v", err)
	}
}

// TestBucketsHoldNoSecret: every key of every arena bucket in NATS, read
// as anyone who can read NATS would, holds no node's private key and no
// relay secret; the secret a cluster of the former version left there is
// deleted; and each node's heartbeat carries its public key.
func TestBucketsHoldNoSecret(t *testing.T) {
	s := natstest.Start(t)
	js, err := jetstream.New(natstest.Connect(t, s))
	if err != nil {
		t.Fatal(err)
	}
	ctx := ctxT(t)
	// A cluster of the former version left its secret in arena_ids.
	ids, err := js.CreateOrUpdateKeyValue(ctx, jetstream.KeyValueConfig{Bucket: "arena_ids", History: 1})
	if err != nil {
		t.Fatal(err)
	}
	if _, err := ids.Create(ctx, legacySecretKey, []byte("the-old-shared-secret")); err != nil {
		t.Fatal(err)
	}
	a, b := open(t, s, "a"), open(t, s, "b")
	eventually(t, 5*time.Second, "a sees b", func() bool { return hasNode(a, "b") })
	if _, err := a.Claim(ctx, RoomEntry{Name: "r", Mode: "dots"}); err != nil {
		t.Fatal(err)
	}
	if err := a.SaveDoc(ctx, "r", []byte(`{"doc":1}`)); err != nil {
		t.Fatal(err)
	}

	var secrets [][]byte
	for _, d := range []*Directory{a, b} {
		for _, k := range [][]byte{d.key, d.key.Seed()} {
			secrets = append(secrets, k,
				[]byte(base64.StdEncoding.EncodeToString(k)), []byte(base64.RawStdEncoding.EncodeToString(k)),
				[]byte(base64.URLEncoding.EncodeToString(k)), []byte(base64.RawURLEncoding.EncodeToString(k)),
				[]byte(hex.EncodeToString(k)))
		}
		n, ok := a.NodeOf(d.Node())
		if !ok || !bytes.Equal(n.RelayKey, d.key.Public().(ed25519.PublicKey)) {
			t.Errorf("a's view of %s: key %x; want its public key", d.Node(), n.RelayKey)
		}
	}
	check := func(where string, v []byte) {
		for _, sec := range secrets {
			if bytes.Contains(v, sec) {
				t.Errorf("%s holds a node's private key", where)
			}
		}
		if bytes.Contains(v, []byte("the-old-shared-secret")) {
			t.Errorf("%s holds the old relay secret", where)
		}
	}
	keys := 0
	for name := range js.KeyValueStoreNames(ctx).Name() {
		if !strings.HasPrefix(name, "arena_") {
			continue
		}
		kv, err := js.KeyValue(ctx, name)
		if err != nil {
			t.Fatal(err)
		}
		lister, err := kv.ListKeys(ctx)
		if err != nil && !errors.Is(err, jetstream.ErrNoKeysFound) {
			t.Fatal(err)
		}
		if lister == nil {
			continue
		}
		for key := range lister.Keys() {
			if strings.Contains(strings.ToLower(key), "secret") {
				t.Errorf("%s has a key %q", name, key)
			}
			e, err := kv.Get(ctx, key)
			if err != nil {
				t.Fatalf("%s/%s: %v", name, key, err)
			}
			check(name+"/"+key, e.Value())
			keys++
		}
	}
	for name := range js.ObjectStoreNames(ctx).Name() {
		if !strings.HasPrefix(name, "arena_") {
			continue
		}
		obs, err := js.ObjectStore(ctx, name)
		if err != nil {
			t.Fatal(err)
		}
		infos, err := obs.List(ctx)
		if err != nil && !errors.Is(err, jetstream.ErrNoObjectsFound) {
			t.Fatal(err)
		}
		for _, info := range infos {
			v, err := obs.GetBytes(ctx, info.Name)
			if err != nil {
				t.Fatal(err)
			}
			check(name+"/"+info.Name, v)
			keys++
		}
	}
	// The ID counter, two heartbeats, a room and its document.
	if keys < 5 {
		t.Errorf("read %d keys and objects; want the 5 the cluster wrote at least", keys)
	}
}
