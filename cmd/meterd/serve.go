package main

import (
	"context"
	"errors"
	"flag"
	"fmt"
	"io"
	"log/slog"
	"os"

	"github.com/meterd/meterd/server"
)

// runServe is `meterd serve`.
func runServe(ctx context.Context, args []string, stdout, stderr io.Writer) int {
	m := &server.Main{Config: server.DefaultConfig(), Stdout: stdout}
	if err := m.Config.ParseFlags(args, os.Getenv); err != nil {
		if errors.Is(err, flag.ErrHelp) {
			return exitOK
		}
		fmt.Fprintln(stderr, "meterd serve:", err)
		return exitUsage
	}
	m.Logger = slog.New(slog.NewJSONHandler(stderr, nil))
	m.Profile = os.Getenv("METERD_PPROF") == "1"
	if err := m.Run(ctx); err != nil {
		fmt.Fprintln(stderr, "meterd serve:", err)
		return exitError
	}
	select {
	case <-ctx.Done():
	case err := <-m.Served():
		fmt.Fprintln(stderr, "meterd serve:", err)
		m.Close()
		return exitError
	}
	m.Logger.Info("shutting down")
	if err := m.Close(); err != nil {
		fmt.Fprintln(stderr, "meterd serve:", err)
		return exitError
	}
	return exitOK
}
