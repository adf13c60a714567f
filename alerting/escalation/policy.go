// Package escalation escalates critical alerts that stay firing and
// unacknowledged after a delay (the SMM runbooks: engineering manager after
// 30 minutes), with optional further steps. It sends nothing itself: each
// step is a labelled copy of the alert in the Alertmanager's store, which
// routes and delivers it.
package escalation

import (
	"errors"
	"fmt"
	"time"

	amcommoncfg "github.com/prometheus/alertmanager/config/common"
	"github.com/prometheus/common/model"
)

// Policy is the `escalation` section of appliance.yml.
type Policy struct {
	// CheckInterval is how often alerts are examined.
	CheckInterval model.Duration `yaml:"check_interval,omitempty"`
	Steps         []Step         `yaml:"steps"`
}

// Step escalates alerts matching Matchers, firing for After since their
// first notification and not acknowledged, to Receiver.
type Step struct {
	After    model.Duration       `yaml:"after"`
	Matchers amcommoncfg.Matchers `yaml:"matchers"`
	Receiver string               `yaml:"receiver"`
}

// DefaultCheckInterval applies when check_interval is not set.
const DefaultCheckInterval = 15 * time.Second

// UnmarshalYAML sets defaults and validates.
func (p *Policy) UnmarshalYAML(unmarshal func(any) error) error {
	type plain Policy
	*p = Policy{CheckInterval: model.Duration(DefaultCheckInterval)}
	if err := unmarshal((*plain)(p)); err != nil {
		return err
	}
	if p.CheckInterval <= 0 {
		return errors.New("escalation.check_interval must be positive")
	}
	for i, s := range p.Steps {
		if s.Receiver == "" {
			return fmt.Errorf("escalation.steps[%d]: receiver is required", i)
		}
		if s.After <= 0 {
			return fmt.Errorf("escalation.steps[%d]: after must be positive", i)
		}
		if i > 0 && s.After <= p.Steps[i-1].After {
			return fmt.Errorf("escalation.steps[%d]: after (%s) must be later than the previous step (%s)", i, s.After, p.Steps[i-1].After)
		}
	}
	return nil
}

// Matches reports whether step s applies to labels.
func (s Step) Matches(ls model.LabelSet) bool {
	for _, m := range s.Matchers {
		if !m.Matches(string(ls[model.LabelName(m.Name)])) {
			return false
		}
	}
	return true
}
