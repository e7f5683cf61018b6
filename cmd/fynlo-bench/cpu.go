package main

import (
	"fmt"
	"os"
	"strconv"
	"strings"
	"time"
)

// The machine is shared and small, so every load phase also records where
// the CPU went: to the server under test, to this tool, and to everything
// else (another build, the idle server of the other phase). A phase in
// which "other" took a big share was measured on a busy machine.

const clockTicks = 100 // USER_HZ: the unit of /proc CPU times on Linux

// cpuSample is a snapshot of CPU time consumed, in clock ticks.
type cpuSample struct {
	at    time.Time
	busy  int64         // all CPUs, from /proc/stat
	procs map[int]int64 // utime+stime per process
}

func sampleCPU(pids ...int) cpuSample {
	s := cpuSample{at: time.Now(), procs: map[int]int64{}}
	if b, err := os.ReadFile("/proc/stat"); err == nil {
		line, _, _ := strings.Cut(string(b), "\n")
		f := strings.Fields(line) // cpu user nice system idle iowait irq softirq steal guest guest_nice
		for i, v := range f {
			if i == 0 || i == 4 || i == 5 || i >= 9 { // not idle, iowait, or guest (already counted in user)
				continue
			}
			n, _ := strconv.ParseInt(v, 10, 64)
			s.busy += n
		}
	}
	for _, pid := range pids {
		if pid > 0 {
			s.procs[pid] = procCPUTicks(pid)
		}
	}
	return s
}

// procCPUTicks is a process's utime+stime, all threads, in clock ticks.
func procCPUTicks(pid int) int64 {
	b, err := os.ReadFile(fmt.Sprintf("/proc/%d/stat", pid))
	if err != nil {
		return 0
	}
	// The command name (field 2) may contain spaces; fields resume after ')'.
	s := string(b)
	f := strings.Fields(s[strings.LastIndexByte(s, ')')+1:])
	if len(f) < 13 {
		return 0
	}
	u, _ := strconv.ParseInt(f[11], 10, 64) // field 14
	k, _ := strconv.ParseInt(f[12], 10, 64) // field 15
	return u + k
}

// cpuShare is CPU use over a phase, in percent of one CPU (2 CPUs = 200%).
type cpuShare struct {
	Target float64 `json:"target_pct"` // the server being driven
	Bench  float64 `json:"bench_pct"`  // this load generator
	Other  float64 `json:"other_pct"`  // everything else on the machine
}

func cpuBetween(a, b cpuSample, target, bench int) cpuShare {
	secs := b.at.Sub(a.at).Seconds()
	if secs <= 0 {
		return cpuShare{}
	}
	pct := func(ticks int64) float64 { return 100 * float64(ticks) / clockTicks / secs }
	t := b.procs[target] - a.procs[target]
	m := b.procs[bench] - a.procs[bench]
	return cpuShare{Target: pct(t), Bench: pct(m), Other: max(pct(b.busy-a.busy-t-m), 0)}
}
