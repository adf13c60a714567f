// Package routes answers which receivers an alert reaches through an
// Alertmanager route tree, and prints the tree. Matching is Alertmanager's own
// (dispatch.Route), so the answer is what the running appliance does.
package routes

import (
	"fmt"
	"slices"
	"strconv"
	"strings"
	"unicode/utf8"

	"github.com/prometheus/alertmanager/config"
	"github.com/prometheus/alertmanager/dispatch"
	"github.com/prometheus/common/model"
)

// Tree is a route tree of alertmanager.yml, ready for matching.
type Tree struct {
	cfg  *config.Route
	root *dispatch.Route
}

// New builds the tree of the top-level route of a loaded configuration.
func New(route *config.Route) *Tree {
	return &Tree{cfg: route, root: dispatch.NewRoute(route, nil)}
}

// Destination is a route an alert ends on: its receiver and the time
// intervals that gate the route's notifications.
type Destination struct {
	Receiver string
	// ActiveTimeIntervals, when set, restrict notifications to those times.
	ActiveTimeIntervals []string
	// MuteTimeIntervals suppress notifications during those times.
	MuteTimeIntervals []string
}

// Match returns the routes an alert with labels ls ends on, in tree order
// (depth first, as Alertmanager dispatches). A receiver reached by two routes
// appears twice: the alert is notified twice.
func (t *Tree) Match(ls model.LabelSet) []Destination {
	var out []Destination
	for _, r := range t.root.Match(ls) {
		out = append(out, Destination{
			Receiver:            r.RouteOpts.Receiver,
			ActiveTimeIntervals: r.RouteOpts.ActiveTimeIntervals,
			MuteTimeIntervals:   r.RouteOpts.MuteTimeIntervals,
		})
	}
	return out
}

// Receivers returns the receiver names of ds, in order.
func Receivers(ds []Destination) []string {
	out := make([]string, len(ds))
	for i, d := range ds {
		out[i] = d.Receiver
	}
	return out
}

// ParseLabels parses name=value arguments (the value optionally in double
// quotes) into a label set. Matchers such as name=~regex are rejected: an
// alert has values, not patterns.
func ParseLabels(args []string) (model.LabelSet, error) {
	ls := model.LabelSet{}
	for _, arg := range args {
		name, value, ok := strings.Cut(arg, "=")
		switch {
		case !ok:
			return nil, fmt.Errorf("label %q: want name=value", arg)
		case strings.HasSuffix(name, "!"), strings.HasPrefix(value, "~"):
			return nil, fmt.Errorf("label %q: labels must be name=value, not matchers", arg)
		}
		name = strings.TrimSpace(name)
		if name == "" || !utf8.ValidString(name) {
			return nil, fmt.Errorf("label %q: invalid label name", arg)
		}
		if len(value) >= 2 && value[0] == '"' && value[len(value)-1] == '"' {
			v, err := strconv.Unquote(value)
			if err != nil {
				return nil, fmt.Errorf("label %q: %w", arg, err)
			}
			value = v
		}
		if _, dup := ls[model.LabelName(name)]; dup {
			return nil, fmt.Errorf("label %q given twice", name)
		}
		ls[model.LabelName(name)] = model.LabelValue(value)
	}
	return ls, nil
}

// Verify compares resolved receivers with an expected comma-separated list.
// Order does not matter, repetitions do: "a,b" matches [b a] but not [a b b].
func Verify(got []string, want string) error {
	var exp []string
	for r := range strings.SplitSeq(want, ",") {
		if r = strings.TrimSpace(r); r != "" {
			exp = append(exp, r)
		}
	}
	g := slices.Sorted(slices.Values(got))
	slices.Sort(exp)
	if !slices.Equal(g, exp) {
		return fmt.Errorf("expected receivers %s, resolved %s", strings.Join(exp, ","), strings.Join(got, ","))
	}
	return nil
}
