// Package fileperm keeps meterd's files of secrets readable by their owner
// only, whatever the umask: the server's ledger (secret keys, session
// tokens, RegisterUsage private keys) and admin token, the relay's outbox
// and token. os.OpenFile's mode is narrowed by the umask only, and a file
// that exists keeps its mode, so both are set explicitly.
package fileperm

import (
	"errors"
	"fmt"
	"io/fs"
	"os"
)

// Private creates paths[0] (a database) when missing, mode 0600, and sets
// every existing path to 0600, so that a file made by another program or an
// older meterd is narrowed too. SQLite gives the WAL and SHM files it
// creates the database file's mode, so a 0600 database keeps them 0600.
func Private(paths ...string) error {
	for i, p := range paths {
		if i == 0 {
			f, err := os.OpenFile(p, os.O_RDWR|os.O_CREATE, 0o600)
			if err != nil {
				return err
			}
			f.Close()
		}
		if err := os.Chmod(p, 0o600); err != nil && !errors.Is(err, fs.ErrNotExist) {
			return err
		}
	}
	return nil
}

// WriteSecret writes data to path, mode 0600 even when the file existed
// with another mode.
func WriteSecret(path string, data []byte) error {
	if err := os.WriteFile(path, data, 0o600); err != nil {
		return err
	}
	return os.Chmod(path, 0o600)
}

// Dir creates dir (and its parents) mode 0700 when missing, and returns a
// warning, or "", when dir lets its group or others in: the files in it are
// then protected by their own modes only.
func Dir(dir string) (warning string, err error) {
	if err := os.MkdirAll(dir, 0o700); err != nil {
		return "", err
	}
	fi, err := os.Stat(dir)
	if err != nil {
		return "", err
	}
	if perm := fi.Mode().Perm(); perm&0o077 != 0 {
		return fmt.Sprintf("the data directory %s has mode %04o: its group and others can list it; chmod 700 it", dir, perm), nil
	}
	return "", nil
}
