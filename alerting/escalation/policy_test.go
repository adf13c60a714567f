package escalation

import (
	"testing"
	"time"

	"github.com/prometheus/common/model"
	"github.com/stretchr/testify/require"
	"go.yaml.in/yaml/v2"
)

func TestPolicyParse(t *testing.T) {
	cases := []struct {
		name, in string
		wantErr  string
	}{
		{name: "default interval", in: "steps:\n- after: 30m\n  matchers: ['severity=\"critical\"']\n  receiver: em\n"},
		{name: "missing receiver", in: "steps:\n- after: 30m\n", wantErr: "receiver is required"},
		{name: "zero delay", in: "steps:\n- after: 0s\n  receiver: em\n", wantErr: "after must be positive"},
		{name: "steps out of order", in: "steps:\n- after: 30m\n  receiver: a\n- after: 10m\n  receiver: b\n", wantErr: "must be later"},
		{name: "bad matcher", in: "steps:\n- after: 30m\n  receiver: a\n  matchers: ['severity=~\"(\"']\n", wantErr: "error"},
		{name: "unknown field", in: "steps:\n- after: 30m\n  receiver: a\n  afterr: 1m\n", wantErr: "afterr"},
	}
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			var p Policy
			err := yaml.UnmarshalStrict([]byte(c.in), &p)
			if c.wantErr != "" {
				require.ErrorContains(t, err, c.wantErr)
				return
			}
			require.NoError(t, err)
			require.Equal(t, DefaultCheckInterval, time.Duration(p.CheckInterval))
			require.True(t, p.Steps[0].Matches(model.LabelSet{"severity": "critical"}))
			require.False(t, p.Steps[0].Matches(model.LabelSet{"severity": "warning"}))
		})
	}
}
