package meterdtest

import (
	"os"
	"path/filepath"
	"strconv"
	"strings"
	"syscall"
	"testing"
	"time"
)

// clockTick is the unit of /proc's CPU times (USER_HZ, 100 on Linux).
const clockTick = 10 * time.Millisecond

// ProcessCPU is the CPU time (user and system) process pid has used, with
// that of its exited and reaped children when children is set; 0 when it
// is gone. Benchmarks divide it by their work to report CPU per record.
func ProcessCPU(pid int, children bool) time.Duration {
	f := procStat(pid)
	if f == nil {
		return 0
	}
	// Fields after the command's closing parenthesis: state is [0], so
	// utime, stime, cutime and cstime (fields 14 to 17 of proc(5)) are
	// [11] to [14].
	n := 2
	if children {
		n = 4
	}
	var ticks int64
	for _, v := range f[11 : 11+n] {
		t, _ := strconv.ParseInt(v, 10, 64)
		ticks += t
	}
	return time.Duration(ticks) * clockTick
}

// FamilyCPU is the CPU time used by process parent with its reaped
// children, and by its live children. (PostgreSQL's backends are children
// of the postmaster, each in a session of its own.)
func FamilyCPU(parent int) time.Duration {
	dirs, _ := filepath.Glob("/proc/[0-9]*")
	total := ProcessCPU(parent, true)
	for _, d := range dirs {
		pid, _ := strconv.Atoi(filepath.Base(d))
		if f := procStat(pid); f != nil && f[1] == strconv.Itoa(parent) { // [1] is the parent's pid
			total += ProcessCPU(pid, false)
		}
	}
	return total
}

// procStat returns the fields of /proc/pid/stat after the command, nil if
// the process is gone.
func procStat(pid int) []string {
	b, err := os.ReadFile("/proc/" + strconv.Itoa(pid) + "/stat")
	if err != nil {
		return nil
	}
	s := string(b)
	return strings.Fields(s[strings.LastIndexByte(s, ')')+1:])
}

// SelfCPU is the CPU time this process has used.
func SelfCPU(tb testing.TB) time.Duration {
	var ru syscall.Rusage
	if err := syscall.Getrusage(syscall.RUSAGE_SELF, &ru); err != nil {
		tb.Fatal(err)
	}
	return time.Duration(ru.Utime.Nano() + ru.Stime.Nano())
}
