package cli

import (
	"context"
	"os"
	"os/signal"
	"sync/atomic"
	"syscall"
)

// Exit codes of a run stopped by a signal, as shells report them.
const (
	ExitInterrupted = 128 + int(syscall.SIGINT)
	ExitTerminated  = 128 + int(syscall.SIGTERM)
)

// SignalContext returns a context that SIGINT and SIGTERM cancel, and the
// function that stops listening and turns the run's exit code into the
// signal's (130 or 143) when one arrived. A second signal ends the process
// at once.
func SignalContext() (context.Context, func(code int) int) {
	ctx, cancel := context.WithCancel(context.Background())
	ch := make(chan os.Signal, 2)
	signal.Notify(ch, os.Interrupt, syscall.SIGTERM)
	var got atomic.Int32
	go func() {
		for s := range ch {
			code := ExitInterrupted
			if s == syscall.SIGTERM {
				code = ExitTerminated
			}
			if !got.CompareAndSwap(0, int32(code)) {
				os.Exit(code)
			}
			cancel()
		}
	}()
	return ctx, func(code int) int {
		signal.Stop(ch)
		if c := got.Load(); c != 0 {
			return int(c)
		}
		return code
	}
}
