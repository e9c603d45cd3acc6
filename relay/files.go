package relay

import (
	"errors"
	"fmt"
	"io/fs"
	"os"
)

// privateFiles creates path[0] (the database) when missing, mode 0600, and
// sets every existing path to 0600: os.OpenFile's mode is narrowed by the
// umask only, so a file made by another program, or an older relay, keeps
// a wider one unless it is changed.
func privateFiles(paths ...string) error {
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

// PrivateDir creates dir (and its parents) mode 0700 when missing, and
// returns a warning, or "", when dir lets its group or others in: the
// relay's store and token are then protected by their own modes only.
func PrivateDir(dir string) (warning string, err error) {
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
