package server

// StatesSkipped returns how many states the session of the client at
// remote (its local address, host:port) has let go by unwritten since its
// writer last took from its outbox, or -1 if there is no such session. A
// count that keeps growing means the writer is stuck in a write.
func (s *Server) StatesSkipped(remote string) int {
	s.mu.Lock()
	defer s.mu.Unlock()
	for sess := range s.sessions {
		if sess.ws.RemoteAddr().String() == remote {
			sess.out.mu.Lock()
			defer sess.out.mu.Unlock()
			return int(sess.out.coalesced)
		}
	}
	return -1
}
