package main

import (
	"encoding/json"
	"fmt"
	"maps"
	"slices"
	"time"

	"github.com/coder/websocket"
)

// analyze matches every client's messages to the triggered events and
// checks exactly-once, in-order delivery. A connection whose reader stopped
// before closeStart was ended by the server (or the network), not by us.
func analyze(clients []*wsClient, sendAt []time.Duration, ids []string, postErrs []error, closeStart time.Duration, res *wsResult) {
	index := map[string]int{}
	for i, id := range ids {
		if postErrs[i] == nil {
			index[id] = i
		}
	}
	perEvent := make([][]time.Duration, len(ids))
	seqOf := make([]int64, len(ids))
	var all []time.Duration
	for _, cl := range clients {
		seen := make([]bool, len(ids))
		lastIdx, lastSeq := -1, int64(0)
		for _, m := range cl.msgs {
			var ev struct {
				Seq       int64  `json:"seq"`
				Type      string `json:"type"`
				SubjectID string `json:"subject_id"`
			}
			i, ok := -1, false
			if json.Unmarshal(m.data, &ev) == nil {
				i, ok = index[ev.SubjectID]
			}
			if !ok {
				res.Unexpected++
				continue
			}
			if seen[i] {
				res.Duplicates++
				continue
			}
			seen[i] = true
			if i < lastIdx || ev.Seq <= lastSeq {
				res.OutOfOrder++
			}
			lastIdx, lastSeq = max(lastIdx, i), max(lastSeq, ev.Seq)
			if seqOf[i] == 0 {
				seqOf[i] = ev.Seq
			} else if seqOf[i] != ev.Seq {
				res.SeqMismatch++
			}
			lat := m.at - sendAt[i]
			perEvent[i] = append(perEvent[i], lat)
			all = append(all, lat)
		}
		for i, s := range seen {
			if !s && postErrs[i] == nil {
				res.Missing++
			}
		}
		if cl.err != nil && cl.endAt < closeStart {
			reason := simplifyErr(cl.err)
			if code := websocket.CloseStatus(cl.err); code != -1 {
				reason = fmt.Sprintf("close status %d", code)
			}
			res.Dropped[reason]++
		}
	}
	for i := range res.Events {
		s := summarize(perEvent[i])
		e := &res.Events[i]
		e.Seq, e.Received = seqOf[i], s.N
		e.FirstMS, e.P50MS, e.P99MS, e.LastMS = s.MinMS, s.P50MS, s.P99MS, s.MaxMS
	}
	res.Delivery = summarize(all)
	res.Delivered = len(all)
	res.AllConnectedMet = res.Connected == res.ClientsRequested && len(res.Dropped) == 0
	res.P99Met = res.Delivered > 0 && res.Delivery.P99MS < 50 && res.Missing == 0
	res.MemoryMet = res.RSSIdleKB > 0 && res.PerConnKB < 40
	res.ExactlyOnceMet = res.Missing == 0 && res.Duplicates == 0 && res.OutOfOrder == 0 && res.SeqMismatch == 0 && res.Delivered > 0
}

func report(c *common, cfg wsConfig, res *wsResult) {
	c.printf("\n%5s %6s %9s %10s %9s %9s %9s %9s\n", "event", "seq", "POST ms", "received", "first ms", "p50 ms", "p99 ms", "last ms")
	for _, e := range res.Events {
		if e.Err != "" {
			c.printf("%5d  POST failed: %s\n", e.Index, e.Err)
			continue
		}
		c.printf("%5d %6d %9.2f %10s %9.2f %9.2f %9.2f %9.2f\n", e.Index, e.Seq, e.PostMS,
			fmt.Sprintf("%d/%d", e.Received, res.Connected), e.FirstMS, e.P50MS, e.P99MS, e.LastMS)
	}
	d := res.Delivery
	c.printf("\nall %d deliveries (POST sent → client received): p50 %.2f ms, p90 %.2f ms, p99 %.2f ms, max %.2f ms\n",
		d.N, d.P50MS, d.P90MS, d.P99MS, d.MaxMS)
	var lasts []float64
	for _, e := range res.Events {
		if e.Err == "" {
			lasts = append(lasts, e.LastMS)
		}
	}
	c.printf("time to last client per event: median %.2f ms, max %.2f ms\n", median(lasts), slices.Max(append(lasts, 0)))
	c.printf("deliveries %d of %d expected: missing %d, duplicates %d, out of order %d, seq mismatches %d, unexpected %d, before first event %d\n",
		res.Delivered, res.Expected, res.Missing, res.Duplicates, res.OutOfOrder, res.SeqMismatch, res.Unexpected, res.EarlyMessages)
	for _, k := range slices.Sorted(maps.Keys(res.Dropped)) {
		c.printf("server closed %d connections mid-run: %s\n", res.Dropped[k], k)
	}
	c.printf("CPU while events flowed (%% of one CPU): server %.0f%%, bench %.0f%%, other %.0f%%; per event: server %.0f ms, bench %.0f ms\n",
		res.EventCPU.Target, res.EventCPU.Bench, res.EventCPU.Other, res.ServerCPUPerEvMS, res.BenchCPUPerEvMS)
	n, e := res.NetRun, res.NetEvents
	c.printf("kernel (machine-wide) over the run: loopback backlog drops %d, TCP retransmits %d, aborts on timeout %d, resets %d\n",
		n.BacklogDrops, n.RetransSegs, n.AbortOnTimeout, n.EstabResets)
	c.printf("                  during the events: loopback backlog drops %d, TCP retransmits %d\n", e.BacklogDrops, e.RetransSegs)
	if res.RSSAfterEventsKB > 0 {
		c.printf("server VmRSS after the events: %.1f MB\n", kbToMB(res.RSSAfterEventsKB))
	}
	if res.ServerExited {
		c.printf("WARNING: the server process exited during the run\n")
	}
	c.printf("target %d concurrent clients: %s (%d connected)\n", cfg.clients, verdict(res.AllConnectedMet), res.Connected)
	c.printf("target event reaches all, p99 < 50 ms: %s (p99 %.2f ms, %d missing)\n", verdict(res.P99Met), d.P99MS, res.Missing)
	if res.RSSIdleKB > 0 {
		c.printf("target < 40 KB per idle connection: %s (%.1f KB; marginal %.1f KB)\n", verdict(res.MemoryMet), res.PerConnKB, res.MarginalKB)
	}
	c.printf("exactly once, in order: %s\n", verdict(res.ExactlyOnceMet))
}
