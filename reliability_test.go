package arena

import (
	"bytes"
	"encoding/json"
	"fmt"
	"net"
	"net/http"
	"path/filepath"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/gorilla/websocket"

	"github.com/arena-server/arena/arenatest"
	"github.com/arena-server/arena/internal/pgtest"
	"github.com/arena-server/arena/protocol"
)

// sources are the loopback addresses the tests' API calls come from.
// The API throttles registrations and logins per address (10 at once,
// then one every 30 s for registrations), and the program has no flag to
// loosen that: a burst of hundreds comes from many addresses, as it would
// from many players, rather than through a knob that exists only for
// tests. Linux routes all of 127.0.0.0/8 to the loopback, so any of them
// can be bound.
const sources = 48

// apiClient calls the accounts API of the program at base, from a
// loopback source address chosen per call.
type apiClient struct {
	base    string
	clients [sources]*http.Client
}

func newAPIClient(t *testing.T, addr string) *apiClient {
	c := &apiClient{base: "http://" + addr}
	for i := range c.clients {
		d := &net.Dialer{
			LocalAddr: &net.TCPAddr{IP: net.IPv4(127, 0, 0, byte(2+i))},
			Timeout:   5 * time.Second,
		}
		tr := &http.Transport{DialContext: d.DialContext, MaxIdleConnsPerHost: 4}
		t.Cleanup(tr.CloseIdleConnections)
		c.clients[i] = &http.Client{Transport: tr, Timeout: 20 * time.Second}
	}
	return c
}

// apiAnswer is an answer of the API, its JSON body decoded.
type apiAnswer struct {
	status int
	header http.Header
	body   map[string]any
}

func (a apiAnswer) str(key string) string { s, _ := a.body[key].(string); return s }

func (a apiAnswer) accountID() string {
	m, _ := a.body["account"].(map[string]any)
	id, _ := m["id"].(string)
	return id
}

// call sends method path with body (JSON, unless nil) and the bearer
// token if any, from source address number from. An error is a call
// that got no whole answer.
func (c *apiClient) call(from int, method, path, bearer string, body any) (apiAnswer, error) {
	var rd *bytes.Reader
	if body != nil {
		b, err := json.Marshal(body)
		if err != nil {
			return apiAnswer{}, err
		}
		rd = bytes.NewReader(b)
	} else {
		rd = bytes.NewReader(nil)
	}
	req, err := http.NewRequest(method, c.base+path, rd)
	if err != nil {
		return apiAnswer{}, err
	}
	req.Header.Set("Content-Type", "application/json")
	if bearer != "" {
		req.Header.Set("Authorization", "Bearer "+bearer)
	}
	resp, err := c.clients[from%sources].Do(req)
	if err != nil {
		return apiAnswer{}, err
	}
	defer resp.Body.Close()
	a := apiAnswer{status: resp.StatusCode, header: resp.Header}
	if resp.StatusCode != http.StatusNoContent {
		if err := json.NewDecoder(resp.Body).Decode(&a.body); err != nil {
			return apiAnswer{}, fmt.Errorf("%s %s: %s, body: %w", method, path, resp.Status, err)
		}
	}
	return a, nil
}

// registered is a registration the program answered.
type registered struct {
	email, password, account, access string
	from                             int
}

// TestKillDuringRegistrationsLosesNoAnsweredAccount: the real program,
// killed with SIGKILL in the middle of a burst of registrations, loses
// none it answered: restarted on the same store, every one of them signs
// in with its password, and the access tokens it issued before the kill
// still verify, since its signing keys are in the store. SQLite on disk
// and a real PostgreSQL.
func TestKillDuringRegistrationsLosesNoAnsweredAccount(t *testing.T) {
	for _, backend := range []struct {
		name string
		db   func(t *testing.T) string
	}{
		{"sqlite", func(t *testing.T) string { return "sqlite:" + filepath.Join(t.TempDir(), "arena.db") }},
		{"postgres", func(t *testing.T) string { return pgtest.DB(t) }},
	} {
		t.Run(backend.name, func(t *testing.T) {
			// One backend at a time: both at once would double the
			// hashing on a machine that the tests share.
			//
			// A registration waits for a hashing slot up to 10 s, then
			// answers 503; the program's write deadline (10 s by default)
			// would cut the answer of one that waited and then hashed on
			// a loaded machine, as a lost connection: give answers room.
			env := []string{"ARENA_DB=" + backend.db(t), "ARENA_HTTP_WRITE_TIMEOUT=30s"}
			cmd, addr := arenatest.StartMain(t, env, "-host", "127.0.0.1", "-port", "0")
			api := newAPIClient(t, addr)

			// Workers register until the program dies; the test kills it
			// once killAfter registrations are answered, with the others
			// in flight: some of them committed, unanswered, some not.
			// Each registration hashes a password (argon2id, two at a time
			// per process), a fifth of a second of a core under -race: 40
			// answered, then 40 logins, keep the test within seconds on a
			// loaded machine, and 6 workers keep the kill in the middle of
			// a burst, with both hashing slots busy and more waiting.
			const (
				workers   = 6
				total     = 200 // more than get through before the kill
				killAfter = 40
			)
			var (
				mu       sync.Mutex
				answered []registered
				// unanswered are the calls the kill cut off: each was
				// committed or not, and either is right.
				unanswered []registered
				refused    []string     // answers other than 201 and 503, and failed calls, before the kill
				busy       atomic.Int64 // 503s: the hashing queue was full, no account made
				killed     atomic.Bool
				killOnce   sync.Once
				inFlight   atomic.Int64
				atKill     int64 // registrations in flight at the kill
			)
			next := make(chan int)
			go func() {
				defer close(next)
				for i := 0; i < total && !killed.Load(); i++ {
					next <- i
				}
			}()
			start := time.Now()
			var wg sync.WaitGroup
			for w := 0; w < workers; w++ {
				wg.Add(1)
				go func() {
					defer wg.Done()
					for i := range next {
						r := registered{email: fmt.Sprintf("kill-%03d@example.com", i), password: fmt.Sprintf("password %03d", i), from: i}
						inFlight.Add(1)
						a, err := api.call(i, "POST", "/api/auth/register", "", map[string]string{"email": r.email, "password": r.password})
						inFlight.Add(-1)
						if err != nil {
							mu.Lock()
							unanswered = append(unanswered, r)
							mu.Unlock()
							if !killed.Load() {
								mu.Lock()
								refused = append(refused, fmt.Sprintf("%s: %v", r.email, err))
								mu.Unlock()
							}
							continue
						}
						if a.status == http.StatusServiceUnavailable && a.str("code") == "unavailable" {
							// Too many at once for the hashing pool: an
							// answer that no account was made, which a
							// loaded machine may give.
							busy.Add(1)
							continue
						}
						if a.status != http.StatusCreated {
							mu.Lock()
							refused = append(refused, fmt.Sprintf("%s: %d %v", r.email, a.status, a.body))
							mu.Unlock()
							continue
						}
						r.account, r.access = a.accountID(), a.str("access_token")
						mu.Lock()
						answered = append(answered, r)
						n := len(answered)
						mu.Unlock()
						if n >= killAfter {
							killOnce.Do(func() {
								// Said before it is done: the calls it cuts
								// off fail at once.
								killed.Store(true)
								atKill = inFlight.Load()
								if err := cmd.Process.Kill(); err != nil {
									t.Errorf("kill: %v", err)
								}
							})
						}
					}
				}()
			}
			wg.Wait()
			burst := time.Since(start)
			if !killed.Load() {
				t.Fatalf("the burst ended before the kill: %d answered of %d; refused: %v", len(answered), total, refused)
			}
			if len(refused) > 0 {
				t.Fatalf("registrations refused before the kill: %v", refused)
			}
			// Reap the process: the kill is complete, its store is as the
			// kill left it.
			if err := cmd.Wait(); err == nil {
				t.Fatal("the killed program exited 0")
			}
			t.Logf("%d registrations answered in %v (%d more answered 503, the hashing queue full), the program killed with %d in flight; %d calls got no answer",
				len(answered), burst.Round(time.Millisecond), busy.Load(), atKill, len(unanswered))

			_, addr = arenatest.StartMain(t, env, "-host", "127.0.0.1", "-port", "0")
			api = newAPIClient(t, addr)
			// The access tokens issued before the kill verify: the key
			// ring came back from the store. GET /api/me checks a token as
			// a join does, with no query for it.
			for _, r := range answered {
				a, err := api.call(r.from, "GET", "/api/me", r.access, nil)
				if err != nil || a.status != http.StatusOK || a.str("id") != r.account {
					t.Fatalf("GET /api/me with %s's token from before the kill: %v %d %v", r.email, err, a.status, a.body)
				}
			}
			// A join too, as the account.
			first := answered[0]
			p, err := dialAuth(t, "http://"+addr+"/", "room=after-kill", first.access)
			if err != nil || p.Msg.Type != protocol.BinWelcome || p.Welcome.Account.ID != first.account {
				t.Fatalf("join with a token from before the kill: %v, message %#x %s %s, account %+v", err, p.Msg.Type, p.Msg.Code, p.Msg.Message, p.Welcome.Account)
			}
			// And every answered registration signs in, as the account it
			// was answered with: two at a time, as many as hash at once,
			// so that no login waits long in the queue.
			start = time.Now()
			work := make(chan registered)
			var failed []string
			for w := 0; w < 2; w++ {
				wg.Add(1)
				go func() {
					defer wg.Done()
					for r := range work {
						a, err := api.call(r.from, "POST", "/api/auth/login", "", map[string]string{"email": r.email, "password": r.password})
						if err != nil || a.status != http.StatusOK || a.accountID() != r.account {
							mu.Lock()
							failed = append(failed, fmt.Sprintf("%s: %v %d %v", r.email, err, a.status, a.body))
							mu.Unlock()
						}
					}
				}()
			}
			for _, r := range answered {
				work <- r
			}
			close(work)
			wg.Wait()
			if len(failed) > 0 {
				t.Fatalf("%d of %d answered registrations lost to the kill: %v", len(failed), len(answered), failed)
			}
			t.Logf("all %d answered registrations sign in after the restart (%v)", len(answered), time.Since(start).Round(time.Millisecond))
			// For the record: how many cut off were committed, unanswered.
			kept := 0
			for _, r := range unanswered {
				a, err := api.call(r.from, "POST", "/api/auth/login", "", map[string]string{"email": r.email, "password": r.password})
				if err != nil || (a.status != http.StatusOK && a.status != http.StatusUnauthorized) {
					t.Fatalf("login of %s, cut off by the kill: %v %d %v", r.email, err, a.status, a.body)
				}
				if a.status == http.StatusOK {
					kept++
				}
			}
			t.Logf("of the %d registrations the kill cut off, %d were committed and sign in; the others never were", len(unanswered), kept)
		})
	}
}

// dialAuth joins the program at page with an access token, over the
// binary protocol: ?auth=1, then the auth message first. It returns the
// client once the first message (a welcome, or an error) is read.
func dialAuth(t *testing.T, page, query, access string) (*arenatest.NativeClient, error) {
	t.Helper()
	d := websocket.Dialer{HandshakeTimeout: 5 * time.Second, Subprotocols: []string{protocol.SubprotocolBinary}}
	conn, _, err := d.Dial(arenatest.WSURL(page, query+"&auth=1"), nil)
	if err != nil {
		return nil, err
	}
	t.Cleanup(func() { conn.Close() })
	c := &arenatest.NativeClient{Conn: conn}
	if err := c.Send(protocol.AppendBinaryAuth(nil, access, "")); err != nil {
		return nil, err
	}
	if _, err := c.Next(5 * time.Second); err != nil {
		return nil, err
	}
	return c, nil
}

// snapshotCounter reads a player's connection on a goroutine of its own
// and keeps the times its snapshots arrived.
type snapshotCounter struct {
	mu   sync.Mutex
	at   []time.Time
	err  error
	done chan struct{}
}

func countSnapshots(c *arenatest.NativeClient) *snapshotCounter {
	s := &snapshotCounter{done: make(chan struct{})}
	go func() {
		defer close(s.done)
		for {
			m, err := c.Next(5 * time.Second)
			s.mu.Lock()
			if err != nil {
				s.err = err
				s.mu.Unlock()
				return
			}
			if m.Type == protocol.BinSnapshot {
				s.at = append(s.at, time.Now())
			}
			s.mu.Unlock()
		}
	}()
	return s
}

// rate is the snapshots per second that arrived between from and to, and
// the error that ended the reading, if it ended.
func (s *snapshotCounter) rate(from, to time.Time) (float64, error) {
	s.mu.Lock()
	defer s.mu.Unlock()
	n := 0
	for _, at := range s.at {
		if !at.Before(from) && at.Before(to) {
			n++
		}
	}
	return float64(n) / to.Sub(from).Seconds(), s.err
}

// unavailableMessage is what the API answers while the store is down
// (accounts/http.go's unavailableMsg): it says play goes on.
const unavailableMessage = "accounts are unavailable right now; play goes on; try again shortly"

// TestDatabaseDownRoomsPlayAndSignInsRecover takes the real program's
// PostgreSQL away under it: its rooms keep playing at the tick rate, a
// join with an access token issued before still gets in (the token is
// checked with no query), sign-ins and registrations answer 503 with a
// clear message and Retry-After, and /readyz stays ready: the node still
// does what it is for, hosting games, and a load balancer that took it
// out would drop players who are playing. When the database is back,
// sign-ins work again with no restart.
func TestDatabaseDownRoomsPlayAndSignInsRecover(t *testing.T) {
	pg := pgtest.StartServer(t)
	_, addr := arenatest.StartMain(t, []string{"ARENA_DB=" + pg.URL("postgres")}, "-host", "127.0.0.1", "-port", "0")
	page := "http://" + addr + "/"
	api := newAPIClient(t, addr)
	reg, err := api.call(0, "POST", "/api/auth/register", "", map[string]string{"email": "down@example.com", "password": "database down", "name": "downer"})
	if err != nil || reg.status != http.StatusCreated {
		t.Fatalf("register: %v %d %v", err, reg.status, reg.body)
	}
	second, err := api.call(1, "POST", "/api/auth/register", "", map[string]string{"email": "later@example.com", "password": "database down", "name": "later"})
	if err != nil || second.status != http.StatusCreated {
		t.Fatalf("register: %v %d %v", err, second.status, second.body)
	}

	// A player in a room before the database goes.
	p, err := dialAuth(t, page, "room=reliab", reg.str("access_token"))
	if err != nil || p.Msg.Type != protocol.BinWelcome || p.Welcome.Account.ID != reg.accountID() {
		t.Fatalf("join before: %v, message %#x, account %+v", err, p.Msg.Type, p.Welcome.Account)
	}
	snaps := countSnapshots(p)

	if err := pg.Down(); err != nil {
		t.Fatal(err)
	}
	down := time.Now()

	// Sign-ins and registrations answer 503, clearly, with Retry-After.
	for i, c := range []struct {
		path, bearer string
		body         any
	}{
		{"/api/auth/login", "", map[string]string{"email": "down@example.com", "password": "database down"}},
		{"/api/auth/register", "", map[string]string{"email": "new@example.com", "password": "database down"}},
		{"/api/auth/guest", "", nil},
		{"/api/auth/refresh", "", map[string]string{"refresh_token": reg.str("refresh_token")}},
	} {
		a, err := api.call(2+i, "POST", c.path, c.bearer, c.body)
		if err != nil || a.status != http.StatusServiceUnavailable || a.str("code") != "unavailable" ||
			a.str("message") != unavailableMessage || a.header.Get("Retry-After") == "" {
			t.Fatalf("POST %s with the database down: %v %d %v, Retry-After %q; want 503 unavailable %q with Retry-After",
				c.path, err, a.status, a.body, a.header.Get("Retry-After"), unavailableMessage)
		}
	}

	// A join with a valid access token gets in, as its account.
	q, err := dialAuth(t, page, "room=reliab", second.str("access_token"))
	if err != nil || q.Msg.Type != protocol.BinWelcome || q.Welcome.Account.ID != second.accountID() {
		t.Fatalf("join with a token, the database down: %v, message %#x %s %s, account %+v", err, q.Msg.Type, q.Msg.Code, q.Msg.Message, q.Welcome.Account)
	}
	if err := q.WaitState(3*time.Second, func() bool { return q.Me().ID != 0 }); err != nil {
		t.Fatalf("the player who joined with the database down is not in the game: %v", err)
	}

	// Readiness stays up: the node plays on.
	resp, err := (&http.Client{Timeout: 5 * time.Second}).Get(page + "readyz")
	if err != nil {
		t.Fatal(err)
	}
	resp.Body.Close()
	if resp.StatusCode != http.StatusOK {
		t.Fatalf("/readyz with the database down: %s; want 200: the node still hosts games", resp.Status)
	}

	// The player from before kept its updates throughout, at the tick
	// rate (20 Hz): measured over at least two seconds of the outage.
	if wait := time.Until(down.Add(2 * time.Second)); wait > 0 {
		time.Sleep(wait) // the window being measured, not a wait for an event
	}
	upAt := time.Now()
	r, err := snaps.rate(down, upAt)
	if err != nil {
		t.Fatalf("the player's connection ended with the database down: %v", err)
	}
	// Under -race, on a shared machine, a tick may come late; a room that
	// stalled on the database would give far fewer than this.
	if r < 17 {
		t.Fatalf("the player received %.1f updates/s with the database down; want about 20", r)
	}
	t.Logf("with the database down for %v: %.1f updates/s to the player from before", upAt.Sub(down).Round(time.Millisecond), r)

	if err := pg.Up(); err != nil {
		t.Fatal(err)
	}
	up := time.Now()
	// The program recovers by itself: a sign-in works again, with no
	// restart. The loop has a deadline, and each try comes from the next
	// address, so that the login throttle is not what it measures.
	var login apiAnswer
	tries := 0
	for i := 0; ; i++ {
		tries++
		login, err = api.call(10+i, "POST", "/api/auth/login", "", map[string]string{"email": "down@example.com", "password": "database down"})
		if err == nil && login.status == http.StatusOK {
			break
		}
		if err == nil && login.status != http.StatusServiceUnavailable {
			t.Fatalf("login after the database came back: %d %v", login.status, login.body)
		}
		if time.Since(up) > 20*time.Second {
			t.Fatalf("sign-ins did not recover within 20 s of the database's return: %v %d %v", err, login.status, login.body)
		}
		time.Sleep(100 * time.Millisecond)
	}
	t.Logf("sign-ins work again %v after the database came back (%d tries, 100 ms apart)", time.Since(up).Round(time.Millisecond), tries)
	if login.accountID() != reg.accountID() {
		t.Fatalf("login after the return signed in %s; want %s", login.accountID(), reg.accountID())
	}
	// The refresh token refused with 503 was not spent: it works now.
	ref, err := api.call(40, "POST", "/api/auth/refresh", "", map[string]string{"refresh_token": reg.str("refresh_token")})
	if err != nil || ref.status != http.StatusOK {
		t.Fatalf("refresh after the return: %v %d %v", err, ref.status, ref.body)
	}
	newer, err := api.call(41, "POST", "/api/auth/register", "", map[string]string{"email": "new@example.com", "password": "database down"})
	if err != nil || newer.status != http.StatusCreated {
		t.Fatalf("register after the return: %v %d %v", err, newer.status, newer.body)
	}
	// And the game went on through all of it, at the tick rate.
	end := time.Now()
	if r, err := snaps.rate(down, end); err != nil || r < 17 {
		t.Fatalf("the player from before, from the outage to now (%v): %.1f updates/s, %v", end.Sub(down).Round(time.Millisecond), r, err)
	}
}
