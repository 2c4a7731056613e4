package agent

import (
	"context"
	"errors"
	"net"
	"net/http"
	"time"

	"github.com/rs/zerolog"
)

// httpServer is the agent's admin HTTP server. Its one goroutine (Serve)
// ends at close.
type httpServer struct {
	srv    *http.Server
	addr   string
	done   chan struct{}
	cancel context.CancelFunc // ends every request's context: event streams end at close
}

// startHTTPServer serves h on ln.
func startHTTPServer(ln net.Listener, h http.Handler, log zerolog.Logger) *httpServer {
	base, cancel := context.WithCancel(context.Background())
	s := &httpServer{addr: ln.Addr().String(), done: make(chan struct{}), cancel: cancel}
	// No WriteTimeout: /api/events streams for as long as a dashboard is
	// open (the handler sets a write deadline per event instead).
	s.srv = &http.Server{
		Handler: h, ReadHeaderTimeout: 5 * time.Second,
		ReadTimeout: 10 * time.Second, IdleTimeout: time.Minute,
		BaseContext: func(net.Listener) context.Context { return base },
	}
	go func() {
		defer close(s.done)
		if err := s.srv.Serve(ln); err != nil && !errors.Is(err, http.ErrServerClosed) {
			log.Error().Err(err).Msg("admin http stopped")
		}
	}()
	return s
}

// close stops the server (in-flight requests get ctx to finish) and waits
// for its goroutine.
func (s *httpServer) close(ctx context.Context) error {
	s.cancel()
	err := s.srv.Shutdown(ctx)
	if err != nil {
		err = errors.Join(err, s.srv.Close())
	}
	<-s.done
	return err
}
