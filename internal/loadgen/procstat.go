package loadgen

import (
	"bytes"
	"fmt"
	"os"
	"strconv"
	"syscall"
	"time"
)

// clockTicks is USER_HZ, the unit of /proc's CPU times. It is 100 on every
// Linux architecture Go supports.
const clockTicks = 100

func ticks(n uint64) time.Duration { return time.Duration(n) * time.Second / clockTicks }

// CPUTimes is the CPU time a process has used, all threads together.
type CPUTimes struct {
	User, System time.Duration
}

// Total is user plus system time.
func (t CPUTimes) Total() time.Duration { return t.User + t.System }

// ProcessCPU returns the CPU time a process has used so far, from
// /proc/<pid>/stat.
func ProcessCPU(pid int) (CPUTimes, error) {
	b, err := os.ReadFile("/proc/" + strconv.Itoa(pid) + "/stat")
	if err != nil {
		return CPUTimes{}, err
	}
	return parseStatCPU(b)
}

// parseStatCPU reads utime and stime (fields 14 and 15) from a
// /proc/<pid>/stat line. The command name, field 2, may hold spaces and
// parentheses, so fields are counted from the last ')'.
func parseStatCPU(stat []byte) (CPUTimes, error) {
	i := bytes.LastIndexByte(stat, ')')
	if i < 0 {
		return CPUTimes{}, fmt.Errorf("malformed /proc stat %.40q", stat)
	}
	f := bytes.Fields(stat[i+1:])
	// f[0] is field 3 (state), so utime (14) is f[11] and stime (15) f[12].
	if len(f) < 13 {
		return CPUTimes{}, fmt.Errorf("malformed /proc stat %.40q", stat)
	}
	utime, err1 := strconv.ParseUint(string(f[11]), 10, 64)
	stime, err2 := strconv.ParseUint(string(f[12]), 10, 64)
	if err1 != nil || err2 != nil {
		return CPUTimes{}, fmt.Errorf("malformed /proc stat times %q %q", f[11], f[12])
	}
	return CPUTimes{User: ticks(utime), System: ticks(stime)}, nil
}

// ProcessPeakRSS returns a process's peak resident set size (VmHWM) in
// bytes.
func ProcessPeakRSS(pid int) (int64, error) {
	b, err := os.ReadFile("/proc/" + strconv.Itoa(pid) + "/status")
	if err != nil {
		return 0, err
	}
	return parseStatusKB(b, "VmHWM:")
}

func parseStatusKB(status []byte, key string) (int64, error) {
	for line := range bytes.Lines(status) {
		if rest, ok := bytes.CutPrefix(line, []byte(key)); ok {
			f := bytes.Fields(rest)
			if len(f) == 0 {
				break
			}
			kb, err := strconv.ParseInt(string(f[0]), 10, 64)
			if err != nil {
				return 0, fmt.Errorf("/proc status %s %q: %w", key, f[0], err)
			}
			return kb * 1024, nil
		}
	}
	return 0, fmt.Errorf("/proc status has no %s", key)
}

// SelfCPU returns the CPU time this process has used so far.
func SelfCPU() CPUTimes {
	var ru syscall.Rusage
	if err := syscall.Getrusage(syscall.RUSAGE_SELF, &ru); err != nil {
		return CPUTimes{}
	}
	return CPUTimes{User: time.Duration(ru.Utime.Nano()), System: time.Duration(ru.Stime.Nano())}
}

// MachineTimes is CPU time of the whole machine, every CPU together.
type MachineTimes struct {
	// User is what all processes spent in user space (nice included).
	User time.Duration
	// Steal is what the hypervisor gave to other guests while this one
	// wanted to run.
	Steal time.Duration
}

// MachineCPU returns the machine's CPU times so far, from the first line
// of /proc/stat. Only user time is taken, not system or interrupt time:
// on loopback much of the network stack runs in softirqs that are charged
// to whichever process was running, or to none, so kernel time cannot be
// attributed to processes reliably; user time can.
func MachineCPU() (MachineTimes, error) {
	b, err := os.ReadFile("/proc/stat")
	if err != nil {
		return MachineTimes{}, err
	}
	return parseMachineCPU(b)
}

func parseMachineCPU(stat []byte) (MachineTimes, error) {
	line, _, _ := bytes.Cut(stat, []byte("\n"))
	f := bytes.Fields(line)
	// cpu user nice system idle iowait irq softirq steal [guest guest_nice]
	if len(f) < 9 || string(f[0]) != "cpu" {
		return MachineTimes{}, fmt.Errorf("malformed /proc/stat %.60q", line)
	}
	var v [8]uint64
	for i := range v {
		var err error
		if v[i], err = strconv.ParseUint(string(f[i+1]), 10, 64); err != nil {
			return MachineTimes{}, fmt.Errorf("malformed /proc/stat %.60q", line)
		}
	}
	return MachineTimes{User: ticks(v[0] + v[1]), Steal: ticks(v[7])}, nil
}
