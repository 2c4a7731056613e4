package global

import "fmt"

// DebugEntry describes name's replica entry on s, for test failures.
func (s *Service) DebugEntry(name string) string {
	e, ok := s.tab.get(name)
	s.mu.Lock()
	_, auth := s.auths[name]
	s.mu.Unlock()
	return fmt.Sprintf("owner=%s entry=%v{%+v auth=%q} authproc=%v", s.ownerOf(name), ok, e.rec, e.authority, auth)
}
