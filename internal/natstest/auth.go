package natstest

import (
	"crypto/ecdsa"
	"crypto/elliptic"
	"crypto/rand"
	"crypto/tls"
	"crypto/x509"
	"crypto/x509/pkix"
	"encoding/pem"
	"math/big"
	"net"
	"os"
	"path/filepath"
	"sync/atomic"
	"testing"
	"time"

	"github.com/nats-io/jwt/v2"
	"github.com/nats-io/nats-server/v2/server"
	"github.com/nats-io/nkeys"
)

// ArenaPermissions is the least a NATS user needs to run an arena node:
// arena's own request subjects, the JetStream API of arena's buckets
// (cluster.Config's defaults) and nothing else, and its own inboxes.
// Each line was found needed by taking it away and running
// server.TestANodeNeedsOnlyArenasNATSPermissions, but for the flow
// control and consumer deletion of watches, which a small test directory
// does not reach. deploy/kubernetes/nats.conf grants the same set, and
// TestDeployNATSConfig holds the two equal.
func ArenaPermissions() *server.Permissions {
	pub := []string{
		"arena.node.>", // reserve and import requests between nodes
		"_INBOX.>",     // their answers
		"$JS.API.INFO", // the JetStream client asks for the account's limits
	}
	for _, b := range []struct {
		stream, subjects string
		watched          bool // read with consumers: a KV watch, an object's chunks
		purged           bool
	}{
		{"KV_arena_nodes", "$KV.arena_nodes.>", true, false},        // heartbeats
		{"KV_arena_rooms", "$KV.arena_rooms.>", true, false},        // who runs which room
		{"KV_arena_ids", "$KV.arena_ids.>", false, false},           // the player ID counter
		{"KV_arena_resumes", "$KV.arena_resumes.>", false, false},   // resumes, by token hash
		{"OBJ_arena_room_docs", "$O.arena_room_docs.>", true, true}, // checkpoints and moved rooms
	} {
		pub = append(pub,
			b.subjects,                          // put, create, update, delete
			"$JS.API.STREAM.CREATE."+b.stream,   // CreateOrUpdate, at start
			"$JS.API.STREAM.UPDATE."+b.stream,   // CreateOrUpdate, at start
			"$JS.API.DIRECT.GET."+b.stream+".>", // get a key, an object's info
		)
		if b.purged {
			pub = append(pub, "$JS.API.STREAM.PURGE."+b.stream) // replace an object's chunks
		}
		if b.watched {
			pub = append(pub,
				"$JS.API.CONSUMER.CREATE."+b.stream+".>",
				"$JS.API.CONSUMER.DELETE."+b.stream+".>",
				"$JS.FC."+b.stream+".>", // flow control of a busy consumer
			)
		}
	}
	return &server.Permissions{
		Publish: &server.SubjectPermission{Allow: pub},
		Subscribe: &server.SubjectPermission{Allow: []string{
			"arena.node.>", // this node's reserve and import requests
			"_INBOX.>",     // answers, and consumers' deliveries
		}},
	}
}

// Users makes configure add users with passwords, each allowed perms
// (nil: everything).
func Users(perms *server.Permissions, userPassword ...string) func(*server.Options) {
	return func(o *server.Options) {
		for i := 0; i+1 < len(userPassword); i += 2 {
			o.Users = append(o.Users, &server.User{Username: userPassword[i], Password: userPassword[i+1], Permissions: perms})
		}
	}
}

// Nkey makes a user nkey, writes its seed to a file of the test's own
// (what -nats-nkey reads) and returns the file and the public key, which
// server.NkeyUser names.
func Nkey(t testing.TB) (seedFile, public string) {
	t.Helper()
	kp, err := nkeys.CreateUser()
	if err != nil {
		t.Fatal(err)
	}
	seed, err := kp.Seed()
	if err != nil {
		t.Fatal(err)
	}
	public, err = kp.PublicKey()
	if err != nil {
		t.Fatal(err)
	}
	seedFile = filepath.Join(t.TempDir(), "user.nk")
	writeFile(t, seedFile, seed)
	return seedFile, public
}

// Operator is a NATS operator with one account that may use JetStream,
// for servers that authenticate users by JWT (credentials files).
type Operator struct {
	claims     *jwt.OperatorClaims
	account    nkeys.KeyPair
	accountPub string
	accountJWT string
	systemPub  string
	systemJWT  string
}

// NewOperator makes an operator and its account, with keys made now.
func NewOperator(t testing.TB) *Operator {
	t.Helper()
	okp, err := nkeys.CreateOperator()
	if err != nil {
		t.Fatal(err)
	}
	opub, _ := okp.PublicKey()
	oc := jwt.NewOperatorClaims(opub)
	oc.Name = "test"
	if _, err := oc.Encode(okp); err != nil { // signs, and sets the issuer
		t.Fatal(err)
	}
	akp, err := nkeys.CreateAccount()
	if err != nil {
		t.Fatal(err)
	}
	apub, _ := akp.PublicKey()
	ac := jwt.NewAccountClaims(apub)
	ac.Name = "arena"
	ac.Limits.JetStreamLimits = jwt.JetStreamLimits{MemoryStorage: -1, DiskStorage: -1, Streams: -1, Consumer: -1}
	ajwt, err := ac.Encode(okp)
	if err != nil {
		t.Fatal(err)
	}
	// JetStream needs a system account for its own subscriptions.
	skp, err := nkeys.CreateAccount()
	if err != nil {
		t.Fatal(err)
	}
	spub, _ := skp.PublicKey()
	sc := jwt.NewAccountClaims(spub)
	sc.Name = "SYS"
	sjwt, err := sc.Encode(okp)
	if err != nil {
		t.Fatal(err)
	}
	return &Operator{claims: oc, account: akp, accountPub: apub, accountJWT: ajwt, systemPub: spub, systemJWT: sjwt}
}

// Configure makes the server trust the operator and know its account.
func (op *Operator) Configure(o *server.Options) {
	o.TrustedOperators = append(o.TrustedOperators, op.claims)
	r := &server.MemAccResolver{}
	if err := r.Store(op.accountPub, op.accountJWT); err != nil {
		panic(err)
	}
	if err := r.Store(op.systemPub, op.systemJWT); err != nil {
		panic(err)
	}
	o.AccountResolver = r
	o.SystemAccount = op.systemPub
}

// Creds makes a user of the operator's account allowed perms (nil:
// everything) and writes its credentials file, what -nats-creds reads.
func (op *Operator) Creds(t testing.TB, perms *server.Permissions) string {
	t.Helper()
	ukp, err := nkeys.CreateUser()
	if err != nil {
		t.Fatal(err)
	}
	upub, _ := ukp.PublicKey()
	uc := jwt.NewUserClaims(upub)
	if perms != nil {
		uc.Pub.Allow.Add(perms.Publish.Allow...)
		uc.Sub.Allow.Add(perms.Subscribe.Allow...)
	}
	ujwt, err := uc.Encode(op.account)
	if err != nil {
		t.Fatal(err)
	}
	seed, _ := ukp.Seed()
	creds, err := jwt.FormatUserConfig(ujwt, seed)
	if err != nil {
		t.Fatal(err)
	}
	f := filepath.Join(t.TempDir(), "user.creds")
	writeFile(t, f, creds)
	return f
}

// TLSFiles are a certificate authority made for one test and the PEM files
// of a server certificate for 127.0.0.1 and a client certificate it
// signed.
type TLSFiles struct {
	CA                    string
	ServerCert, ServerKey string
	ClientCert, ClientKey string
}

// NewTLS makes a CA and its certificates in a directory of the test's
// own; no key outlives the test.
func NewTLS(t testing.TB) *TLSFiles {
	t.Helper()
	dir := t.TempDir()
	caKey, caCert, caDER := newCert(t, nil, nil, &x509.Certificate{
		Subject:               pkix.Name{CommonName: "natstest CA"},
		IsCA:                  true,
		BasicConstraintsValid: true,
		KeyUsage:              x509.KeyUsageCertSign,
	})
	f := &TLSFiles{
		CA:         filepath.Join(dir, "ca.pem"),
		ServerCert: filepath.Join(dir, "server.pem"),
		ServerKey:  filepath.Join(dir, "server-key.pem"),
		ClientCert: filepath.Join(dir, "client.pem"),
		ClientKey:  filepath.Join(dir, "client-key.pem"),
	}
	writePEM(t, f.CA, "CERTIFICATE", caDER)
	key, _, der := newCert(t, caKey, caCert, &x509.Certificate{
		Subject:     pkix.Name{CommonName: "127.0.0.1"},
		IPAddresses: []net.IP{net.IPv4(127, 0, 0, 1)},
		DNSNames:    []string{"localhost"},
		ExtKeyUsage: []x509.ExtKeyUsage{x509.ExtKeyUsageServerAuth},
		KeyUsage:    x509.KeyUsageDigitalSignature,
	})
	writePEM(t, f.ServerCert, "CERTIFICATE", der)
	writeKey(t, f.ServerKey, key)
	key, _, der = newCert(t, caKey, caCert, &x509.Certificate{
		Subject:     pkix.Name{CommonName: "arena"},
		ExtKeyUsage: []x509.ExtKeyUsage{x509.ExtKeyUsageClientAuth},
		KeyUsage:    x509.KeyUsageDigitalSignature,
	})
	writePEM(t, f.ClientCert, "CERTIFICATE", der)
	writeKey(t, f.ClientKey, key)
	return f
}

// Configure makes the server speak TLS only and require a client
// certificate signed by the CA.
func (f *TLSFiles) Configure(o *server.Options) {
	cfg, err := server.GenTLSConfig(&server.TLSConfigOpts{CertFile: f.ServerCert, KeyFile: f.ServerKey, CaFile: f.CA, Verify: true})
	if err != nil {
		panic(err)
	}
	o.TLSConfig = cfg
	o.TLS = true
	o.TLSVerify = true
	o.TLSTimeout = 5
}

var serial atomic.Int64 // certificates' serial numbers

func newCert(t testing.TB, parentKey *ecdsa.PrivateKey, parent *x509.Certificate, tmpl *x509.Certificate) (*ecdsa.PrivateKey, *x509.Certificate, []byte) {
	t.Helper()
	key, err := ecdsa.GenerateKey(elliptic.P256(), rand.Reader)
	if err != nil {
		t.Fatal(err)
	}
	tmpl.SerialNumber = big.NewInt(serial.Add(1))
	tmpl.NotBefore = time.Now().Add(-time.Hour)
	tmpl.NotAfter = time.Now().Add(time.Hour)
	if parent == nil {
		parent, parentKey = tmpl, key
	}
	der, err := x509.CreateCertificate(rand.Reader, tmpl, parent, &key.PublicKey, parentKey)
	if err != nil {
		t.Fatal(err)
	}
	cert, err := x509.ParseCertificate(der)
	if err != nil {
		t.Fatal(err)
	}
	return key, cert, der
}

func writeKey(t testing.TB, path string, key *ecdsa.PrivateKey) {
	t.Helper()
	der, err := x509.MarshalPKCS8PrivateKey(key)
	if err != nil {
		t.Fatal(err)
	}
	writePEM(t, path, "PRIVATE KEY", der)
}

func writePEM(t testing.TB, path, typ string, der []byte) {
	t.Helper()
	writeFile(t, path, pem.EncodeToMemory(&pem.Block{Type: typ, Bytes: der}))
}

func writeFile(t testing.TB, path string, data []byte) {
	t.Helper()
	if err := os.WriteFile(path, data, 0o600); err != nil {
		t.Fatal(err)
	}
}

// ClientTLS is a client's TLS configuration for f's server, for tests
// that connect with nats.Secure.
func (f *TLSFiles) ClientTLS(t testing.TB) *tls.Config {
	t.Helper()
	cert, err := tls.LoadX509KeyPair(f.ClientCert, f.ClientKey)
	if err != nil {
		t.Fatal(err)
	}
	pool := x509.NewCertPool()
	ca, err := os.ReadFile(f.CA)
	if err != nil {
		t.Fatal(err)
	}
	pool.AppendCertsFromPEM(ca)
	return &tls.Config{Certificates: []tls.Certificate{cert}, RootCAs: pool, MinVersion: tls.VersionTLS12}
}
