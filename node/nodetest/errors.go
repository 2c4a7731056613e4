package nodetest

import "errors"

// ErrNotMemnet is returned by the fault controls (Cut, Partition, ...) of a
// cluster that runs on TCP.
var ErrNotMemnet = errors.New("nodetest: link faults need the memnet transport")
