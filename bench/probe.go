package bench

import (
	"bufio"
	"bytes"
	"context"
	"encoding/json"
	"fmt"
	"net/http"
	"net/url"
	"strconv"
	"strings"
	"sync"
	"time"
)

// metricSum returns the sum over every series of the metric name on base/metrics.
func metricSum(ctx context.Context, base, name string) (float64, error) {
	code, body, err := httpGet(ctx, base+"/metrics")
	if err != nil {
		return 0, err
	}
	if code != http.StatusOK {
		return 0, fmt.Errorf("GET %s/metrics: %d", base, code)
	}
	return sumMetric(body, name)
}

func sumMetric(body []byte, name string) (float64, error) {
	var sum float64
	found := false
	sc := bufio.NewScanner(bytes.NewReader(body))
	sc.Buffer(make([]byte, 64*1024), 1024*1024)
	for sc.Scan() {
		line := sc.Text()
		if !strings.HasPrefix(line, name) || len(line) == len(name) {
			continue
		}
		if c := line[len(name)]; c != '{' && c != ' ' {
			continue
		}
		rest := line[len(name):]
		if i := strings.LastIndexByte(rest, '}'); i >= 0 {
			rest = rest[i+1:]
		}
		f := strings.Fields(rest)
		if len(f) == 0 {
			continue
		}
		v, err := strconv.ParseFloat(f[0], 64)
		if err != nil {
			return 0, fmt.Errorf("%s: %w", name, err)
		}
		sum += v
		found = true
	}
	if !found {
		return 0, fmt.Errorf("metric %s not exposed", name)
	}
	return sum, sc.Err()
}

// instantQuery runs an instant query and returns the first sample's value.
func instantQuery(ctx context.Context, base, q string) (float64, error) {
	// nocache: VictoriaMetrics otherwise answers for 30 s ago (-search.latencyOffset), as
	// vmalert also asks; Prometheus ignores the parameter.
	code, body, err := httpGet(ctx, base+"/api/v1/query?nocache=1&query="+url.QueryEscape(q))
	if err != nil {
		return 0, err
	}
	var resp struct {
		Status string `json:"status"`
		Data   struct {
			Result []struct {
				Value [2]any `json:"value"`
			} `json:"result"`
		} `json:"data"`
	}
	if err := json.Unmarshal(body, &resp); err != nil || code != http.StatusOK {
		return 0, fmt.Errorf("query %q: %d %s", q, code, body)
	}
	if len(resp.Data.Result) == 0 {
		return 0, nil
	}
	s, _ := resp.Data.Result[0].Value[1].(string)
	return strconv.ParseFloat(s, 64)
}

// rangeQuery runs a range query and returns its wall time.
func rangeQuery(ctx context.Context, base, q string, start, end time.Time, step time.Duration) (time.Duration, error) {
	v := url.Values{}
	v.Set("query", q)
	v.Set("start", strconv.FormatFloat(float64(start.UnixMilli())/1000, 'f', 3, 64))
	v.Set("end", strconv.FormatFloat(float64(end.UnixMilli())/1000, 'f', 3, 64))
	v.Set("step", strconv.FormatFloat(step.Seconds(), 'f', -1, 64))
	t0 := time.Now()
	code, body, err := httpGet(ctx, base+"/api/v1/query_range?"+v.Encode())
	d := time.Since(t0)
	if err != nil {
		return d, err
	}
	if code != http.StatusOK || !bytes.Contains(body, []byte(`"status":"success"`)) {
		return d, fmt.Errorf("query_range %q: %d %.200s", q, code, body)
	}
	return d, nil
}

// rulePoller records every rule group evaluation it sees on /api/v1/rules: a group's
// evaluationTime is that of its last evaluation, so polling faster than the evaluation
// interval and keeping one reading per lastEvaluation catches them all.
type rulePoller struct {
	mu     sync.Mutex
	seen   map[string]string    // group → lastEvaluation already recorded
	evals  map[string][]float64 // group → seconds
	errors int
	cancel context.CancelFunc
	done   chan struct{}
}

func startRulePoller(ctx context.Context, base string, every time.Duration) *rulePoller {
	ctx, cancel := context.WithCancel(ctx)
	r := &rulePoller{seen: map[string]string{}, evals: map[string][]float64{}, cancel: cancel, done: make(chan struct{})}
	go func() {
		defer close(r.done)
		t := time.NewTicker(every)
		defer t.Stop()
		for {
			r.poll(ctx, base)
			select {
			case <-ctx.Done():
				return
			case <-t.C:
			}
		}
	}()
	return r
}

func (r *rulePoller) poll(ctx context.Context, base string) {
	code, body, err := httpGet(ctx, base+"/api/v1/rules")
	var resp struct {
		Data struct {
			Groups []struct {
				Name string `json:"name"`
				File string `json:"file"`
				// vmalert has no evaluationTime per group, only per rule;
				// its rules run one after the other (concurrency 1), so the
				// group's time is their sum.
				EvaluationTime *float64 `json:"evaluationTime"`
				LastEvaluation string   `json:"lastEvaluation"`
				Rules          []struct {
					EvaluationTime float64 `json:"evaluationTime"`
				} `json:"rules"`
			} `json:"groups"`
		} `json:"data"`
	}
	r.mu.Lock()
	defer r.mu.Unlock()
	if err != nil || code != http.StatusOK || json.Unmarshal(body, &resp) != nil {
		if ctx.Err() == nil {
			r.errors++
		}
		return
	}
	for _, g := range resp.Data.Groups {
		key := g.File + ";" + g.Name
		if g.LastEvaluation == "" || strings.HasPrefix(g.LastEvaluation, "0001-") || r.seen[key] == g.LastEvaluation {
			continue
		}
		r.seen[key] = g.LastEvaluation
		var d float64
		if g.EvaluationTime != nil {
			d = *g.EvaluationTime
		} else {
			for _, rule := range g.Rules {
				d += rule.EvaluationTime
			}
		}
		r.evals[g.Name] = append(r.evals[g.Name], d)
	}
}

// stop ends polling and returns the evaluation durations per group.
func (r *rulePoller) stop() (map[string][]float64, int) {
	r.cancel()
	<-r.done
	r.mu.Lock()
	defer r.mu.Unlock()
	return r.evals, r.errors
}

// rssSampler reads the system's summed VmRSS every interval.
type rssSampler struct {
	mu      sync.Mutex
	samples []float64
	cancel  context.CancelFunc
	done    chan struct{}
}

func startRSSSampler(ctx context.Context, in *instance, every time.Duration) *rssSampler {
	ctx, cancel := context.WithCancel(ctx)
	s := &rssSampler{cancel: cancel, done: make(chan struct{})}
	go func() {
		defer close(s.done)
		t := time.NewTicker(every)
		defer t.Stop()
		for {
			if u, err := in.usage(); err == nil {
				s.mu.Lock()
				s.samples = append(s.samples, float64(u.Mem.RSS))
				s.mu.Unlock()
			}
			select {
			case <-ctx.Done():
				return
			case <-t.C:
			}
		}
	}()
	return s
}

func (s *rssSampler) stop() []float64 {
	s.cancel()
	<-s.done
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.samples
}
