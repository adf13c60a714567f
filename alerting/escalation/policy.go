// Package escalation escalates alerts that stay firing and unacknowledged
// along a chain of steps (the SMM runbooks: engineering manager after 30
// minutes; a team may add its own chain, say secondary on-call after 10
// minutes, then the manager). It sends nothing itself: each step is a
// labelled copy of the alert in the Alertmanager's store, which routes and
// delivers it.
package escalation

import (
	"fmt"
	"regexp"
	"sort"
	"strings"
	"time"

	amcommoncfg "github.com/prometheus/alertmanager/config/common"
	"github.com/prometheus/alertmanager/matcher/compat"
	"github.com/prometheus/alertmanager/pkg/labels"
	"github.com/prometheus/common/model"
)

// Policy is the `escalation` section of appliance.yml.
type Policy struct {
	// CheckInterval is how often alerts are examined.
	CheckInterval model.Duration
	// Chains in order: an alert follows the first chain whose matchers
	// all match its labels, and no other.
	Chains []Chain
	// flat: read from the flat `steps:` format (errors name its fields).
	flat bool
}

// Chain is one escalation chain: the steps an alert its matchers select
// goes through, in order of After.
type Chain struct {
	Name     string               `yaml:"name"`
	Matchers amcommoncfg.Matchers `yaml:"matchers,omitempty"`
	Steps    []Step               `yaml:"steps"`
}

// Step escalates an alert of its chain that is firing After its first
// notification and not acknowledged to Receiver, once.
type Step struct {
	After    model.Duration `yaml:"after"`
	Receiver string         `yaml:"receiver"`
	// Matchers narrow a step of the flat format (`escalation.steps`, read
	// as one chain), where each step had its own; a chain's steps have
	// none: the chain's matchers select the alerts.
	Matchers amcommoncfg.Matchers `yaml:"-"`
}

// DefaultCheckInterval applies when check_interval is not set.
const DefaultCheckInterval = 15 * time.Second

// LegacyChain is the name of the one chain the flat `steps:` format is
// read as.
const LegacyChain = "default"

// chainName keeps names usable in a route's matcher without quoting
// trouble (escalation_chain="critical-database").
var chainName = regexp.MustCompile(`^[A-Za-z0-9_.-]{1,64}$`)

// FieldError is a configuration error at a place in the escalation
// section; Locate turns the place into a line of the file.
type FieldError struct {
	// Path from the section: "chains", 1, "steps", 0, "after".
	Path []any
	Msg  string
}

func (e *FieldError) Error() string {
	var b strings.Builder
	b.WriteString("escalation")
	for _, p := range e.Path {
		switch p := p.(type) {
		case int:
			fmt.Fprintf(&b, "[%d]", p)
		default:
			fmt.Fprintf(&b, ".%v", p)
		}
	}
	return b.String() + ": " + e.Msg
}

func fieldErr(msg string, path ...any) error { return &FieldError{Path: path, Msg: msg} }

type legacyStep struct {
	After    model.Duration `yaml:"after"`
	Matchers []string       `yaml:"matchers"`
	Receiver string         `yaml:"receiver"`
}

type rawChain struct {
	Name     string   `yaml:"name"`
	Matchers []string `yaml:"matchers"`
	Steps    []Step   `yaml:"steps"`
}

type rawPolicy struct {
	CheckInterval model.Duration `yaml:"check_interval,omitempty"`
	Chains        []rawChain     `yaml:"chains"`
	Steps         []legacyStep   `yaml:"steps"`
}

// parseMatchers parses matchers as alertmanager.yml's do; read here, not
// by amcommoncfg.Matchers, so that an error names its place.
func parseMatchers(lines []string, path ...any) (amcommoncfg.Matchers, error) {
	var out amcommoncfg.Matchers
	for i, line := range lines {
		ms, err := compat.Matchers(line, "config")
		if err != nil {
			return nil, fieldErr(fmt.Sprintf("matcher %q: %v", line, err), append(path, i)...)
		}
		out = append(out, ms...)
	}
	sort.Sort(labels.Matchers(out))
	return out, nil
}

// UnmarshalYAML sets defaults and validates. The flat format of earlier
// versions (`steps:`, each with its own matchers) is read as one chain
// named "default" without matchers, so site files written for it keep
// their meaning.
func (p *Policy) UnmarshalYAML(unmarshal func(any) error) error {
	raw := rawPolicy{CheckInterval: model.Duration(DefaultCheckInterval)}
	if err := unmarshal(&raw); err != nil {
		return err
	}
	*p = Policy{CheckInterval: raw.CheckInterval}
	if p.CheckInterval <= 0 {
		return fieldErr("must be positive", "check_interval")
	}
	switch {
	case len(raw.Steps) > 0 && len(raw.Chains) > 0:
		return fieldErr("use chains or the flat steps list, not both", "steps")
	case len(raw.Steps) > 0:
		c := Chain{Name: LegacyChain}
		for i, s := range raw.Steps {
			ms, err := parseMatchers(s.Matchers, "steps", i, "matchers")
			if err != nil {
				return err
			}
			c.Steps = append(c.Steps, Step{After: s.After, Receiver: s.Receiver, Matchers: ms})
		}
		p.Chains, p.flat = []Chain{c}, true
		return validateSteps(c.Steps, "steps")
	}
	for i, rc := range raw.Chains {
		ms, err := parseMatchers(rc.Matchers, "chains", i, "matchers")
		if err != nil {
			return err
		}
		p.Chains = append(p.Chains, Chain{Name: rc.Name, Matchers: ms, Steps: rc.Steps})
	}
	names := map[string]int{}
	for i, c := range p.Chains {
		if !chainName.MatchString(c.Name) {
			return fieldErr(fmt.Sprintf("name %q must be 1 to 64 letters, digits, '_', '.' or '-'", c.Name), "chains", i, "name")
		}
		if j, dup := names[c.Name]; dup {
			return fieldErr(fmt.Sprintf("name %q is also the name of chains[%d]", c.Name, j), "chains", i, "name")
		}
		names[c.Name] = i
		if len(c.Steps) == 0 {
			return fieldErr(fmt.Sprintf("chain %q has no steps", c.Name), "chains", i)
		}
		if err := validateSteps(c.Steps, "chains", i, "steps"); err != nil {
			return err
		}
		// First match wins: a chain after one without matchers is never
		// chosen, which is a mistake, not a preference.
		if i > 0 && len(p.Chains[i-1].Matchers) == 0 {
			return fieldErr(fmt.Sprintf("chain %q is never chosen: chain %q before it has no matchers and takes every alert", c.Name, p.Chains[i-1].Name), "chains", i)
		}
	}
	return nil
}

func validateSteps(steps []Step, path ...any) error {
	at := func(i int, field string) []any { return append(append(append([]any{}, path...), i), field) }
	for i, s := range steps {
		if s.Receiver == "" {
			return &FieldError{Path: at(i, "receiver")[:len(path)+1], Msg: "receiver is required"}
		}
		if s.After <= 0 {
			return &FieldError{Path: at(i, "after"), Msg: "after must be positive"}
		}
		if i > 0 && s.After <= steps[i-1].After {
			return &FieldError{Path: at(i, "after"), Msg: fmt.Sprintf("after (%s) must be later than the previous step's (%s)", s.After, steps[i-1].After)}
		}
	}
	return nil
}

// ChainFor returns the chain an alert with labels ls follows: the first
// whose matchers all match, or nil.
func (p *Policy) ChainFor(ls model.LabelSet) *Chain {
	for i := range p.Chains {
		if matches(p.Chains[i].Matchers, ls) {
			return &p.Chains[i]
		}
	}
	return nil
}

// Matches reports whether step s applies to labels (always, but for a
// step of the flat format with matchers).
func (s Step) Matches(ls model.LabelSet) bool { return matches(s.Matchers, ls) }

func matches(ms amcommoncfg.Matchers, ls model.LabelSet) bool {
	for _, m := range ms {
		if !m.Matches(string(ls[model.LabelName(m.Name)])) {
			return false
		}
	}
	return true
}

// CheckReceivers returns an error naming the first step whose receiver
// has(name) does not know.
func (p *Policy) CheckReceivers(has func(string) bool) error {
	for i, c := range p.Chains {
		for j, s := range c.Steps {
			if has(s.Receiver) {
				continue
			}
			if p.flat {
				return fieldErr(fmt.Sprintf("receiver %q is not defined in alertmanager.yml", s.Receiver), "steps", j, "receiver")
			}
			return fieldErr(fmt.Sprintf("chain %q: receiver %q is not defined in alertmanager.yml", c.Name, s.Receiver), "chains", i, "steps", j, "receiver")
		}
	}
	return nil
}

// Dropped is a step DropUnknownReceivers left out.
type Dropped struct {
	Chain    string
	Step     int
	Receiver string
}

// DropUnknownReceivers leaves out the steps whose receiver has does not
// know, and chains left without steps; for the embedded default, whose
// receiver an operator's own alertmanager.yml may not have.
func (p *Policy) DropUnknownReceivers(has func(string) bool) []Dropped {
	var out []Dropped
	chains := p.Chains[:0:0]
	for _, c := range p.Chains {
		var steps []Step
		for j, s := range c.Steps {
			if has(s.Receiver) {
				steps = append(steps, s)
				continue
			}
			out = append(out, Dropped{Chain: c.Name, Step: j + 1, Receiver: s.Receiver})
		}
		if len(steps) > 0 {
			c.Steps = steps
			chains = append(chains, c)
		}
	}
	p.Chains = chains
	return out
}
