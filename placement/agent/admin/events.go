package admin

import (
	"encoding/json"
	"fmt"
	"net/http"
	"time"
)

// sseHeartbeat is how often an idle event stream gets a comment line, so
// that proxies keep it open and a dead client is noticed.
const sseHeartbeat = 15 * time.Second

// events serves GET /api/events: the backend's WatchEvents as server-sent
// events (one JSON object per "data:" line) until the client goes away or
// the server shuts down.
func (h *handler) events(w http.ResponseWriter, r *http.Request) {
	rc := http.NewResponseController(w)
	ch, err := h.b.Watch(r.Context())
	if err != nil {
		writeAPI(w, nil, err, h.log)
		return
	}
	w.Header().Set("Content-Type", "text/event-stream")
	w.Header().Set("Cache-Control", "no-store")
	w.WriteHeader(http.StatusOK)
	if _, err := fmt.Fprint(w, ": placer events\n\n"); err != nil || rc.Flush() != nil {
		return
	}
	beat := time.NewTicker(sseHeartbeat)
	defer beat.Stop()
	for {
		var line []byte
		select {
		case ev, ok := <-ch:
			if !ok {
				return
			}
			b, _ := json.Marshal(ev)
			line = append(append([]byte("data: "), b...), "\n\n"...)
		case <-beat.C:
			line = []byte(": beat\n\n")
		case <-r.Context().Done():
			return
		}
		_ = rc.SetWriteDeadline(time.Now().Add(h.timeout))
		if _, err := w.Write(line); err != nil || rc.Flush() != nil {
			return
		}
	}
}
