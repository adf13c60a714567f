// Package appliance wires the parts of the SMM monitoring appliance into one
// process: local storage, scraping, rule evaluation, the embedded Alertmanager
// and the web APIs, each an actor of one oklog/run group, all configured
// through one reload path.
package appliance

import (
	"context"
	"errors"
	"fmt"
	"log/slog"
	"net"
	"net/url"
	"os"
	"path/filepath"
	"strconv"
	"strings"
	"sync"
	"time"

	"github.com/oklog/run"
	"github.com/prometheus/alertmanager/cluster"
	"github.com/prometheus/alertmanager/template"
	"github.com/prometheus/client_golang/prometheus"
	"github.com/prometheus/client_golang/prometheus/collectors"
	versioncollector "github.com/prometheus/client_golang/prometheus/collectors/version"
	"github.com/prometheus/common/model"
	promconfig "github.com/prometheus/prometheus/config"
	"github.com/prometheus/prometheus/discovery"
	"github.com/prometheus/prometheus/model/labels"
	"github.com/prometheus/prometheus/promql"
	promscrape "github.com/prometheus/prometheus/scrape"
	promstorage "github.com/prometheus/prometheus/storage"
	"github.com/prometheus/prometheus/storage/remote"

	"github.com/smm-architect/smm-appliance/alerting/acklink"
	"github.com/smm-architect/smm-appliance/alerting/acks"
	"github.com/smm-architect/smm-appliance/alerting/alertmanager"
	"github.com/smm-architect/smm-appliance/alerting/console"
	"github.com/smm-architect/smm-appliance/alerting/escalation"
	"github.com/smm-architect/smm-appliance/alerting/history"
	"github.com/smm-architect/smm-appliance/alerting/ruler"
	"github.com/smm-architect/smm-appliance/alerting/slo"
	"github.com/smm-architect/smm-appliance/appliance/configfiles"
	"github.com/smm-architect/smm-appliance/configs"
	"github.com/smm-architect/smm-appliance/scrape"
	"github.com/smm-architect/smm-appliance/storage"
	"github.com/smm-architect/smm-appliance/web"
	"github.com/smm-architect/smm-appliance/web/audit"
	"github.com/smm-architect/smm-appliance/web/auth"
)

// SelfJob is the scrape job under which the appliance scrapes its own
// /metrics. It is added in code because only the running process knows its
// listen address.
const SelfJob = "smm-appliance"

// Subfolders of the data directory.
const (
	tsdbDir         = "tsdb"
	historyDir      = "history"
	acksFile        = "acks/acks.json"
	auditDir        = "audit"
	alertmanagerDir = "alertmanager"
	embeddedDir     = "embedded-config"
)

// Appliance is one appliance: New builds it, Run runs it.
type Appliance struct {
	opts   Options
	logger *slog.Logger
	reg    *prometheus.Registry

	local      *readyStorage // the TSDB, once the TSDB actor has opened it
	am         *alertmanager.Alertmanager
	forwarder  *ruler.Forwarder
	ruler      *ruler.Ruler
	external   *ruler.External
	scraper    *scrape.Scraper
	remote     *remote.Storage
	web        *web.Server
	webOpts    web.Options // the APIs, built by the web actor
	console    *console.Console
	escalation *escalation.Engine
	weekly     *slo.Weekly // mails the weekly review
	links      *acklink.Links
	reloads    *coordinator
	versions   *configVersions // configuration versions and deploys (configversions.go)
	auth       *auth.Authorizer
	audit      *audit.Log
	peer       *cluster.Peer

	// dbOpen is closed once the TSDB has replayed its WAL; configLoaded
	// once the first configuration is applied (Prometheus' dbOpen and
	// reloadReady). Reload requests wait for configLoaded; stopping ends
	// that wait when the appliance stops first.
	dbOpen       chan struct{}
	configLoaded chan struct{}
	stopping     chan struct{}
	stopOnce     sync.Once

	cleanups []cleanup // LIFO: Run's last steps, or a failed New's undoing
	// stopped, if set, is told each part's name as it has stopped (tests
	// assert the stop order with it).
	stopped func(part string)
}

// cleanup is one step of the teardown, named for the log and the stop-order
// test (alertmanager's app/ keeps its cleanup stack the same way).
type cleanup struct {
	name string
	fn   func() error
}

// New builds every part and binds the listeners, which answer /-/healthy
// at once. Nothing slow happens here: opening the TSDB (the WAL replay) and
// loading the first configuration are actors of Run.
func New(o Options, logger *slog.Logger) (_ *Appliance, err error) {
	if err := o.Validate(); err != nil {
		return nil, err
	}
	a := &Appliance{
		opts: o, logger: logger, reg: prometheus.NewRegistry(), local: &readyStorage{},
		dbOpen: make(chan struct{}), configLoaded: make(chan struct{}), stopping: make(chan struct{}),
	}
	defer func() {
		if err != nil {
			_ = a.Close()
		}
	}()
	// Local storage is the readyStorage wrapper: the TSDB actor fills it
	// in, and closing it is the very last step of a stop (the first of
	// the LIFO cleanups).
	a.addCleanup("tsdb", a.local.Close)
	if err := setMemoryLimit(o.AutoGoMemLimit, o.AutoGoMemLimitRatio, logger); err != nil {
		return nil, err
	}
	reg := a.reg
	reg.MustRegister(
		collectors.NewGoCollector(),
		collectors.NewProcessCollector(collectors.ProcessCollectorOpts{}),
		versioncollector.NewCollector("smm_appliance"),
	)

	if err := os.MkdirAll(o.StoragePath, 0o750); err != nil {
		return nil, fmt.Errorf("create data directory: %w", err)
	}
	reg.MustRegister(storage.NewDiskUsageCollector(o.StoragePath))
	sources := configfiles.Sources{Dir: o.ConfigDir, EmbeddedDir: filepath.Join(o.StoragePath, embeddedDir)}
	if err := configfiles.Materialize(configs.FS, sources.EmbeddedDir); err != nil {
		return nil, fmt.Errorf("write embedded configuration: %w", err)
	}
	// A deployed configuration version, if one is in force, replaces
	// --config.dir (configversions.go).
	var deployedDir string
	if a.versions, deployedDir, err = openVersions(a, o.StoragePath); err != nil {
		return nil, err
	}
	if deployedDir != "" {
		sources.Dir = deployedDir
	}

	// Listeners first, serving only /-/healthy until the web actor runs:
	// the TSDB may replay its WAL for minutes, and a liveness probe must
	// see the process alive meanwhile. Bound here also so that the external
	// URL and the self-scrape target carry the real ports (tests bind :0).
	promLn, amLn, err := listen(o.WebListenAddress, o.AlertmanagerListenAddress)
	if err != nil {
		return nil, err
	}
	// The appliance scrapes its own metrics over loopback, on a listener
	// of its own: the public ones may require TLS and passwords.
	selfLn, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		return nil, errors.Join(fmt.Errorf("listen for self-scrape: %w", err), promLn.Close(), amLn.Close())
	}
	a.web = web.NewServer(promLn, amLn, selfLn, o.WebConfigFile, o.WebMaxConnections, logger)
	a.addCleanup("web", func() error {
		// The web actor shuts the server down on a normal stop; this is
		// for a New that failed half way, or an Appliance never run.
		ctx, cancel := context.WithTimeout(context.Background(), 5*time.Second)
		defer cancel()
		a.web.Shutdown(ctx)
		return nil
	})
	if err := a.web.Start(); err != nil {
		return nil, err
	}
	extURL, err := externalURL(o.ExternalURL, promLn.Addr())
	if err != nil {
		return nil, err
	}
	// The key that signs one-click ack links: created on first start,
	// rotated through the API (POST /api/v1/appliance/ack-links/rotate-key).
	linkKeys, err := acklink.OpenKey(filepath.Join(o.StoragePath, acklink.KeyFile))
	if err != nil {
		return nil, err
	}
	a.links = &acklink.Links{Keys: linkKeys, External: extURL, Now: time.Now}
	a.reloads = newCoordinator(configfiles.Loader{Sources: sources, Lookup: LookupEnv(o.Environment), Logger: logger, WebConfigFile: o.WebConfigFile,
		TemplateOptions: []template.Option{a.links.TemplateOption()}, TemplateOverlay: acklink.TemplateOverlay}, logger, reg)

	tsdbPath := filepath.Join(o.StoragePath, tsdbDir)

	// Remote write reads the TSDB's WAL, like Prometheus; samples queue
	// there while the remote end is down. Everything that appends (scrape,
	// rules, push receivers) goes through the fanout.
	a.remote = remote.NewStorage(logger.With("component", "remote"), reg, a.local.StartTime, tsdbPath, time.Minute, scrapeGetter{a}, false)
	a.addCleanup("remote write", a.remote.Close)
	fanout := promstorage.NewFanout(logger, a.local, a.remote)
	// Every sample goes through the free-space guard, so a full disk
	// refuses batches instead of tearing a WAL record.
	guard := storage.NewFreeSpaceGuard(o.StoragePath, uint64(o.MinFreeSpace), reg)
	appendable := guard.Wrap(fanout)

	tracker, err := promql.NewActiveQueryTracker(o.StoragePath, o.QueryMaxConcurrency, logger.With("component", "query tracker"))
	if err != nil {
		return nil, fmt.Errorf("create active query tracker: %w", err)
	}
	a.addCleanup("query tracker", tracker.Close)
	engine := promql.NewEngine(promql.EngineOpts{
		Logger:               logger.With("component", "query engine"),
		Reg:                  reg,
		MaxSamples:           o.QueryMaxSamples,
		Timeout:              time.Duration(o.QueryTimeout),
		ActiveQueryTracker:   tracker,
		LookbackDelta:        5 * time.Minute,
		EnableAtModifier:     true,
		EnableNegativeOffset: true,
	})

	hist, err := history.Open(history.Options{
		Dir:      filepath.Join(o.StoragePath, historyDir),
		MaxAge:   time.Duration(o.HistoryRetentionTime),
		MaxBytes: int64(o.HistoryRetentionSize),
	}, logger)
	if err != nil {
		return nil, err
	}
	a.addCleanup("history", hist.Close)
	ackStore, err := acks.Open(filepath.Join(o.StoragePath, acksFile), logger)
	if err != nil {
		return nil, err
	}
	// Cleanups run in reverse: the Alertmanager (draining notifications in
	// flight, which record first notifications) closes before the acks.
	a.addCleanup("acks", ackStore.Close)

	// The audit log opens before the gossip peer: the first push-pull at
	// join merges what peers have, and those changes are audited.
	a.audit, err = audit.Open(audit.Options{Dir: filepath.Join(o.StoragePath, auditDir), MaxBytes: int64(o.AuditRetentionSize), MaxAge: time.Duration(o.AuditRetentionTime)})
	if err != nil {
		return nil, err
	}
	a.addCleanup("audit", a.audit.Close)

	// The gossip peer must exist before the replicated states (silences,
	// notification log, acks) register with it; the cluster actor joins.
	a.peer, err = a.newPeer(reg)
	if err != nil {
		return nil, err
	}
	var onGossipSilence func(alertmanager.GossipedSilence)
	if a.peer != nil {
		onGossipSilence = a.auditGossipSilence(a.peer)
		ackStore.SetOnMerge(a.auditGossipAcks(a.peer))
	}

	sloRec := slo.NewRecorder(func(fp string) (time.Time, bool) {
		st, ok := ackStore.Get(fp)
		return st.FirstNotifiedAt, ok
	}, reg)
	a.am, err = alertmanager.New(alertmanager.Options{
		Peer:          a.peer,
		PeerTimeout:   o.ClusterPeerTimeout,
		DataDir:       filepath.Join(o.StoragePath, alertmanagerDir),
		Retention:     o.AlertmanagerRetention,
		ExternalURL:   extURL,
		MaxAlerts:     o.MaxAlerts,
		MaxAlertBytes: int(o.MaxAlertBytes),
		// The console exists before the first ApplyConfig starts the
		// dispatcher, so no attempt can come earlier.
		// The SLO recorder reads the alert's first notification before the
		// console records this one.
		Observer:        func(at alertmanager.Attempt) { sloRec.Observe(at); a.console.Observe(at) },
		OnGossipSilence: onGossipSilence,
		AckLink: func(receiver string, fps []string) string {
			if len(fps) > acklink.MaxLinkAlerts {
				return ""
			}
			return a.links.URL("ack", acklink.Target{Receiver: receiver, Fingerprints: fps})
		},
	}, logger, reg)
	if err != nil {
		return nil, err
	}
	// Closing the Alertmanager stops the dispatcher and waits for the
	// notifications in flight; it runs after every actor has returned
	// (nothing sends it alerts any more) and before the TSDB closes.
	a.addCleanup("alertmanager", a.am.Close)
	a.console = console.New(a.am.Alerts(), a.am.Status, ackStore, hist, logger, reg)
	a.escalation = escalation.New(a.am.Alerts(), ackStore, logger, reg)
	a.console.SetRenotifier(a.am.Renotify)
	if a.peer != nil {
		ackStore.SetBroadcast(a.peer.AddState("acks", ackStore, reg).Broadcast)
		// Like notifications, escalations are raised by the first peer; the
		// others wait their turn and then see the step done.
		a.escalation.SetWait(func() time.Duration { return time.Duration(a.peer.Position()) * o.ClusterPeerTimeout })
	}

	sdMetrics, err := discovery.CreateAndRegisterSDMetrics(reg)
	if err != nil {
		return nil, fmt.Errorf("register discovery metrics: %w", err)
	}
	a.forwarder = ruler.NewForwarder(a.am.Alerts(), logger)
	a.external, err = ruler.NewExternal(logger, reg, sdMetrics)
	if err != nil {
		return nil, err
	}
	a.ruler = ruler.New(ruler.Options{
		Engine:      engine,
		Queryable:   a.local,
		Appendable:  appendable,
		Forwarder:   a.forwarder,
		ExternalURL: extURL,
		ResendDelay: time.Duration(o.ResendDelay),
	}, logger, reg)
	a.scraper, err = scrape.New(appendable, sdMetrics, logger, reg)
	if err != nil {
		return nil, err
	}

	auditRec := audit.NewRecorder(a.writeAudit, reg)
	a.addCleanup("audit recorder", auditRec.Close)
	// Damaged state files were moved aside: an alert for each (the
	// Alertmanager raised its own), and the audit log. A full disk pages
	// in-process and holds firing alerts.
	for _, d := range append(ackStore.Damaged(), a.links.Keys.Damaged()...) {
		a.am.RaiseDamaged(d)
	}
	for _, d := range append(append(ackStore.Damaged(), a.links.Keys.Damaged()...), a.am.Damaged()...) {
		a.writeAudit(audit.Entry{Event: "state_file_damaged", Path: d.Path, Result: "moved to " + d.MovedTo + "; lost " + d.Lost, Error: d.Err.Error()})
	}
	guard.OnChange(func(full bool, err error) {
		a.am.StorageFull(full, err)
		a.forwarder.Hold(full, "storage full: samples cannot be stored")
	})
	a.auth = auth.New(auth.Options{
		WebConfigFile: o.WebConfigFile,
		Logger:        logger,
		Audit: func(e auth.Event) {
			auditRec.Request(audit.Request{Kind: e.Kind, User: e.User, Role: e.Role.String(), Remote: e.Remote, Method: e.Method, Path: e.Path, Status: e.Status})
		},
	})

	// API tokens (Authorization: Bearer) on both listeners; the file is
	// re-read when the CLI changes it.
	tokens := auth.NewTokenStore(filepath.Join(o.StoragePath, auth.TokensFile))
	a.auth.SetTokens(tokens)

	// The reload path. prepare completes and checks a loaded set before
	// any part sees it; the subscribers then apply it in this order.
	a.reloads.prepare = func(set *configfiles.Set) error {
		if err := checkEscalationRoutes(set); err != nil {
			return err
		}
		return addSelfScrape(set.Prometheus, selfLn.Addr(), selfInstance(o.ExternalURL, extURL))
	}
	a.reloads.audit = a.writeAudit
	a.reloads.subscribe("runtime", func(s *configfiles.Set) error {
		applyGoGC(s.Prometheus, logger)
		return nil
	})
	a.reloads.subscribe("auth", func(s *configfiles.Set) error {
		a.auth.ApplyConfig(s.Appliance.Auth)
		return nil
	})
	a.reloads.subscribe("alertmanager", func(s *configfiles.Set) error {
		var ao alertmanager.ApplyOptions
		if !o.NoLogFallback {
			ao.LogFallback = s.ReceiversWithoutChannels()
		}
		// The appliance's own alerts (storage full, damaged state file)
		// carry the external labels as rule alerts do; set before the
		// first configuration starts the dispatcher, so a damaged-file
		// alert raised at start is never sent without them.
		ext := model.LabelSet{}
		s.Prometheus.GlobalConfig.ExternalLabels.Range(func(l labels.Label) {
			ext[model.LabelName(l.Name)] = model.LabelValue(l.Value)
		})
		a.am.SetExternalLabels(ext)
		return a.am.ApplyConfig(s.Alertmanager, s.Templates, ao)
	})
	a.reloads.subscribe("ack links", func(s *configfiles.Set) error {
		a.links.ApplyConfig(s.Appliance.Acknowledge)
		return nil
	})
	a.reloads.subscribe("escalation", func(s *configfiles.Set) error {
		a.escalation.ApplyPolicy(&s.Appliance.Escalation)
		return nil
	})
	a.reloads.subscribe("weekly review", func(s *configfiles.Set) error {
		// A relay that cannot be read fails the review mail, not the reload.
		relay, err := slo.SMTPFromAlertmanager(s.Alertmanager)
		if err != nil {
			logger.Warn("weekly review mail relay", "component", "weekly review", "err", err)
		}
		a.weekly.ApplyConfig(s.Appliance.Report, relay, err)
		return nil
	})
	a.reloads.subscribe("forwarder", func(s *configfiles.Set) error {
		if ruler.Configured(s.Prometheus) {
			a.forwarder.SetExternal(a.external.Notifier())
		} else {
			a.forwarder.SetExternal(nil)
		}
		return a.forwarder.ApplyConfig(s.Prometheus)
	})
	a.reloads.subscribe("remote write", func(s *configfiles.Set) error { return a.remote.ApplyConfig(s.Prometheus) })
	a.reloads.subscribe("external alertmanagers", func(s *configfiles.Set) error { return a.external.ApplyConfig(s.Prometheus) })
	// Scrape before rules, as in Prometheus: rule evaluation may depend on
	// series of jobs that were just added.
	a.reloads.subscribe("scrape", func(s *configfiles.Set) error { return a.scraper.ApplyConfig(s.Prometheus) })
	a.reloads.subscribe("rules", func(s *configfiles.Set) error {
		return a.ruler.ApplyConfig(s.Prometheus, s.RuleFiles, s.DisabledGroups)
	})

	// The SLO report and weekly review: history and acks in process, the
	// latency histogram and ALERTS from the TSDB (docs/slo.md).
	sloAPI := &web.SLOAPI{Sources: slo.Sources{
		History:    slo.HistorySource(hist),
		Acks:       ackStore.List,
		Query:      slo.EngineQuery(engine, a.local),
		Teams:      slo.RuleTeams(a.ruler.Manager),
		AlertRules: slo.RuleNames(a.ruler.Manager),
		Silences:   slo.SilenceSource(a.am.Silences),
	}}
	a.weekly = slo.NewWeekly(func(ctx context.Context, now time.Time) slo.Review {
		return slo.ComputeReview(ctx, sloAPI.Sources, "7d", slo.Windows["7d"], now)
	}, logger, reg)
	sloAPI.SendReview = a.weekly.Send
	if a.peer != nil {
		a.weekly.SetFirst(func() bool { return a.peer.Position() == 0 })
	}

	// The configuration dump shows the mail relay, its user and the sender
	// as <secret> too (README: Secrets); Alertmanager redacts only its own
	// secret types.
	amAPI := configfiles.RedactStatus(a.am.Handler(), a.reloads.Current)
	ackLinks := &web.AckLinks{Console: a.console, Links: a.links, Logger: logger, Groups: a.am.GroupAlerts}
	// The APIs' wiring; the web actor builds them while the TSDB opens.
	a.webOpts = web.Options{
		ExternalURL:         extURL,
		Flags:               o.Flags,
		Engine:              engine,
		Storage:             a.local,
		StorageDir:          tsdbPath,
		Appendable:          appendable,
		RemoteWriteReceiver: o.RemoteWriteReceiver,
		OTLPReceiver:        o.OTLPReceiver,
		AckPages:            ackLinks.Pages(),
		Scrape:              a.scraper.Manager(),
		Rules:               a.ruler.Manager(),
		Notifier:            a.external.Notifier(),
		Alertmanager:        amAPI,
		Config: func() promconfig.Config {
			if s := a.reloads.Current(); s != nil {
				return *s.Prometheus
			}
			return promconfig.Config{}
		},
		Gatherer:   reg,
		Reg:        reg,
		Ready:      a.notReady,
		Reload:     a.Reload,
		LastReload: a.reloads.Last,
		Appliance: a.configAPI(tokens).Wrap(web.WithDashboards(web.WithEscalations((&web.ApplianceAPI{
			Console: a.console,
			Status:  a.status,
			Audit:   a.audit,
			SLO:     sloAPI,
		}).Handler(), a.escalation.Positions), a.dashboards)),
		Auth: a.auth,
	}
	return a, nil
}

func (a *Appliance) addCleanup(name string, fn func() error) {
	a.cleanups = append(a.cleanups, cleanup{name: name, fn: fn})
}

// LookupEnv resolves ${VAR} in configuration files: the environment, plus
// SMM_ENVIRONMENT from --environment. `check config` uses it too, so that
// it resolves exactly what the running appliance would.
func LookupEnv(environment string) func(string) (string, bool) {
	return func(name string) (string, bool) {
		if name == "SMM_ENVIRONMENT" && environment != "" {
			return environment, true
		}
		return os.LookupEnv(name)
	}
}

// Reload re-reads every configuration file; on error the old configuration
// stays in force. A reload asked for while the TSDB still replays its WAL
// waits for the first configuration load (it does not kill, and it is not
// lost); one asked for while the appliance stops returns ErrStopping.
func (a *Appliance) Reload(by string) error {
	select {
	case <-a.configLoaded:
	case <-a.stopping:
		return ErrStopping
	}
	return a.versions.reload(by)
}

// writeAudit records an audit entry; failing to is logged, never fatal.
func (a *Appliance) writeAudit(e audit.Entry) {
	if err := a.audit.Write(e); err != nil {
		a.logger.Error("write audit log", "err", err)
	}
}

// Addr is the address of the Prometheus API listener.
func (a *Appliance) Addr() net.Addr { return a.web.Addr() }

// AlertmanagerAddr is the address of the Alertmanager API listener.
func (a *Appliance) AlertmanagerAddr() net.Addr { return a.web.AlertmanagerAddr() }

// notReady names the parts that are not ready. Every check is an atomic
// load: a readiness probe never waits for a reload or the WAL replay.
func (a *Appliance) notReady() []string {
	var parts []string
	if a.local.get() == nil {
		parts = append(parts, "storage")
	}
	if a.reloads.Current() == nil {
		parts = append(parts, "configuration")
	}
	if !a.am.Ready() {
		parts = append(parts, "alertmanager")
	}
	return parts
}

// Run runs every part until ctx is cancelled or one part fails, then stops
// them all. Each long-running part is one actor below, started in order by
// the dbOpen and configLoaded channels.
//
// Stop order. run.Group calls the actors' interrupts one after another in
// the order they are added, and each interrupt below returns only once its
// part has stopped; the actors are therefore added in stop order: the web
// listeners (nothing more is pushed in), reloads, rule evaluation (first,
// as in Prometheus, so that absent() rules do not fire on a stopping
// scrape), escalation, scraping, then the external notifier, drained. When
// every actor has returned, Close stops the Alertmanager (which drains the
// notifications in flight) and closes the TSDB last.
func (a *Appliance) Run(ctx context.Context) error {
	logger := a.logger
	var g run.Group
	{
		// Termination: the context is the only way in; main maps SIGTERM
		// and SIGINT to it, before New, so a signal during the WAL replay
		// is a clean stop.
		cancel := make(chan struct{})
		g.Add(func() error {
			select {
			case <-ctx.Done():
				logger.Info("stopping on request")
			case <-cancel:
			}
			return nil
		}, func(error) {
			a.stopOnce.Do(func() { close(a.stopping) })
			close(cancel)
		})
	}
	{
		// Web: builds the APIs (on readyStorage, so this overlaps the WAL
		// replay) and serves them; until storage and configuration are
		// ready, /-/healthy answers and the rest says what it waits for.
		// One dead listener returns an error and stops the appliance.
		g.Add(func() error {
			if err := a.web.Activate(a.webOpts); err != nil {
				return fmt.Errorf("build web APIs: %w", err)
			}
			return a.web.Run()
		}, func(error) {
			ctx, cancel := context.WithTimeout(context.Background(), 5*time.Second)
			defer cancel()
			a.web.Shutdown(ctx)
			a.stop("web")
		})
	}
	{
		// TSDB: open and replay the WAL, then close dbOpen. tsdb.Open
		// cannot be cancelled; a stop during the replay waits for it, and
		// Close then closes the TSDB cleanly.
		cancel := make(chan struct{})
		g.Add(func() error {
			logger.Info("opening TSDB (replaying the WAL)", "component", "tsdb")
			start := time.Now()
			db, err := storage.Open(storage.Options{
				Path:              filepath.Join(a.opts.StoragePath, tsdbDir),
				RetentionDuration: time.Duration(a.opts.RetentionTime),
				RetentionBytes:    int64(a.opts.RetentionSize),
			}, logger, a.reg)
			if err != nil {
				return err
			}
			a.local.Set(db)
			db.SetWriteNotified(a.remote)
			logger.Info("TSDB started", "component", "tsdb", "duration", time.Since(start))
			close(a.dbOpen)
			<-cancel
			return nil
		}, func(error) { close(cancel) })
	}
	{
		// Start-up configuration: read and validate every file while the
		// TSDB replays, apply it once the TSDB is open (rules and scrapes
		// write to it), then close configLoaded. A configuration that does
		// not load stops the appliance, as before any part ran.
		// Interrupting waits for a reload in progress and refuses new ones.
		cancel := make(chan struct{})
		g.Add(func() error {
			set, err := a.reloads.Load()
			select {
			case <-a.dbOpen:
			case <-cancel:
				return nil
			}
			if err := a.reloads.Apply("start", set, err); err != nil {
				if errors.Is(err, ErrStopping) {
					return nil
				}
				return fmt.Errorf("initial configuration: %w", err)
			}
			a.versions.record("start", "start")
			close(a.configLoaded)
			logger.Info("SMM appliance ready", "web", a.web.Addr().String(), "alertmanager", a.web.AlertmanagerAddr().String())
			<-cancel
			return nil
		}, func(error) {
			a.reloads.Stop()
			close(cancel)
			a.stop("reloads")
		})
	}
	{
		// Rule evaluation, once configured; its alerts flow in memory to
		// the Alertmanager. Run is called even when stopping before the
		// first configuration: Stop waits for the groups Update created,
		// and those start only once Run has.
		cancel := make(chan struct{})
		g.Add(func() error {
			select {
			case <-a.configLoaded:
			case <-cancel:
			}
			a.ruler.Run()
			return nil
		}, func(error) {
			close(cancel)
			a.ruler.Stop()
			a.stop("rules")
		})
	}
	{
		// Escalation of unacknowledged alerts: it puts labelled copies
		// into the Alertmanager, so it stops with the other alert sources.
		ctx, cancel := context.WithCancel(context.Background())
		done := make(chan struct{})
		g.Add(func() error {
			defer close(done)
			select {
			case <-a.configLoaded:
			case <-ctx.Done():
				return nil
			}
			a.escalation.Run(ctx)
			return nil
		}, func(error) {
			cancel()
			<-done
			a.stop("escalation")
		})
	}
	{
		// Snoozes that run out: the ack lapses (gossiped and written like
		// an un-ack) and the team is notified again. Checked every second,
		// so a snooze ends when it says.
		ctx, cancel := context.WithCancel(context.Background())
		done := make(chan struct{})
		g.Add(func() error {
			defer close(done)
			select {
			case <-a.configLoaded:
			case <-ctx.Done():
				return nil
			}
			for {
				select {
				case <-ctx.Done():
					return nil
				case now := <-time.After(time.Second):
					var wait time.Duration
					if a.peer != nil {
						wait = time.Duration(a.peer.Position()) * a.opts.ClusterPeerTimeout
					}
					a.console.LapseSnoozes(ctx, now, wait)
				}
			}
		}, func(error) {
			cancel()
			<-done
		})
	}
	{
		// Scrape discovery.
		g.Add(a.scraper.RunDiscovery, func(error) { a.scraper.StopDiscovery() })
	}
	{
		// Scraping, once configured: a new target list needs the job's
		// configuration. Stopped after rules, before the TSDB closes.
		cancel := make(chan struct{})
		g.Add(func() error {
			select {
			case <-a.configLoaded:
			case <-cancel:
				return nil
			}
			return a.scraper.RunScrape()
		}, func(error) {
			close(cancel)
			a.scraper.StopScrape()
			a.stop("scrape")
		})
	}
	{
		// External Alertmanagers, if prometheus.yml names any: discovery,
		// then the notifier, which drains its queues on Stop
		// (DrainOnShutdown, as Prometheus) after rules have sent their
		// last alerts.
		g.Add(a.external.RunDiscovery, func(error) { a.external.StopDiscovery() })
		cancel := make(chan struct{})
		done := make(chan struct{})
		g.Add(func() error {
			defer close(done)
			select {
			case <-a.configLoaded:
			case <-cancel:
				return nil
			}
			a.external.RunNotifier()
			return nil
		}, func(error) {
			close(cancel)
			a.external.StopNotifier()
			<-done
			a.stop("notifier")
		})
	}
	{
		// The weekly review mail, once the first configuration set its
		// schedule and relay.
		ctx, cancel := context.WithCancel(context.Background())
		g.Add(func() error {
			select {
			case <-a.configLoaded:
			case <-ctx.Done():
				return nil
			}
			return a.weekly.Run(ctx)
		}, func(error) {
			cancel()
			a.stop("weekly review")
		})
	}
	if a.peer != nil {
		// Gossip cluster: join once every replicated state has registered
		// (in New), then settle; notifications wait for the settling.
		ctx, cancel := context.WithCancel(context.Background())
		g.Add(func() error {
			a.joinPeer(ctx, a.peer)
			<-ctx.Done()
			return nil
		}, func(error) { cancel() })
	}
	logger.Info("SMM appliance starting", "web", a.web.Addr().String(), "alertmanager", a.web.AlertmanagerAddr().String())
	err := g.Run()

	// Every actor has returned: nothing appends or sends any more. The
	// Alertmanager drains and writes its final snapshots, then the TSDB
	// closes (the cleanups, last in first out).
	closeErr := a.Close()
	logger.Info("SMM appliance stopped")
	return errors.Join(err, closeErr)
}

// stop reports that part has stopped.
func (a *Appliance) stop(part string) {
	a.logger.Debug("stopped", "part", part)
	if a.stopped != nil {
		a.stopped(part)
	}
}

// Close runs the cleanups, last in first out; Run calls it. Safe to call on
// an Appliance that never ran.
func (a *Appliance) Close() error {
	var errs []error
	for i := len(a.cleanups) - 1; i >= 0; i-- {
		c := a.cleanups[i]
		if err := c.fn(); err != nil {
			errs = append(errs, fmt.Errorf("close %s: %w", c.name, err))
		}
		a.stop(c.name)
	}
	a.cleanups = nil
	return errors.Join(errs...)
}

func listen(promAddr, amAddr string) (net.Listener, net.Listener, error) {
	p, err := net.Listen("tcp", promAddr)
	if err != nil {
		return nil, nil, fmt.Errorf("listen on --web.listen-address %s: %w", promAddr, err)
	}
	am, err := net.Listen("tcp", amAddr)
	if err != nil {
		p.Close()
		return nil, nil, fmt.Errorf("listen on --alertmanager.listen-address %s: %w", amAddr, err)
	}
	return p, am, nil
}

// externalURL is the flag's value or http://<host>:<port>/.
func externalURL(flag string, addr net.Addr) (*url.URL, error) {
	if flag != "" {
		u, err := url.Parse(flag)
		if err != nil {
			return nil, fmt.Errorf("--web.external-url: %w", err)
		}
		// Links are built as ExternalURL + "/graph…"; a trailing slash
		// would double it, as Prometheus learnt too.
		u.Path = strings.TrimRight(u.Path, "/")
		return u, nil
	}
	host, port, err := net.SplitHostPort(addr.String())
	if err != nil {
		return nil, err
	}
	if ip := net.ParseIP(host); ip == nil || ip.IsUnspecified() {
		if h, err := os.Hostname(); err == nil {
			host = h
		}
	}
	return &url.URL{Scheme: "http", Host: net.JoinHostPort(host, port)}, nil
}

// selfInstance is the instance label of the self-scrape job: the host of
// --web.external-url when set, the host name otherwise. The scrape goes to a
// loopback port chosen at start, which as instance would make new series,
// reset rate() and change the identity of the appliance's own alerts on
// every restart.
func selfInstance(flag string, ext *url.URL) string {
	if flag != "" && ext.Host != "" {
		return ext.Host
	}
	if h, err := os.Hostname(); err == nil && h != "" {
		return h
	}
	return ext.Host
}

// addSelfScrape adds the appliance's own /metrics as job smm-appliance,
// with instance as its instance label, unless the operator defined that job.
func addSelfScrape(cfg *promconfig.Config, addr net.Addr, instance string) error {
	for _, sc := range cfg.ScrapeConfigs {
		if sc.JobName == SelfJob {
			return nil
		}
	}
	_, port, err := net.SplitHostPort(addr.String())
	if err != nil {
		return err
	}
	host := "127.0.0.1"
	if tcp, ok := addr.(*net.TCPAddr); ok && !tcp.IP.IsUnspecified() {
		host = tcp.IP.String()
	}
	sc := &promconfig.ScrapeConfig{}
	// Uncompressed: gzip of the appliance's own exposition was 3 % of its
	// CPU at 100k series (docs/benchmarks.md), for bytes that only cross
	// the loopback interface.
	text := "job_name: " + SelfJob + "\nenable_compression: false\nstatic_configs:\n- targets: [" + strconv.Quote(net.JoinHostPort(host, port)) + "]\n" +
		"relabel_configs:\n- target_label: instance\n  replacement: " + strconv.Quote(instance) + "\n"
	if err := yamlUnmarshal(text, sc); err != nil {
		return fmt.Errorf("self-scrape job: %w", err)
	}
	if err := sc.Validate(cfg.GlobalConfig); err != nil {
		return fmt.Errorf("self-scrape job: %w", err)
	}
	cfg.ScrapeConfigs = append(cfg.ScrapeConfigs, sc)
	return nil
}

// scrapeGetter gives remote write the scrape manager for metadata.
type scrapeGetter struct{ a *Appliance }

func (g scrapeGetter) Get() (*promscrape.Manager, error) {
	if g.a.scraper == nil {
		return nil, errors.New("scrape manager not ready")
	}
	return g.a.scraper.Manager(), nil
}

// newPeer creates the cluster member when --cluster.listen-address is set.
func (a *Appliance) newPeer(reg prometheus.Registerer) (*cluster.Peer, error) {
	o := a.opts
	if o.ClusterListenAddress == "" {
		return nil, nil
	}
	// Mutual TLS for gossip, as Alertmanager's --cluster.tls-config.
	tlsCfg, err := cluster.GetTLSTransportConfig(o.ClusterTLSConfig)
	if err != nil {
		return nil, fmt.Errorf("--cluster.tls-config: %w", err)
	}
	if tlsCfg == nil {
		a.logger.Warn("gossip cluster without --cluster.tls-config: anyone who reaches the cluster port can join and change silences and acks", "component", "cluster", "listen", o.ClusterListenAddress)
	}
	peer, err := cluster.Create(a.logger.With("component", "cluster"), reg,
		o.ClusterListenAddress, o.ClusterAdvertiseAddress, o.ClusterPeers, true,
		o.ClusterPushPullInterval, o.ClusterGossipInterval, cluster.DefaultTCPTimeout,
		cluster.DefaultResolvePeersTimeout, cluster.DefaultProbeTimeout, cluster.DefaultProbeInterval,
		tlsCfg, false, "", "")
	if err != nil {
		return nil, fmt.Errorf("create cluster peer on %s: %w", o.ClusterListenAddress, err)
	}
	a.addCleanup("cluster", func() error { return peer.Leave(10 * time.Second) })
	return peer, nil
}

// joinPeer joins the cluster and waits for it to settle, or for ctx.
func (a *Appliance) joinPeer(ctx context.Context, peer *cluster.Peer) {
	if err := peer.Join(cluster.DefaultReconnectInterval, cluster.DefaultReconnectTimeout); err != nil {
		// Not fatal: a lone node still alerts, and reconnects later.
		a.logger.Warn("unable to join gossip cluster", "component", "cluster", "err", err)
	}
	ctx, cancel := context.WithTimeout(ctx, a.opts.ClusterSettleTimeout)
	defer cancel()
	peer.Settle(ctx, a.opts.ClusterGossipInterval*10)
}
