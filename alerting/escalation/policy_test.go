package escalation

import (
	"flag"
	"os"
	"path/filepath"
	"slices"
	"strings"
	"testing"
	"time"

	"github.com/prometheus/common/model"
	"github.com/stretchr/testify/require"
	"go.yaml.in/yaml/v2"
)

var update = flag.Bool("update", false, "rewrite testdata/*.bad.yml.err from what the parser says")

// receivers are the receivers the test files may name.
var receivers = []string{"escalation", "database-secondary", "engineering-manager", "manager"}

// load parses an appliance.yml the way the appliance does: strictly, then
// checks the receivers, and names the line of an error.
func load(text string) (*Policy, error) {
	var cfg struct {
		Escalation Policy `yaml:"escalation"`
	}
	if err := yaml.UnmarshalStrict([]byte(text), &cfg); err != nil {
		return nil, Locate(err, text)
	}
	if err := cfg.Escalation.CheckReceivers(func(r string) bool { return slices.Contains(receivers, r) }); err != nil {
		return nil, Locate(err, text)
	}
	return &cfg.Escalation, nil
}

// TestPolicyBad: each testdata/*.bad.yml is refused with the error in its
// .err file (go test ./alerting/escalation -run PolicyBad -update).
func TestPolicyBad(t *testing.T) {
	files, err := filepath.Glob("testdata/*.bad.yml")
	require.NoError(t, err)
	require.NotEmpty(t, files)
	for _, f := range files {
		t.Run(filepath.Base(f), func(t *testing.T) {
			b, err := os.ReadFile(f)
			require.NoError(t, err)
			_, err = load(string(b))
			require.Error(t, err)
			if *update {
				require.NoError(t, os.WriteFile(f+".err", []byte(err.Error()+"\n"), 0o644))
				return
			}
			want, rerr := os.ReadFile(f + ".err")
			require.NoError(t, rerr)
			require.Equal(t, strings.TrimSpace(string(want)), err.Error())
			require.Regexp(t, `line \d+`, err.Error(), "an operator is told where")
		})
	}
}

func TestPolicyGood(t *testing.T) {
	read := func(name string) *Policy {
		b, err := os.ReadFile(filepath.Join("testdata", name))
		require.NoError(t, err)
		p, err := load(string(b))
		require.NoError(t, err)
		return p
	}
	t.Run("chains", func(t *testing.T) {
		p := read("chains.good.yml")
		require.Equal(t, 10*time.Second, time.Duration(p.CheckInterval))
		require.Len(t, p.Chains, 2)
		for _, c := range []struct {
			ls    model.LabelSet
			chain string
		}{
			{model.LabelSet{"severity": "critical", "team": "database"}, "critical-database"},
			{model.LabelSet{"severity": "critical", "team": "ml"}, "critical"},
			{model.LabelSet{"severity": "warning", "team": "database"}, ""},
		} {
			got := ""
			if ch := p.ChainFor(c.ls); ch != nil {
				got = ch.Name
			}
			require.Equal(t, c.chain, got, "chain for %s: the first that matches", c.ls)
		}
		db := p.ChainFor(model.LabelSet{"severity": "critical", "team": "database"})
		require.Equal(t, []Step{
			{After: model.Duration(10 * time.Minute), Receiver: "database-secondary"},
			{After: model.Duration(30 * time.Minute), Receiver: "engineering-manager"},
		}, db.Steps)
	})
	t.Run("flat format is one chain", func(t *testing.T) {
		p := read("flat.good.yml")
		require.Equal(t, DefaultCheckInterval, time.Duration(p.CheckInterval))
		require.Len(t, p.Chains, 1)
		require.Equal(t, LegacyChain, p.Chains[0].Name)
		ch := p.ChainFor(model.LabelSet{"severity": "warning"})
		require.NotNil(t, ch, "the chain has no matchers: its steps do")
		require.True(t, ch.Steps[0].Matches(model.LabelSet{"severity": "critical"}))
		require.False(t, ch.Steps[0].Matches(model.LabelSet{"severity": "warning"}))
	})
	t.Run("empty", func(t *testing.T) {
		p := read("empty.good.yml")
		require.Empty(t, p.Chains)
		require.Equal(t, DefaultCheckInterval, time.Duration(p.CheckInterval))
	})
}

// TestDropUnknownReceivers: the embedded default loses the steps an
// operator's alertmanager.yml has no receiver for, and chains left empty.
func TestDropUnknownReceivers(t *testing.T) {
	b, err := os.ReadFile("testdata/chains.good.yml")
	require.NoError(t, err)
	var cfg struct {
		Escalation Policy `yaml:"escalation"`
	}
	require.NoError(t, yaml.UnmarshalStrict(b, &cfg))
	p := cfg.Escalation
	dropped := p.DropUnknownReceivers(func(r string) bool { return r == "engineering-manager" })
	require.Equal(t, []Dropped{{Chain: "critical-database", Step: 1, Receiver: "database-secondary"}, {Chain: "critical", Step: 1, Receiver: "escalation"}}, dropped)
	require.Len(t, p.Chains, 1)
	require.Equal(t, []Step{{After: model.Duration(30 * time.Minute), Receiver: "engineering-manager"}}, p.Chains[0].Steps)
}
