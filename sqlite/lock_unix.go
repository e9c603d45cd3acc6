//go:build unix

package sqlite

import (
	"os"
	"syscall"
)

// lockFile opens path and takes an exclusive lock on it without waiting.
// The kernel drops the lock when the process ends, even by SIGKILL.
func lockFile(path string) (*os.File, error) {
	f, err := os.OpenFile(path, os.O_RDWR|os.O_CREATE, 0o600)
	if err != nil {
		return nil, err
	}
	if err := syscall.Flock(int(f.Fd()), syscall.LOCK_EX|syscall.LOCK_NB); err != nil {
		f.Close()
		return nil, err
	}
	return f, nil
}
