package main

import (
	"context"
	"fmt"
	"io"
	"runtime"
	"runtime/debug"
)

// Version and Commit are set at build time, by make build and make dist:
// -ldflags "-X main.Version=v1.2.3 -X main.Commit=abc1234". Without them,
// meterd version reads what the Go toolchain recorded (go install
// ...@v1.2.3 records the module version; a build in a clone, the commit).
var (
	Version = "dev"
	Commit  = ""
)

// buildInfo is what meterd version prints.
type buildInfo struct {
	Version string `json:"version"`
	Commit  string `json:"commit"`
	Go      string `json:"go"`
	OS      string `json:"os"`
	Arch    string `json:"arch"`
}

// readBuildInfo returns the version of this binary: the -ldflags values
// first, then the module version and VCS revision the toolchain embedded.
func readBuildInfo() buildInfo {
	b := buildInfo{Version: Version, Commit: Commit, Go: runtime.Version(), OS: runtime.GOOS, Arch: runtime.GOARCH}
	info, ok := debug.ReadBuildInfo()
	if !ok {
		return b
	}
	if b.Version == "dev" && info.Main.Version != "" && info.Main.Version != "(devel)" {
		b.Version = info.Main.Version
	}
	if b.Commit == "" {
		var modified bool
		for _, s := range info.Settings {
			switch s.Key {
			case "vcs.revision":
				b.Commit = s.Value
			case "vcs.modified":
				modified = s.Value == "true"
			}
		}
		if modified && b.Commit != "" {
			b.Commit += "-dirty"
		}
	}
	if b.Commit == "" {
		b.Commit = "unknown"
	}
	return b
}

// runVersion is meterd version.
func runVersion(ctx context.Context, args []string, stdout, stderr io.Writer) int {
	c := newCLI("meterd version", "[--output table|json]", stdout, stderr)
	return c.exit(printVersion(c, args))
}

func printVersion(c *cli, args []string) error {
	fs := c.bareFlags("Prints the version, the commit it was built from, the Go version and the OS/architecture.")
	fs.StringVar(&c.output, "output", "table", "output format: table or json")
	if _, err := c.parse(fs, args, 0); err != nil {
		return err
	}
	b := readBuildInfo()
	switch c.output {
	case "json":
		return c.print(b, nil)
	case "table":
		_, err := fmt.Fprintf(c.stdout, "meterd %s\n  commit:   %s\n  go:       %s\n  platform: %s/%s\n", b.Version, b.Commit, b.Go, b.OS, b.Arch)
		return err
	}
	return c.usagef("--output: %q is not table or json", c.output)
}
