package schemes

import (
	"fmt"
	"testing"
)

// Lookup time of each scheme at several sizes (Locate of a key: hash
// included).
func BenchmarkLocate(b *testing.B) {
	for _, n := range []int{10, 100, 1000} {
		for name, build := range builders() {
			s, err := build(members(n)...)
			if err != nil {
				b.Fatal(err)
			}
			keys := make([][]byte, 1024)
			for i := range keys {
				keys[i] = []byte(fmt.Sprint("key-", i))
			}
			b.Run(fmt.Sprintf("%s/%d", name, n), func(b *testing.B) {
				for i := 0; i < b.N; i++ {
					_ = s.Locate(keys[i&1023])
				}
			})
		}
	}
}
