package placement_test

import (
	"encoding/json"
	"testing"

	"github.com/placerhq/placer/placement"
)

// TestChecksumJSON: a checksum is a 16-digit hex string in JSON (as a
// number, 3494414808104825000 lost its last digits in JavaScript); the
// number form of older agents still decodes.
func TestChecksumJSON(t *testing.T) {
	v := placement.ViewInfo{Checksum: 0x307ea7c0f6f3f046, Checksums: map[string]placement.Checksum{"a@h": 0x307ea7c0f6f3f046}}
	b, err := json.Marshal(v)
	if err != nil {
		t.Fatal(err)
	}
	var back struct {
		Checksum  string            `json:"checksum"`
		Checksums map[string]string `json:"checksums"`
	}
	if err := json.Unmarshal(b, &back); err != nil || back.Checksum != "307ea7c0f6f3f046" || back.Checksums["a@h"] != "307ea7c0f6f3f046" {
		t.Fatalf("%s: %v", b, err)
	}
	var old placement.Lookup
	if err := json.Unmarshal([]byte(`{"checksum":3494414808104825926}`), &old); err != nil || old.Checksum != 3494414808104825926 {
		t.Fatalf("number form: %v %v", old.Checksum, err)
	}
	var bad placement.Lookup
	if err := json.Unmarshal([]byte(`{"checksum":"xyz"}`), &bad); err == nil {
		t.Fatal("a bad hex checksum decoded")
	}
}
