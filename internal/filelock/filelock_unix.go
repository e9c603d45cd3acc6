//go:build unix

package filelock

import (
	"os"
	"syscall"
)

// Lock opens path (creating it, mode 0600) and takes an exclusive lock on
// it without waiting: it fails at once while another process, or another
// open of the same file in this one, holds it. The kernel drops the lock
// when the file is closed or the process ends, even by SIGKILL.
func Lock(path string) (*os.File, error) {
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
