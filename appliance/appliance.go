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
	"time"

	"github.com/oklog/run"
	"github.com/prometheus/alertmanager/cluster"
	"github.com/prometheus/client_golang/prometheus"
	"github.com/prometheus/client_golang/prometheus/collectors"
	versioncollector "github.com/prometheus/client_golang/prometheus/collectors/version"
	promconfig "github.com/prometheus/prometheus/config"
	"github.com/prometheus/prometheus/discovery"
	"github.com/prometheus/prometheus/promql"
	promscrape "github.com/prometheus/prometheus/scrape"
	promstorage "github.com/prometheus/prometheus/storage"
	"github.com/prometheus/prometheus/storage/remote"

	"github.com/smm-architect/smm-appliance/alerting/acks"
	"github.com/smm-architect/smm-appliance/alerting/alertmanager"
	"github.com/smm-architect/smm-appliance/alerting/console"
	"github.com/smm-architect/smm-appliance/alerting/escalation"
	"github.com/smm-architect/smm-appliance/alerting/history"
	"github.com/smm-architect/smm-appliance/alerting/ruler"
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

// Appliance is one running appliance.
type Appliance struct {
	opts   Options
	logger *slog.Logger
	reg    *prometheus.Registry

	db         *storage.Local
	am         *alertmanager.Alertmanager
	forwarder  *ruler.Forwarder
	ruler      *ruler.Ruler
	external   *ruler.External
	scraper    *scrape.Scraper
	remote     *remote.Storage
	web        *web.Server
	console    *console.Console
	escalation *escalation.Engine
	reloads    *coordinator
	auth       *auth.Authorizer
	audit      *audit.Log

	cleanups []func() error // LIFO, for a failed New
}

// New opens storage, builds every part, binds the listeners and applies the
// initial configuration. Nothing runs until Run.
func New(o Options, logger *slog.Logger) (_ *Appliance, err error) {
	if err := o.Validate(); err != nil {
		return nil, err
	}
	a := &Appliance{opts: o, logger: logger, reg: prometheus.NewRegistry()}
	defer func() {
		if err != nil {
			for i := len(a.cleanups) - 1; i >= 0; i-- {
				_ = a.cleanups[i]()
			}
		}
	}()
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

	// Listeners first, serving only /-/healthy until Run: the TSDB may
	// replay its WAL for minutes, and a liveness probe must see the process
	// alive meanwhile. Bound here also so that the external URL and the
	// self-scrape target carry the real ports (tests bind :0).
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
	a.cleanups = append(a.cleanups, func() error {
		// Run shuts the server down on a normal stop; this is for a New
		// that failed half way.
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

	// Reading and validating every configuration file takes a few hundred
	// milliseconds on a busy machine; it runs while the TSDB replays its
	// WAL, and the start-up reload below uses its result.
	a.reloads = newCoordinator(configfiles.Loader{Sources: sources, Lookup: a.lookupEnv, Logger: logger, WebConfigFile: o.WebConfigFile}, logger, reg)
	a.reloads.preload()

	// Storage first: everything else reads or writes it.
	db, err := storage.Open(storage.Options{
		Path:              filepath.Join(o.StoragePath, tsdbDir),
		RetentionDuration: time.Duration(o.RetentionTime),
		RetentionBytes:    int64(o.RetentionSize),
	}, logger, reg)
	if err != nil {
		return nil, err
	}
	a.db = db
	a.cleanups = append(a.cleanups, db.Close)

	// Remote write reads the TSDB's WAL, like Prometheus; samples queue
	// there while the remote end is down. Everything that appends (scrape,
	// rules, push receivers) goes through the fanout.
	a.remote = remote.NewStorage(logger.With("component", "remote"), reg, db.StartTime, db.Dir(), time.Minute, scrapeGetter{a}, false)
	a.cleanups = append(a.cleanups, a.remote.Close)
	db.SetWriteNotified(a.remote)
	fanout := promstorage.NewFanout(logger, db, a.remote)
	// Every sample goes through the free-space guard, so a full disk
	// refuses batches instead of tearing a WAL record.
	guard := storage.NewFreeSpaceGuard(o.StoragePath, uint64(o.MinFreeSpace), reg)
	appendable := guard.Wrap(fanout)

	tracker, err := promql.NewActiveQueryTracker(o.StoragePath, o.QueryMaxConcurrency, logger.With("component", "query tracker"))
	if err != nil {
		return nil, fmt.Errorf("create active query tracker: %w", err)
	}
	a.cleanups = append(a.cleanups, tracker.Close)
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
	a.cleanups = append(a.cleanups, hist.Close)
	ackStore, err := acks.Open(filepath.Join(o.StoragePath, acksFile), logger)
	if err != nil {
		return nil, err
	}
	// Cleanups run in reverse: the Alertmanager (draining notifications in
	// flight, which record first notifications) closes before the acks.
	a.cleanups = append(a.cleanups, ackStore.Close)

	// The audit log opens before the gossip peer: the first push-pull at
	// join merges what peers have, and those changes are audited.
	a.audit, err = audit.Open(audit.Options{Dir: filepath.Join(o.StoragePath, auditDir), MaxBytes: int64(o.AuditRetentionSize), MaxAge: time.Duration(o.AuditRetentionTime)})
	if err != nil {
		return nil, err
	}
	a.cleanups = append(a.cleanups, a.audit.Close)

	// The gossip peer must exist before the replicated states (silences,
	// notification log, acks) register with it, and join only after.
	peer, err := a.newPeer(reg)
	if err != nil {
		return nil, err
	}
	var onGossipSilence func(alertmanager.GossipedSilence)
	if peer != nil {
		onGossipSilence = a.auditGossipSilence(peer)
		ackStore.SetOnMerge(a.auditGossipAcks(peer))
	}

	a.am, err = alertmanager.New(alertmanager.Options{
		Peer:        peer,
		PeerTimeout: o.ClusterPeerTimeout,
		DataDir:     filepath.Join(o.StoragePath, alertmanagerDir),
		Retention:   o.AlertmanagerRetention,
		ExternalURL: extURL,
		// The console exists before the first ApplyConfig starts the
		// dispatcher, so no attempt can come earlier.
		Observer:        func(at alertmanager.Attempt) { a.console.Observe(at) },
		OnGossipSilence: onGossipSilence,
	}, logger, reg)
	if err != nil {
		return nil, err
	}
	a.cleanups = append(a.cleanups, a.am.Close)
	a.console = console.New(a.am.Alerts(), ackStore, hist, logger, reg)
	a.escalation = escalation.New(a.am, ackStore, a.console.RecordEscalation, logger)
	if peer != nil {
		ackStore.SetBroadcast(peer.AddState("acks", ackStore, reg).Broadcast)
		// Like notifications, escalations are sent by the first peer; the
		// others wait their turn and then see the step done.
		a.escalation.SetWait(func() time.Duration { return time.Duration(peer.Position()) * o.ClusterPeerTimeout })
		a.joinPeer(peer)
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
		Queryable:   db,
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
	a.cleanups = append(a.cleanups, auditRec.Close)
	// Damaged state files were moved aside: an alert for each, and the
	// audit log. A full disk pages in-process and holds firing alerts.
	for _, d := range append(ackStore.Damaged(), a.am.Damaged()...) {
		a.am.RaiseDamaged(d)
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
	a.reloads.prepare = func(set *configfiles.Set) error { return addSelfScrape(set.Prometheus, selfLn.Addr()) }
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
		ao := alertmanager.ApplyOptions{ExtraReceivers: s.Appliance.Escalation.Receivers()}
		if !o.NoLogFallback {
			ao.LogFallback = s.ReceiversWithoutChannels()
		}
		return a.am.ApplyConfig(s.Alertmanager, s.Templates, ao)
	})
	a.reloads.subscribe("escalation", func(s *configfiles.Set) error {
		a.escalation.ApplyPolicy(&s.Appliance.Escalation)
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
	a.reloads.subscribe("rules", func(s *configfiles.Set) error { return a.ruler.ApplyConfig(s.Prometheus, s.RuleFiles) })

	// The configuration dump shows the mail relay, its user and the sender
	// as <secret> too (README: Secrets); Alertmanager redacts only its own
	// secret types.
	amAPI := configfiles.RedactStatus(a.am.Handler(), a.reloads.Current)
	if err := a.web.Activate(web.Options{
		ExternalURL:         extURL,
		Flags:               o.Flags,
		Engine:              engine,
		Storage:             db,
		Appendable:          appendable,
		RemoteWriteReceiver: o.RemoteWriteReceiver,
		OTLPReceiver:        o.OTLPReceiver,
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
		Appliance: (&web.ApplianceAPI{
			Console:      a.console,
			Alertmanager: amAPI,
			Status:       a.status,
			Audit:        a.audit,
		}).Handler(),
		Auth: a.auth,
	}); err != nil {
		return nil, err
	}

	if err := a.reloads.Reload("start"); err != nil {
		return nil, fmt.Errorf("initial configuration: %w", err)
	}
	return a, nil
}

// lookupEnv resolves ${VAR} in configuration files: the environment, plus
// SMM_ENVIRONMENT from --environment.
func (a *Appliance) lookupEnv(name string) (string, bool) {
	if name == "SMM_ENVIRONMENT" && a.opts.Environment != "" {
		return a.opts.Environment, true
	}
	return os.LookupEnv(name)
}

// Reload re-reads every configuration file; on error the old configuration
// stays in force.
func (a *Appliance) Reload(by string) error { return a.reloads.Reload(by) }

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

func (a *Appliance) notReady() []string {
	var parts []string
	if a.reloads.Current() == nil {
		parts = append(parts, "configuration")
	}
	if !a.am.Ready() {
		parts = append(parts, "alertmanager")
	}
	return parts
}

// Run runs every part until ctx is cancelled or one part fails, then stops
// them in order and closes storage last.
func (a *Appliance) Run(ctx context.Context) error {
	logger := a.logger
	var g run.Group
	{
		// Termination: the context is the only way in; main maps signals to it.
		cancel := make(chan struct{})
		g.Add(func() error {
			select {
			case <-ctx.Done():
				logger.Info("stopping on request")
			case <-cancel:
			}
			return nil
		}, func(error) { close(cancel) })
	}
	{
		// Scrape discovery.
		g.Add(a.scraper.RunDiscovery, func(error) { a.scraper.StopDiscovery() })
	}
	{
		// Scraping. Stopped before storage closes (after g.Run) so that no
		// append hits a closed TSDB.
		g.Add(a.scraper.RunScrape, func(error) { a.scraper.StopScrape() })
	}
	{
		// Rule evaluation; its alerts flow in memory to the Alertmanager.
		done := make(chan struct{})
		g.Add(func() error { a.ruler.Run(); <-done; return nil }, func(error) { a.ruler.Stop(); close(done) })
	}
	{
		// External Alertmanagers, if prometheus.yml names any.
		g.Add(a.external.RunDiscovery, func(error) { a.external.Stop() })
		done := make(chan struct{})
		g.Add(func() error { a.external.RunNotifier(); <-done; return nil }, func(error) { close(done) })
	}
	{
		// Escalation of unacknowledged critical alerts.
		ctx, cancel := context.WithCancel(context.Background())
		g.Add(func() error { a.escalation.Run(ctx); return nil }, func(error) { cancel() })
	}
	{
		// Web: both listeners.
		g.Add(a.web.Run, func(error) {
			ctx, cancel := context.WithTimeout(context.Background(), 5*time.Second)
			defer cancel()
			a.web.Shutdown(ctx)
		})
	}
	logger.Info("SMM appliance started", "web", a.web.Addr().String(), "alertmanager", a.web.AlertmanagerAddr().String())
	err := g.Run()

	// All actors have returned: nothing appends or sends any more. The
	// Alertmanager writes its final snapshots, then the TSDB closes.
	closeErr := a.Close()
	logger.Info("SMM appliance stopped")
	return errors.Join(err, closeErr)
}

// Close releases storage; Run calls it. Safe to call on an Appliance that
// never ran.
func (a *Appliance) Close() error {
	var errs []error
	for i := len(a.cleanups) - 1; i >= 0; i-- {
		errs = append(errs, a.cleanups[i]())
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

// addSelfScrape adds the appliance's own /metrics as job smm-appliance
// unless the operator defined that job.
func addSelfScrape(cfg *promconfig.Config, addr net.Addr) error {
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
	text := "job_name: " + SelfJob + "\nenable_compression: false\nstatic_configs:\n- targets: [" + strconv.Quote(net.JoinHostPort(host, port)) + "]\n"
	if err := yamlUnmarshal(text, sc); err != nil {
		return fmt.Errorf("self-scrape job: %w", err)
	}
	if err := sc.Validate(cfg.GlobalConfig); err != nil {
		return fmt.Errorf("self-scrape job: %w", err)
	}
	cfg.ScrapeConfigs = append(cfg.ScrapeConfigs, sc)
	return nil
}

func ignoreClosed(err error) error {
	if errors.Is(err, net.ErrClosed) {
		return nil
	}
	return err
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
	a.cleanups = append(a.cleanups, func() error { return peer.Leave(10 * time.Second) })
	return peer, nil
}

// joinPeer joins the cluster once every replicated state is registered.
func (a *Appliance) joinPeer(peer *cluster.Peer) {
	if err := peer.Join(cluster.DefaultReconnectInterval, cluster.DefaultReconnectTimeout); err != nil {
		// Not fatal: a lone node still alerts, and reconnects later.
		a.logger.Warn("unable to join gossip cluster", "component", "cluster", "err", err)
	}
	ctx, cancel := context.WithTimeout(context.Background(), a.opts.ClusterSettleTimeout)
	a.cleanups = append(a.cleanups, func() error { cancel(); return nil })
	go peer.Settle(ctx, a.opts.ClusterGossipInterval*10)
}
