package inproc

import "errors"

// ErrNotMemnet is returned by the fault controls (Cut, Partition, ...) of a
// cluster that runs on TCP.
var ErrNotMemnet = errors.New("inproc: link faults need the memnet transport")
