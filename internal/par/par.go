// Package par runs an index loop on a fixed number of goroutines.
package par

import (
	"context"
	"sync"
)

// ForEach runs f(i) for every i in [0, n) on workers goroutines (worker w
// takes w, w+workers, w+2·workers, ...). A worker stops at its first error
// or when ctx ends. ForEach returns once every goroutine has ended, with one
// of the errors (nil if there was none).
func ForEach(ctx context.Context, n, workers int, f func(i int) error) error {
	workers = max(1, min(workers, n))
	var wg sync.WaitGroup
	errs := make(chan error, workers)
	for w := range workers {
		wg.Add(1)
		go func() {
			defer wg.Done()
			for i := w; i < n; i += workers {
				err := ctx.Err()
				if err == nil {
					err = f(i)
				}
				if err != nil {
					errs <- err
					return
				}
			}
		}()
	}
	wg.Wait()
	close(errs)
	return <-errs
}
