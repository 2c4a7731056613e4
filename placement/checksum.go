package placement

import (
	"encoding/json"
	"fmt"
	"strconv"
	"strings"
)

// Checksum is a view checksum in reports. In JSON it is a 16-digit hex
// string ("307ea7c0f6f3f046", as the CLI prints it): a uint64 as a JSON
// number loses precision in JavaScript (the dashboard showed
// 3494414808104825000). Decoding also accepts a number (older agents).
type Checksum uint64

// String is the 16-digit hex form.
func (c Checksum) String() string { return fmt.Sprintf("%016x", uint64(c)) }

// MarshalJSON implements json.Marshaler.
func (c Checksum) MarshalJSON() ([]byte, error) { return []byte(`"` + c.String() + `"`), nil }

// UnmarshalJSON implements json.Unmarshaler: a hex string or a number.
func (c *Checksum) UnmarshalJSON(b []byte) error {
	s := strings.TrimSpace(string(b))
	if strings.HasPrefix(s, `"`) {
		var h string
		if err := json.Unmarshal(b, &h); err != nil {
			return err
		}
		v, err := strconv.ParseUint(h, 16, 64)
		*c = Checksum(v)
		return err
	}
	v, err := strconv.ParseUint(s, 10, 64)
	*c = Checksum(v)
	return err
}
