package membership

import (
	"fmt"
	"log"
	"os"
	"strings"

	"github.com/hashicorp/memberlist"
)

// bindTries is how often a port-0 bind is retried: the kernel picks a free
// TCP port and the UDP bind of the same number can then collide (memberlist
// retries 10 times too).
const bindTries = 10

// newNetTransport binds memberlist's UDP+TCP transport on addr:port. Port 0
// picks a free port for both protocols, retrying on a collision.
func newNetTransport(addr string, port int, logger *log.Logger) (*memberlist.NetTransport, error) {
	tries := 1
	if port == 0 {
		tries = bindTries
	}
	var err error
	for range tries {
		nc := &memberlist.NetTransportConfig{BindAddrs: []string{addr}, BindPort: port, Logger: logger}
		var nt *memberlist.NetTransport
		if nt, err = memberlist.NewNetTransport(nc); err == nil {
			return nt, nil
		}
		if !strings.Contains(err.Error(), "address already in use") {
			break
		}
	}
	return nil, err
}

// autoPorter is implemented by transports that know the port they bound
// (memberlist's NetTransport and FaultTransport).
type autoPorter interface{ GetAutoBindPort() int }

// openTransport returns the configured transport or binds a NetTransport,
// and the port to advertise when AdvertisePort is 0.
func openTransport(c *Config, logger *log.Logger) (memberlist.Transport, int, error) {
	if c.Transport != nil {
		ap, ok := c.Transport.(autoPorter)
		if !ok && c.AdvertiseAddr != "" && c.AdvertisePort == 0 {
			return nil, 0, fmt.Errorf("%w: AdvertisePort is required with AdvertiseAddr and a custom Transport", ErrBadConfig)
		}
		port := c.AdvertisePort
		if ok {
			port = ap.GetAutoBindPort()
		}
		return c.Transport, port, nil
	}
	nt, err := newNetTransport(c.BindAddr, c.BindPort, logger)
	if err != nil {
		return nil, 0, fmt.Errorf("%w: bind %s:%d: %w", ErrStart, c.BindAddr, c.BindPort, err)
	}
	return nt, nt.GetAutoBindPort(), nil
}

// checkSnapshotPath makes sure Serf will be able to open the snapshot file
// before Serf starts goroutines it cannot stop on a failed Create. The file
// is created with mode 0600 if missing (it lists members and addresses).
func checkSnapshotPath(path string) error {
	if path == "" {
		return nil
	}
	f, err := os.OpenFile(path, os.O_RDWR|os.O_APPEND|os.O_CREATE, 0o600)
	if err != nil {
		return fmt.Errorf("%w: snapshot: %w", ErrStart, err)
	}
	return f.Close()
}
