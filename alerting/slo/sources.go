package slo

import (
	"context"
	"fmt"
	"os"
	"strings"
	"time"

	amconfig "github.com/prometheus/alertmanager/config"
	"github.com/prometheus/alertmanager/silence"
	"github.com/prometheus/alertmanager/silence/silencepb"
	commoncfg "github.com/prometheus/common/config"
	"github.com/prometheus/prometheus/model/labels"
	"github.com/prometheus/prometheus/promql"
	"github.com/prometheus/prometheus/rules"
	"github.com/prometheus/prometheus/storage"

	"github.com/smm-architect/smm-appliance/alerting/history"
)

// EngineQuery evaluates queries with the appliance's PromQL engine against
// its local storage, in process.
func EngineQuery(engine promql.QueryEngine, q storage.Queryable) QueryFunc {
	return func(ctx context.Context, expr string, t time.Time) ([]Sample, error) {
		qry, err := engine.NewInstantQuery(ctx, q, nil, expr, t)
		if err != nil {
			return nil, fmt.Errorf("query %s: %w", expr, err)
		}
		defer qry.Close()
		res := qry.Exec(ctx)
		if res.Err != nil {
			return nil, fmt.Errorf("query %s: %w", expr, res.Err)
		}
		switch v := res.Value.(type) {
		case promql.Vector:
			out := make([]Sample, 0, len(v))
			for _, s := range v {
				out = append(out, Sample{Labels: s.Metric.Map(), Value: s.F})
			}
			return out, nil
		case promql.Scalar:
			return []Sample{{Value: v.V}}, nil
		}
		return nil, fmt.Errorf("query %s: unexpected result type %s", expr, res.Value.Type())
	}
}

// HistorySource reads every entry of a window from the history.
func HistorySource(h *history.Store) func(since, until time.Time) ([]history.Entry, error) {
	return func(since, until time.Time) ([]history.Entry, error) {
		return h.Query(history.Filter{Since: since, Until: until, Limit: 1 << 30})
	}
}

// RuleTeams maps each alerting rule's name to its team label.
func RuleTeams(m func() *rules.Manager) func() map[string]string {
	return func() map[string]string {
		out := map[string]string{}
		for _, r := range m().AlertingRules() {
			if t := r.Labels().Get("team"); t != "" {
				out[r.Name()] = t
			}
		}
		return out
	}
}

// RuleNames lists the alerting rules' names.
func RuleNames(m func() *rules.Manager) func() []string {
	return func() []string {
		var out []string
		for _, r := range m().AlertingRules() {
			out = append(out, r.Name())
		}
		return out
	}
}

// SilenceSource lists the silences the Alertmanager holds (expired ones
// until its retention drops them).
func SilenceSource(s func() *silence.Silences) func() []Silence {
	return func() []Silence {
		sils := s()
		if sils == nil {
			return nil
		}
		list, _, err := sils.Query(context.Background())
		if err != nil {
			return nil
		}
		out := make([]Silence, 0, len(list))
		for _, p := range list {
			out = append(out, Silence{
				ID: p.GetId(), CreatedBy: p.GetCreatedBy(), Comment: p.GetComment(), Matchers: matchersString(p.GetMatchers()),
				StartsAt: p.GetStartsAt().AsTime(), EndsAt: p.GetEndsAt().AsTime(), UpdatedAt: p.GetUpdatedAt().AsTime(),
			})
		}
		return out
	}
}

func matchersString(ms []*silencepb.Matcher) string {
	parts := make([]string, 0, len(ms))
	for _, m := range ms {
		op := map[silencepb.Matcher_Type]labels.MatchType{
			silencepb.Matcher_EQUAL: labels.MatchEqual, silencepb.Matcher_REGEXP: labels.MatchRegexp,
			silencepb.Matcher_NOT_EQUAL: labels.MatchNotEqual, silencepb.Matcher_NOT_REGEXP: labels.MatchNotRegexp,
		}[m.GetType()]
		parts = append(parts, fmt.Sprintf("%s%s%q", m.GetName(), op, m.GetPattern()))
	}
	return "{" + strings.Join(parts, ", ") + "}"
}

// SMTPFromAlertmanager takes the relay from alertmanager.yml's global
// smtp_* settings, which the email receivers use too.
func SMTPFromAlertmanager(c *amconfig.Config) (SMTP, error) {
	if c == nil || c.Global == nil || c.Global.SMTPSmarthost.Host == "" {
		return SMTP{}, nil
	}
	g := c.Global
	s := SMTP{
		Smarthost: g.SMTPSmarthost.String(), From: g.SMTPFrom, Hello: g.SMTPHello,
		AuthUsername: g.SMTPAuthUsername, AuthPassword: string(g.SMTPAuthPassword), AuthIdentity: g.SMTPAuthIdentity,
		RequireTLS: g.SMTPRequireTLS,
	}
	if g.SMTPAuthPasswordFile != "" {
		b, err := os.ReadFile(g.SMTPAuthPasswordFile)
		if err != nil {
			return SMTP{}, fmt.Errorf("read smtp_auth_password_file: %w", err)
		}
		s.AuthPassword = strings.TrimSpace(string(b))
	}
	if g.SMTPTLSConfig != nil {
		tc, err := commoncfg.NewTLSConfig(g.SMTPTLSConfig)
		if err != nil {
			return SMTP{}, fmt.Errorf("smtp_tls_config: %w", err)
		}
		s.TLS = tc
	}
	return s, nil
}
