package simulator

import (
	"fmt"
	"net/http"
	"strconv"
	"sync/atomic"
)

// benchMetric is the synthetic series family served for scale benchmarks.
const benchMetric = "smm_bench_series_value"

// benchTarget serves one share of the synthetic series. The label sets are rendered once
// at creation; a scrape only appends values, so 100k series cost a few milliseconds and
// no client_golang registry is involved.
type benchTarget struct {
	first int           // global index of the first series
	text  []byte        // the rendered "name{labels} " prefixes, back to back
	ends  []int         // end offset of each prefix in text
	tick  *atomic.Int64 // values change with every tick
}

const benchHeader = "# HELP " + benchMetric + " Synthetic series for scale benchmarks.\n# TYPE " + benchMetric + " gauge\n"

// newBenchTargets spreads series over n targets, the first ones taking the remainder.
func newBenchTargets(series, n int, tick *atomic.Int64) []*benchTarget {
	var out []*benchTarget
	next := 0
	for t := range n {
		count := series / n
		if t < series%n {
			count++
		}
		bt := &benchTarget{first: next, tick: tick, ends: make([]int, 0, count)}
		for i := next; i < next+count; i++ {
			bt.text = fmt.Appendf(bt.text, "%s{series=\"%07d\",group=\"g%02d\",shard=\"%d\"} ", benchMetric, i, i%100, t)
			bt.ends = append(bt.ends, len(bt.text))
		}
		next += count
		out = append(out, bt)
	}
	return out
}

func (b *benchTarget) ServeHTTP(w http.ResponseWriter, _ *http.Request) {
	tick := b.tick.Load()
	buf := make([]byte, 0, len(benchHeader)+len(b.text)+len(b.ends)*6)
	buf = append(buf, benchHeader...)
	start := 0
	for i, end := range b.ends {
		buf = append(buf, b.text[start:end]...)
		buf = strconv.AppendInt(buf, (int64(b.first+i)*7919+tick*31)%10000, 10)
		buf = append(buf, '\n')
		start = end
	}
	w.Header().Set("Content-Type", "text/plain; version=0.0.4; charset=utf-8")
	w.Header().Set("Content-Length", strconv.Itoa(len(buf)))
	_, _ = w.Write(buf)
}
