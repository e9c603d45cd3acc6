// Command meterd is a self-hosted AWS Marketplace Metering Service: the
// server (meterd serve) and the CLI that talks to its admin API.
package main

import (
	"context"
	"fmt"
	"io"
	"os"
	"os/signal"
	"syscall"
)

// Version is set at build time with -ldflags "-X main.Version=...".
var Version = "dev"

// Exit codes: 0 ok, 1 error, 2 usage.
const (
	exitOK    = 0
	exitError = 1
	exitUsage = 2
)

func main() {
	ctx, stop := signal.NotifyContext(context.Background(), os.Interrupt, syscall.SIGTERM)
	defer stop()
	os.Exit(run(ctx, os.Args[1:], os.Stdout, os.Stderr))
}

// run executes one meterd command and returns its exit code.
func run(ctx context.Context, args []string, stdout, stderr io.Writer) int {
	if len(args) == 0 {
		args = []string{"serve"}
	}
	switch args[0] {
	case "serve":
		return runServe(ctx, args[1:], stdout, stderr)
	case "bench":
		return runBench(ctx, args[1:], stdout, stderr)
	case "version", "--version":
		fmt.Fprintln(stdout, "meterd", Version)
		return exitOK
	case "help", "-h", "--help":
		fmt.Fprint(stdout, usage)
		return exitOK
	}
	fmt.Fprintf(stderr, "meterd: unknown command %q\n\n%s", args[0], usage)
	return exitUsage
}

const usage = `meterd: a self-hosted AWS Marketplace Metering Service.

Usage:
  meterd serve [flags]      run the server (the default)
  meterd version            print the version

Run "meterd serve --help" for the server's flags.
`
