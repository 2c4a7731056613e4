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
	srv  *http.Server
	addr string
	done chan struct{}
}

// startHTTPServer serves h on ln.
func startHTTPServer(ln net.Listener, h http.Handler, log zerolog.Logger) *httpServer {
	s := &httpServer{addr: ln.Addr().String(), done: make(chan struct{})}
	s.srv = &http.Server{
		Handler: h, ReadHeaderTimeout: 5 * time.Second,
		ReadTimeout: 10 * time.Second, IdleTimeout: time.Minute,
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
	err := s.srv.Shutdown(ctx)
	if err != nil {
		err = errors.Join(err, s.srv.Close())
	}
	<-s.done
	return err
}
