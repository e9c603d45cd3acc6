// Package filelock holds the one-process-per-file lock of meterd's SQLite
// stores: the server's ledger and the relay's outbox each take it on a
// ".lock" file beside their database, so that a second process on the
// same file is refused at start rather than corrupting what the first
// keeps in memory.
package filelock
