//go:build linux

package helm

import (
	"syscall"
	"time"
)

// limitKernel has the kernel refuse this process data (heap, stacks) past
// maxBytes, and kill it past cpu of processor time: should the parent die
// without killing it, a runaway child still ends. The race detector maps
// its shadow memory as data, so a race build is left to the runtime's
// soft memory limit.
func limitKernel(maxBytes int64, cpu time.Duration) {
	set := func(res int, v uint64) {
		var rl syscall.Rlimit
		if err := syscall.Getrlimit(res, &rl); err != nil {
			return
		}
		rl.Cur = min(v, rl.Max)
		_ = syscall.Setrlimit(res, &rl)
	}
	set(syscall.RLIMIT_CPU, uint64(cpu/time.Second)+1)
	if !raceEnabled {
		set(syscall.RLIMIT_DATA, uint64(maxBytes))
	}
}
