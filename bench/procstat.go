package bench

import (
	"bufio"
	"bytes"
	"fmt"
	"os"
	"strconv"
	"strings"
)

// clockTicks is USER_HZ, the unit of utime and stime in /proc/PID/stat. It is 100 on every
// Linux architecture Go supports; reading it needs sysconf, which needs cgo.
const clockTicks = 100

// ProcMem is the memory of one process, in bytes.
type ProcMem struct {
	RSS  uint64 // VmRSS: resident now
	Peak uint64 // VmHWM: highest resident since start
	// Anon and File split RSS: anonymous memory (heap, stacks) and file pages
	// (mostly the binary's code and data, which a bigger binary touches more of).
	Anon, File uint64
}

// readMem reads VmRSS and VmHWM from /proc/PID/status.
func readMem(pid int) (ProcMem, error) {
	b, err := os.ReadFile(fmt.Sprintf("/proc/%d/status", pid))
	if err != nil {
		return ProcMem{}, err
	}
	return parseStatus(b)
}

func parseStatus(b []byte) (ProcMem, error) {
	var m ProcMem
	var found int
	sc := bufio.NewScanner(bytes.NewReader(b))
	for sc.Scan() {
		key, val, ok := strings.Cut(sc.Text(), ":")
		if !ok || (key != "VmRSS" && key != "VmHWM" && key != "RssAnon" && key != "RssFile") {
			continue
		}
		f := strings.Fields(val)
		if len(f) != 2 || f[1] != "kB" {
			return ProcMem{}, fmt.Errorf("status: unexpected %s line %q", key, sc.Text())
		}
		kb, err := strconv.ParseUint(f[0], 10, 64)
		if err != nil {
			return ProcMem{}, fmt.Errorf("status: %s: %w", key, err)
		}
		switch key {
		case "VmRSS":
			m.RSS = kb * 1024
			found++
		case "VmHWM":
			m.Peak = kb * 1024
			found++
		case "RssAnon":
			m.Anon = kb * 1024
		case "RssFile":
			m.File = kb * 1024
		}
	}
	if found != 2 {
		return ProcMem{}, fmt.Errorf("status: VmRSS or VmHWM missing")
	}
	return m, nil
}

// readCPU returns the user plus system CPU seconds a process has used.
func readCPU(pid int) (float64, error) {
	b, err := os.ReadFile(fmt.Sprintf("/proc/%d/stat", pid))
	if err != nil {
		return 0, err
	}
	return parseStat(b)
}

// parseStat reads utime and stime (fields 14 and 15). The command name (field 2) may hold
// spaces and parentheses, so fields are counted after its last ')'.
func parseStat(b []byte) (float64, error) {
	i := bytes.LastIndexByte(b, ')')
	if i < 0 {
		return 0, fmt.Errorf("stat: no command field")
	}
	f := strings.Fields(string(b[i+1:]))
	// f[0] is field 3 (state), so field n is f[n-3].
	if len(f) < 13 {
		return 0, fmt.Errorf("stat: %d fields", len(f))
	}
	var ticks uint64
	for _, s := range f[11:13] {
		v, err := strconv.ParseUint(s, 10, 64)
		if err != nil {
			return 0, fmt.Errorf("stat: %w", err)
		}
		ticks += v
	}
	return float64(ticks) / clockTicks, nil
}
