package main

import (
	"context"
	"errors"
	"flag"
	"fmt"
	"io"
	"os"
	"path/filepath"
	"strconv"
	"strings"

	"github.com/meterd/meterd/sqlite"
)

// runBackup runs meterd backup: a consistent copy of the running server's
// SQLite store, streamed through the admin API into a local file.
func runBackup(ctx context.Context, args []string, stdout, stderr io.Writer) int {
	c := newCLI("meterd backup", "--to FILE", stdout, stderr)
	return c.exit(backup(ctx, c, args))
}

func backup(ctx context.Context, c *cli, args []string) error {
	fs := c.flags("Copies the running server's SQLite store, consistently and while it keeps taking\n" +
		"writes (VACUUM INTO on the server), and streams the copy into FILE (mode 0600: it\n" +
		"holds secret keys). The copy holds every record acknowledged before the backup began.\n" +
		"FILE is written beside itself first and renamed once whole and checked. Needs an\n" +
		"admin token of role admin. A PostgreSQL store is backed up with pg_dump instead.")
	to := fs.String("to", "", "the file to write (required)")
	client, err := c.connect(fs, args, "to")
	if err != nil {
		return err
	}
	partial := *to + ".partial"
	f, err := os.OpenFile(partial, os.O_WRONLY|os.O_CREATE|os.O_TRUNC, 0o600)
	if err != nil {
		return err
	}
	defer os.Remove(partial)
	n, err := client.Backup(ctx, f)
	if err == nil {
		err = f.Sync()
	}
	if cerr := f.Close(); err == nil {
		err = cerr
	}
	if err != nil {
		return err
	}
	if err := sqlite.CheckBackup(ctx, partial); err != nil {
		return fmt.Errorf("the copy received is not whole: %w", err)
	}
	if err := os.Rename(partial, *to); err != nil {
		return err
	}
	t := &table{header: []string{"file", "bytes"}}
	t.add(*to, strconv.FormatInt(n, 10))
	if c.output == "table" {
		_, err := fmt.Fprintf(c.stdout, "backup of %d bytes written to %s\n", n, *to)
		return err
	}
	return c.print(map[string]any{"file": *to, "bytes": n}, t)
}

// runRestore runs meterd restore: it puts a backup in place of the SQLite
// store of a data directory, with the server stopped.
func runRestore(ctx context.Context, args []string, stdout, stderr io.Writer) int {
	fs := flag.NewFlagSet("meterd restore", flag.ContinueOnError)
	from := fs.String("from", "", "a backup written by meterd backup (required)")
	data := fs.String("data", envOr("METERD_DATA", "./meterd-data"), "the data directory of the server to restore (env METERD_DATA)")
	fs.Usage = func() {
		fmt.Fprint(fs.Output(), "Usage: meterd restore --from FILE [--data DIR]\n\n"+
			"Replaces the SQLite store of --data with a backup, with the server stopped: it refuses\n"+
			"while a meterd uses the store, and checks first that FILE is a whole meterd database of a\n"+
			"schema this meterd knows. The database replaced is kept as meterd.db.pre-restore. The next\n"+
			"meterd serve on --data starts from the backup (applying newer migrations, if any).\n"+
			"A PostgreSQL store is restored with pg_restore instead.\n\nFlags:\n")
		fs.PrintDefaults()
	}
	var msg strings.Builder
	fs.SetOutput(&msg)
	if err := fs.Parse(args); errors.Is(err, flag.ErrHelp) {
		io.WriteString(stdout, msg.String())
		return exitOK
	} else if err != nil {
		fmt.Fprintf(stderr, "meterd restore: %v\nRun \"meterd restore --help\" for usage.\n", err)
		return exitUsage
	}
	if *from == "" || fs.NArg() > 0 {
		fmt.Fprintln(stderr, "meterd restore: --from FILE is required, and nothing else")
		return exitUsage
	}
	path := filepath.Join(*data, "meterd.db")
	if err := sqlite.Restore(ctx, *from, path); err != nil {
		fmt.Fprintln(stderr, "meterd restore:", err)
		return exitError
	}
	fmt.Fprintf(stdout, "restored %s from %s\n", path, *from)
	return exitOK
}

// envOr returns the environment variable name, or def when it is empty.
func envOr(name, def string) string {
	if v := os.Getenv(name); v != "" {
		return v
	}
	return def
}
