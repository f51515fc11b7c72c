package server

import "github.com/arena-server/arena/internal/addrlimit"

// SetPasswordThrottle lets an address give burst wrong room passwords, and
// no more for the test's length: each costs an argon2id hash, slow under
// -race.
func (s *Server) SetPasswordThrottle(burst int) {
	s.passwords = addrlimit.New(1e-9, burst, passwordMaxAddrs)
}
