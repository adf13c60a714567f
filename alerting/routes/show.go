package routes

import (
	"fmt"
	"io"
	"strings"

	"github.com/prometheus/alertmanager/config"
	"github.com/prometheus/alertmanager/dispatch"
)

// Write prints the tree, one route per line, children indented below their
// parent:
//
//	default-route  receiver: r  group_by: [alertname]  group_wait: 10s
//	├── {severity="critical"}  receiver: pager
//	│   └── {}  continue: true  receiver: pager
//	└── ...
//
// Each line shows the route's matchers ("{}": every alert), continue when set,
// the receiver it sends to (inherited when the route names none), and the
// settings the route itself configures: group_by, timings and time intervals.
func (t *Tree) Write(w io.Writer) error {
	var b strings.Builder
	b.WriteString(describe(t.cfg, t.root, true))
	b.WriteByte('\n')
	writeChildren(&b, t.cfg, t.root, "")
	_, err := io.WriteString(w, b.String())
	return err
}

func writeChildren(b *strings.Builder, cfg *config.Route, r *dispatch.Route, indent string) {
	for i, child := range r.Routes {
		branch, next := "├── ", "│   "
		if i == len(r.Routes)-1 {
			branch, next = "└── ", "    "
		}
		b.WriteString(indent + branch + describe(cfg.Routes[i], child, false) + "\n")
		writeChildren(b, cfg.Routes[i], child, indent+next)
	}
}

// describe is one route's line. cfg says what the route sets itself, r what
// is in effect (inherited from the parents).
func describe(cfg *config.Route, r *dispatch.Route, root bool) string {
	var parts []string
	switch {
	case root && len(r.Matchers) == 0:
		parts = append(parts, "default-route")
	default:
		parts = append(parts, r.Matchers.String())
	}
	if r.Continue {
		parts = append(parts, "continue: true")
	}
	parts = append(parts, "receiver: "+r.RouteOpts.Receiver)
	switch {
	case cfg.GroupByAll:
		parts = append(parts, "group_by: [...]")
	case cfg.GroupBy != nil:
		names := make([]string, len(cfg.GroupBy))
		for i, n := range cfg.GroupBy {
			names[i] = string(n)
		}
		parts = append(parts, "group_by: ["+strings.Join(names, ", ")+"]")
	}
	if cfg.GroupWait != nil {
		parts = append(parts, "group_wait: "+cfg.GroupWait.String())
	}
	if cfg.GroupInterval != nil {
		parts = append(parts, "group_interval: "+cfg.GroupInterval.String())
	}
	if cfg.RepeatInterval != nil {
		parts = append(parts, "repeat_interval: "+cfg.RepeatInterval.String())
	}
	if len(cfg.ActiveTimeIntervals) > 0 {
		parts = append(parts, fmt.Sprintf("active_time_intervals: [%s]", strings.Join(cfg.ActiveTimeIntervals, ", ")))
	}
	if len(cfg.MuteTimeIntervals) > 0 {
		parts = append(parts, fmt.Sprintf("mute_time_intervals: [%s]", strings.Join(cfg.MuteTimeIntervals, ", ")))
	}
	return strings.Join(parts, "  ")
}
