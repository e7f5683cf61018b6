package main

import (
	"os"
	"strconv"
	"strings"
)

// netCounters are machine-wide kernel network counters that explain odd
// latencies on loopback: a packet dropped from the loopback backlog queue
// (net.core.netdev_max_backlog) is retransmitted only after TCP's minimum
// retransmission timeout of 200 ms, and keep-alive probes dropped nine
// times in a row abort the connection.
type netCounters struct {
	BacklogDrops   int64 `json:"backlog_drops"`     // /proc/net/softnet_stat, column 2, all CPUs
	RetransSegs    int64 `json:"tcp_retrans_segs"`  // /proc/net/snmp Tcp RetransSegs
	AbortOnTimeout int64 `json:"tcp_abort_timeout"` // /proc/net/netstat TcpExt TCPAbortOnTimeout
	EstabResets    int64 `json:"tcp_estab_resets"`  // /proc/net/snmp Tcp EstabResets
}

func readNetCounters() netCounters {
	var n netCounters
	if b, err := os.ReadFile("/proc/net/softnet_stat"); err == nil {
		for _, line := range strings.Split(strings.TrimSpace(string(b)), "\n") {
			if f := strings.Fields(line); len(f) > 1 {
				v, _ := strconv.ParseInt(f[1], 16, 64)
				n.BacklogDrops += v
			}
		}
	}
	n.RetransSegs = procNetValue("/proc/net/snmp", "Tcp", "RetransSegs")
	n.EstabResets = procNetValue("/proc/net/snmp", "Tcp", "EstabResets")
	n.AbortOnTimeout = procNetValue("/proc/net/netstat", "TcpExt", "TCPAbortOnTimeout")
	return n
}

// procNetValue reads one counter from a /proc/net file made of pairs of
// lines: "Proto: name name ..." then "Proto: value value ...".
func procNetValue(path, proto, name string) int64 {
	b, err := os.ReadFile(path)
	if err != nil {
		return 0
	}
	lines := strings.Split(string(b), "\n")
	for i := 0; i+1 < len(lines); i++ {
		names, values := strings.Fields(lines[i]), strings.Fields(lines[i+1])
		if len(names) == 0 || names[0] != proto+":" || len(values) != len(names) {
			continue
		}
		for j, n := range names {
			if n == name {
				v, _ := strconv.ParseInt(values[j], 10, 64)
				return v
			}
		}
	}
	return 0
}

func (a netCounters) sub(b netCounters) netCounters {
	return netCounters{BacklogDrops: a.BacklogDrops - b.BacklogDrops, RetransSegs: a.RetransSegs - b.RetransSegs,
		AbortOnTimeout: a.AbortOnTimeout - b.AbortOnTimeout, EstabResets: a.EstabResets - b.EstabResets}
}
