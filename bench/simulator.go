package bench

import (
	"context"
	"encoding/json"
	"fmt"
	"net/http"
	"regexp"
	"strconv"
	"time"
)

// simulator is a running smm-simulator in scale mode.
type simulator struct {
	proc    *process
	control string // base URL of the control API
	series  int
	targets []TargetGroup
}

// controlAddrRE finds the control API's address in the banner ("control  ADDR  /jobs …")
// or in the start log line (control=ADDR).
var controlAddrRE = regexp.MustCompile(`(?m)(?:^control\s+|\bcontrol=)(127\.0\.0\.1:[0-9]+)`)

// seriesPerTarget sizes the scale targets: 10k series per target, as a big exporter.
const seriesPerTarget = 10000

// startSimulator runs the simulator on free ports with series synthetic series.
func startSimulator(ctx context.Context, binary, log string, series int) (*simulator, error) {
	targets := max(1, (series+seriesPerTarget-1)/seriesPerTarget)
	args := []string{"--listen.base-port", "0", "--control.listen-address", "127.0.0.1:0", "--seed", "1"}
	if series > 0 {
		args = append(args, "--series", strconv.Itoa(series), "--series.targets", strconv.Itoa(targets))
	}
	s := &simulator{proc: newProcess("smm-simulator", binary, log, args...), series: series}
	if err := s.proc.start(); err != nil {
		return nil, err
	}
	deadline := time.Now().Add(time.Minute)
	for {
		if m := controlAddrRE.FindStringSubmatch(s.proc.logTail()); m != nil {
			s.control = "http://" + m[1]
			if code, _, err := httpGet(ctx, s.control+"/-/healthy"); err == nil && code == http.StatusOK {
				break
			}
		}
		if !s.proc.running() || time.Now().After(deadline) {
			s.proc.stop(5 * time.Second)
			return nil, fmt.Errorf("simulator not up:\n%s", s.proc.logTail())
		}
		time.Sleep(50 * time.Millisecond)
	}
	code, body, err := httpGet(ctx, s.control+"/targets")
	if err != nil || code != http.StatusOK {
		s.stop()
		return nil, fmt.Errorf("simulator /targets: %d %v", code, err)
	}
	if err := json.Unmarshal(body, &s.targets); err != nil {
		s.stop()
		return nil, fmt.Errorf("simulator /targets: %w", err)
	}
	return s, nil
}

func (s *simulator) stop() { s.proc.stop(10 * time.Second) }
