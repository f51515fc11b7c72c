package server

// StatesSkipped returns how many states the session of the client at
// remote (its local address, host:port) has let go by unwritten since its
// it last wrote, or -1 if there is no such session. A count that keeps
// growing means its socket does not drain.
func (s *Server) StatesSkipped(remote string) int {
	s.mu.Lock()
	defer s.mu.Unlock()
	for sess := range s.sessions {
		if sess.ws.RemoteAddr().String() == remote {
			sess.mu.Lock()
			defer sess.mu.Unlock()
			return int(sess.out.coalesced)
		}
	}
	return -1
}

// ConnectionCount is how many sessions are open.
func (s *Server) ConnectionCount() int { return s.connectionCount() }
