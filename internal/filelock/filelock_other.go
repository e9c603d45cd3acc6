//go:build !unix

package filelock

import "os"

// Lock opens path; other systems get no lock.
func Lock(path string) (*os.File, error) {
	return os.OpenFile(path, os.O_RDWR|os.O_CREATE, 0o600)
}
