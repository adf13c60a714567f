// Package ruler evaluates recording and alerting rules with Prometheus' rule
// manager over local storage and hands the alerts to the embedded
// Alertmanager through a Forwarder.
package ruler

import (
	"context"
	"fmt"
	"log/slog"
	"net/url"
	"slices"
	"sync/atomic"
	"time"

	"github.com/prometheus/client_golang/prometheus"
	"github.com/prometheus/common/model"
	promconfig "github.com/prometheus/prometheus/config"
	"github.com/prometheus/prometheus/model/rulefmt"
	"github.com/prometheus/prometheus/promql"
	"github.com/prometheus/prometheus/promql/parser"
	"github.com/prometheus/prometheus/rules"
	"github.com/prometheus/prometheus/storage"
)

// Options configure a Ruler.
type Options struct {
	Engine *promql.Engine
	// Queryable is local storage; Appendable is where recording rules and
	// ALERTS go (local plus remote write).
	Queryable   storage.Queryable
	Appendable  storage.AppendableV2
	Forwarder   *Forwarder
	ExternalURL *url.URL
	// ResendDelay is how often a still-firing alert is re-sent to the
	// Alertmanager; alert stores expire alerts not refreshed within
	// 4 × eval interval, as in Prometheus.
	ResendDelay time.Duration
}

// Ruler wraps the rule manager.
type Ruler struct {
	manager     *rules.Manager
	externalURL string
	loader      *groupLoader
}

// groupLoader is the rule manager's file loader minus the groups switched
// off (configfiles.Set.DisabledGroups) and groups with no rules, which only
// switch others off.
type groupLoader struct {
	parser   parser.Parser
	logger   *slog.Logger
	disabled atomic.Pointer[[]string]
}

var _ rules.GroupLoader = (*groupLoader)(nil)

func (g *groupLoader) Load(identifier string, ignoreUnknownFields bool, scheme model.ValidationScheme) (*rulefmt.RuleGroups, []error) {
	rgs, errs := rulefmt.ParseFile(identifier, ignoreUnknownFields, scheme, g.parser, g.logger)
	if rgs == nil || len(errs) > 0 {
		return rgs, errs
	}
	var off []string
	if d := g.disabled.Load(); d != nil {
		off = *d
	}
	rgs.Groups = slices.DeleteFunc(rgs.Groups, func(rg rulefmt.RuleGroup) bool {
		return len(rg.Rules) == 0 || slices.Contains(off, rg.Name)
	})
	return rgs, nil
}

func (g *groupLoader) Parse(query string) (parser.Expr, error) { return g.parser.ParseExpr(query) }

// New builds the rule manager. Run it with Run after the first ApplyConfig.
func New(o Options, logger *slog.Logger, reg prometheus.Registerer) *Ruler {
	if o.ResendDelay == 0 {
		o.ResendDelay = time.Minute
	}
	gl := &groupLoader{parser: parser.NewParser(parser.Options{}), logger: logger.With("component", "rules")}
	m := rules.NewManager(&rules.ManagerOptions{
		GroupLoader:  gl,
		Parser:       gl.parser,
		ExternalURL:  o.ExternalURL,
		QueryFunc:    rules.EngineQueryFunc(o.Engine, o.Queryable),
		NotifyFunc:   rules.SendAlerts(o.Forwarder, o.ExternalURL.String()),
		Context:      context.Background(),
		AppendableV2: o.Appendable,
		Queryable:    o.Queryable,
		Logger:       logger.With("component", "rules"),
		Registerer:   reg,
		// Restore `for` state from ALERTS_FOR_STATE after a restart for up to
		// an hour of downtime, as Prometheus does by default.
		OutageTolerance: time.Hour,
		ForGracePeriod:  10 * time.Minute,
		ResendDelay:     o.ResendDelay,
	})
	return &Ruler{manager: m, externalURL: o.ExternalURL.String(), loader: gl}
}

// Manager exposes the rule manager to the rules and alerts APIs.
func (r *Ruler) Manager() *rules.Manager { return r.manager }

// ApplyConfig loads the rule files of cfg, leaving out the groups named in
// disabled. Files were validated by the loader already, so an error here
// means a file changed in between.
func (r *Ruler) ApplyConfig(cfg *promconfig.Config, files, disabled []string) error {
	r.loader.disabled.Store(&disabled)
	if err := r.manager.Update(time.Duration(cfg.GlobalConfig.EvaluationInterval), files, cfg.GlobalConfig.ExternalLabels, r.externalURL, nil); err != nil {
		return fmt.Errorf("load rule files: %w", err)
	}
	return nil
}

// Run evaluates rules until Stop.
func (r *Ruler) Run() { r.manager.Run() }

// Stop stops evaluation and waits for running evaluations.
func (r *Ruler) Stop() { r.manager.Stop() }
