package main

import (
	"context"
	"fmt"
	"io"
	"net/http"
	"strings"
	"time"
)

// runHealthcheck is meterd healthcheck: exit 0 when the server's /readyz
// answers 200 (its store is reachable), 1 otherwise. Container health
// checks run it, so it needs no shell and no curl in the image.
func runHealthcheck(ctx context.Context, args []string, stdout, stderr io.Writer) int {
	c := newCLI("meterd healthcheck", "[--server URL] [--timeout D]", stdout, stderr)
	return c.exit(healthcheck(ctx, c, args))
}

func healthcheck(ctx context.Context, c *cli, args []string) error {
	fs := c.bareFlags("Asks the server's /readyz whether it is ready (its store reachable): exit 0 when it\n" +
		"answers 200, 1 otherwise. For container health checks (HEALTHCHECK, --health-cmd).")
	c.serverFlag(fs)
	timeout := fs.Duration("timeout", 5*time.Second, "how long to wait for the answer")
	if _, err := c.parse(fs, args, 0); err != nil {
		return err
	}
	ctx, cancel := context.WithTimeout(ctx, *timeout)
	defer cancel()
	url := strings.TrimRight(c.server, "/") + "/readyz"
	req, err := http.NewRequestWithContext(ctx, http.MethodGet, url, nil)
	if err != nil {
		return c.usagef("--server: %v", err)
	}
	resp, err := http.DefaultClient.Do(req)
	if err != nil {
		return fmt.Errorf("not ready: %w", err)
	}
	defer resp.Body.Close()
	body, _ := io.ReadAll(io.LimitReader(resp.Body, 512))
	if resp.StatusCode != http.StatusOK {
		return fmt.Errorf("not ready: GET %s answered %s: %s", url, resp.Status, strings.TrimSpace(string(body)))
	}
	_, err = fmt.Fprintf(c.stdout, "ready: %s\n", url)
	return err
}
