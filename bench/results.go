package bench

import (
	"bufio"
	"bytes"
	"encoding/json"
	"math"
	"os"
	"runtime"
	"strconv"
	"strings"
)

// Results is everything one invocation measured; bench/results/<date>.json holds it.
type Results struct {
	Date    string    `json:"date"`
	Command string    `json:"command"`
	Profile Profile   `json:"profile"`
	Machine Machine   `json:"machine"`
	Systems []*System `json:"systems"`
	Figures []*Figure `json:"figures"`
	Details []Detail  `json:"details"`
	Errors  []string  `json:"errors,omitempty"`
	// NotApplicable lists the scenarios a system is not measured in, and why.
	NotApplicable []NotApplicable `json:"not_applicable,omitempty"`
	Skipped       []string        `json:"skipped,omitempty"`
	Seconds       float64         `json:"duration_seconds"`
	Baseline      string          `json:"baseline"` // the system the others are compared to
}

// Machine describes where the run happened. Load averages at start and end tell whether
// something else ran at the same time.
type Machine struct {
	Cores     int        `json:"cores"`
	CPU       string     `json:"cpu"`
	MemoryMB  int        `json:"memory_mb"`
	Kernel    string     `json:"kernel"`
	Go        string     `json:"go"`
	LoadStart [3]float64 `json:"load_start"`
	LoadEnd   [3]float64 `json:"load_end"`
}

// Figure is one measured quantity of a scenario, per system.
type Figure struct {
	Scenario string             `json:"scenario"`
	Name     string             `json:"name"`
	Unit     string             `json:"unit"`
	Lower    bool               `json:"lower_is_better"`
	Values   map[string]float64 `json:"values"`
	// Info marks a figure that describes the measurement (its window) rather than a
	// system: no ratio. Text, when set for a system, is shown instead of its value.
	Info bool              `json:"info,omitempty"`
	Text map[string]string `json:"text,omitempty"`
}

// NotApplicable says why a system has no figures in a scenario.
type NotApplicable struct {
	Scenario string `json:"scenario"`
	System   string `json:"system"`
	Why      string `json:"why"`
}

func (r *Results) notApplicable(scenario, system, why string) {
	r.NotApplicable = append(r.NotApplicable, NotApplicable{Scenario: scenario, System: system, Why: why})
}

func (r *Results) isNotApplicable(scenario, system string) bool {
	for _, n := range r.NotApplicable {
		if n.Scenario == scenario && n.System == system {
			return true
		}
	}
	return false
}

// setInfo records an Info figure: value v, shown as text.
func (r *Results) setInfo(scenario, name, unit, system string, v float64, text string) {
	r.set(scenario, name, unit, true, system, v)
	f := r.figure(scenario, name)
	f.Info = true
	if f.Text == nil {
		f.Text = map[string]string{}
	}
	f.Text[system] = text
}

// Detail is the raw data behind a scenario's figures for one system.
type Detail struct {
	Scenario string         `json:"scenario"`
	System   string         `json:"system"`
	Data     map[string]any `json:"data"`
}

// set records value for system under scenario/name, creating the figure on first use. A
// value that is not finite (a quantile of nothing, a rate over no samples) is not recorded:
// the table shows "–", and JSON has no NaN.
func (r *Results) set(scenario, name, unit string, lower bool, system string, value float64) {
	if math.IsNaN(value) || math.IsInf(value, 0) {
		value = math.NaN()
	}
	for _, f := range r.Figures {
		if f.Scenario == scenario && f.Name == name {
			if !math.IsNaN(value) {
				f.Values[system] = value
			}
			return
		}
	}
	f := &Figure{Scenario: scenario, Name: name, Unit: unit, Lower: lower, Values: map[string]float64{}}
	if !math.IsNaN(value) {
		f.Values[system] = value
	}
	r.Figures = append(r.Figures, f)
}

func (r *Results) figure(scenario, name string) *Figure {
	for _, f := range r.Figures {
		if f.Scenario == scenario && f.Name == name {
			return f
		}
	}
	return nil
}

func (r *Results) detail(scenario, system string, data map[string]any) {
	r.Details = append(r.Details, Detail{Scenario: scenario, System: system, Data: data})
}

// finite returns v, or nil when JSON cannot hold it (NaN, ±Inf).
func finite(v float64) any {
	if math.IsNaN(v) || math.IsInf(v, 0) {
		return nil
	}
	return v
}

// WriteJSON writes the results, indented.
func (r *Results) WriteJSON(path string) error {
	b, err := json.MarshalIndent(r, "", "  ")
	if err != nil {
		return err
	}
	return os.WriteFile(path, append(b, '\n'), 0o644)
}

// ReadResults reads a results file.
func ReadResults(path string) (*Results, error) {
	b, err := os.ReadFile(path)
	if err != nil {
		return nil, err
	}
	var r Results
	return &r, json.Unmarshal(b, &r)
}

func machine() Machine {
	m := Machine{Cores: runtime.NumCPU(), Go: runtime.Version(), LoadStart: loadavg()}
	if b, err := os.ReadFile("/proc/cpuinfo"); err == nil {
		sc := bufio.NewScanner(bytes.NewReader(b))
		for sc.Scan() {
			if k, v, ok := strings.Cut(sc.Text(), ":"); ok && strings.TrimSpace(k) == "model name" {
				m.CPU = strings.TrimSpace(v)
				break
			}
		}
	}
	if b, err := os.ReadFile("/proc/meminfo"); err == nil {
		if f := strings.Fields(strings.SplitN(string(b), "\n", 2)[0]); len(f) >= 2 {
			kb, _ := strconv.Atoi(f[1])
			m.MemoryMB = kb / 1024
		}
	}
	if b, err := os.ReadFile("/proc/sys/kernel/osrelease"); err == nil {
		m.Kernel = strings.TrimSpace(string(b))
	}
	return m
}

func loadavg() [3]float64 {
	var l [3]float64
	if b, err := os.ReadFile("/proc/loadavg"); err == nil {
		f := strings.Fields(string(b))
		for i := 0; i < 3 && i < len(f); i++ {
			l[i], _ = strconv.ParseFloat(f[i], 64)
		}
	}
	return l
}
