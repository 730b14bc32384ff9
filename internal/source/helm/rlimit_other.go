//go:build !linux

package helm

import "time"

// limitKernel does nothing where RLIMIT_DATA does not bound the heap: the
// runtime's soft memory limit and the parent's timeout hold the child.
func limitKernel(int64, time.Duration) {}
