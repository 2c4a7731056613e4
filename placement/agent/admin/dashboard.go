package admin

import (
	"embed"
	"io/fs"
	"net/http"
)

// The dashboard's files, embedded: no build step, nothing fetched from
// elsewhere, so the page works offline.
//
//go:embed dashboard
var dashboardFiles embed.FS

// dashboardCSP allows the page's own files and API only.
const dashboardCSP = "default-src 'self'; script-src 'self'; style-src 'self'; img-src 'self' data:; connect-src 'self'"

// mountDashboard serves the page at / and its files under /assets/.
func mountDashboard(mux *http.ServeMux) {
	sub, _ := fs.Sub(dashboardFiles, "dashboard") // the directory is embedded
	files := http.FileServer(http.FS(sub))
	mux.HandleFunc("GET /{$}", func(w http.ResponseWriter, r *http.Request) {
		w.Header().Set("Content-Security-Policy", dashboardCSP)
		w.Header().Set("Cache-Control", "no-store")
		http.ServeFileFS(w, r, sub, "index.html")
	})
	mux.Handle("GET /assets/", http.StripPrefix("/assets/", withHeaders(files)))
}

func withHeaders(h http.Handler) http.Handler {
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		w.Header().Set("Content-Security-Policy", dashboardCSP)
		w.Header().Set("Cache-Control", "no-cache")
		h.ServeHTTP(w, r)
	})
}
