// Package alertmanager embeds Alertmanager's pipeline in the appliance: alert
// store, silences, notification log, inhibitor, dispatcher with its route
// tree, receiver integrations, and the v2 API — built from the alertmanager
// packages the way alertmanager's own app package wires them, minus the UI
// and with silences and notification log persisted on every change.
package alertmanager

import (
	"bytes"
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"log/slog"
	"maps"
	"net/http"
	"net/url"
	"os"
	"path/filepath"
	"slices"
	"strings"
	"sync/atomic"
	"time"

	"github.com/prometheus/alertmanager/api"
	"github.com/prometheus/alertmanager/cluster"
	amconfig "github.com/prometheus/alertmanager/config"
	"github.com/prometheus/alertmanager/config/receiver"
	"github.com/prometheus/alertmanager/dispatch"
	"github.com/prometheus/alertmanager/eventrecorder"
	"github.com/prometheus/alertmanager/featurecontrol"
	"github.com/prometheus/alertmanager/inhibit"
	"github.com/prometheus/alertmanager/labelset"
	"github.com/prometheus/alertmanager/nflog"
	"github.com/prometheus/alertmanager/notify"
	"github.com/prometheus/alertmanager/provider"
	"github.com/prometheus/alertmanager/provider/mem"
	"github.com/prometheus/alertmanager/silence"
	"github.com/prometheus/alertmanager/template"
	"github.com/prometheus/alertmanager/timeinterval"
	"github.com/prometheus/client_golang/prometheus"
	"github.com/prometheus/common/model"
	"github.com/prometheus/common/route"

	"github.com/smm-architect/smm-appliance/storage/persist"
)

// Options configure the embedded Alertmanager.
type Options struct {
	DataDir     string        // silences and nflog snapshots live here
	Retention   time.Duration // of silences and notification log entries
	ExternalURL *url.URL      // used in templates (.ExternalURL) and silence links
	// Peer is the gossip cluster member, or nil for a single node.
	Peer *cluster.Peer
	// PeerTimeout is the per-position wait before sending in a cluster.
	PeerTimeout time.Duration
	// Observer, if set, sees every notification attempt.
	Observer Observer
	// OnGossipSilence, if set, sees each silence change merged from a
	// cluster peer (for the audit log).
	OnGossipSilence func(GossipedSilence)
	// AckLink, if set, gives the log fallback the Acknowledge link of a
	// notification (the link the real channels carry; acklink).
	AckLink func(receiver string, fingerprints []string) string
	// MaxAlerts and MaxAlertBytes bound the alert store (bounds.go); 0
	// takes DefaultMaxAlerts, DefaultMaxAlertBytes.
	MaxAlerts, MaxAlertBytes int
}

// ApplyOptions are the appliance's additions to a configuration.
type ApplyOptions struct {
	// LogFallback names receivers whose every channel was disabled for lack
	// of a secret; they deliver to the log instead.
	LogFallback map[string]bool
}

// Alertmanager is the running pipeline. Its config-scoped parts (routes,
// receivers, inhibitor, dispatcher) are rebuilt by ApplyConfig; the rest lives
// as long as the process.
type Alertmanager struct {
	opts   Options
	logger *slog.Logger

	alerts    *mem.Alerts
	silences  *silence.Silences
	nflog     *nflog.Log
	silencer  *silence.Silencer
	api       *api.API
	handler   http.Handler
	pipelines *notify.PipelineBuilder
	dispMet   *dispatch.DispatcherMetrics
	recorder  eventrecorder.Recorder

	silPersist   *persist.File
	nflPersist   *persist.File
	alertPersist *persist.File
	// alertsChanged is set by every Put through Alerts() or the API.
	alertsChanged atomic.Bool
	stopMaint     chan struct{}
	maintDone     chan struct{}

	internal internalAlerts
	bounds   *alertBounds
	damaged  []persist.Damaged

	attempts   attemptCounter
	inflight   gate
	dispatcher atomic.Pointer[dispatch.Dispatcher]
	inhibitor  atomic.Pointer[inhibit.Inhibitor]
	config     atomic.Pointer[amconfig.Config]
	receivers  atomic.Pointer[map[string][]notify.Integration] // for Renotify
	startTime  time.Time
}

// New restores silences and the notification log from DataDir and builds the
// long-lived parts. Call ApplyConfig before alerts can be dispatched.
func New(o Options, logger *slog.Logger, reg prometheus.Registerer) (*Alertmanager, error) {
	if err := os.MkdirAll(o.DataDir, 0o750); err != nil {
		return nil, fmt.Errorf("create alertmanager data dir: %w", err)
	}
	if o.Retention == 0 {
		o.Retention = 120 * time.Hour
	}
	am := &Alertmanager{opts: o, logger: logger, startTime: time.Now(), stopMaint: make(chan struct{}), maintDone: make(chan struct{}), internal: internalAlerts{alerts: map[string]*internalAlert{}}}
	ff := featurecontrol.NoopFlags{}

	silPath := filepath.Join(o.DataDir, "silences")
	silOpts := func(snapshot string, reg prometheus.Registerer) silence.Options {
		return silence.Options{
			SnapshotFile: snapshot,
			Retention:    o.Retention,
			// Bounds so that neither a flood of silences nor one huge matcher
			// can exhaust memory; matchers are RE2, so no regex can backtrack.
			Limits: silence.Limits{
				MaxSilences:         func() int { return 10000 },
				MaxSilenceSizeBytes: func() int { return 8 << 10 },
			},
			Logger:  logger.With("component", "silences"),
			Metrics: reg,
			Logging: true,
		}
	}
	sil, err := silence.New(silOpts(snapshotIfExists(silPath), reg))
	if err != nil && snapshotIfExists(silPath) != "" {
		// A damaged snapshot must not stop all alerting: move it aside
		// and start without silences (the alert says which were lost).
		if err = am.quarantine(silPath, fmt.Errorf("restore silences %s: %w", silPath, err), "every silence"); err == nil {
			sil, err = silence.New(silOpts("", replacingRegisterer{reg}))
		}
	}
	if err != nil {
		return nil, fmt.Errorf("restore silences %s: %w", silPath, err)
	}
	am.silences = sil
	am.silPersist = persist.New("silences", silPath, sil, 0, logger)

	nflPath := filepath.Join(o.DataDir, "nflog")
	nflOpts := func(snapshot string, reg prometheus.Registerer) nflog.Options {
		return nflog.Options{
			SnapshotFile: snapshot,
			Retention:    o.Retention,
			Logger:       logger.With("component", "nflog"),
			Metrics:      reg,
		}
	}
	nfl, err := nflog.New(nflOpts(snapshotIfExists(nflPath), reg))
	if err != nil && snapshotIfExists(nflPath) != "" {
		if err = am.quarantine(nflPath, fmt.Errorf("restore notification log %s: %w", nflPath, err), "the notification log (alerts already notified may be notified once more)"); err == nil {
			nfl, err = nflog.New(nflOpts("", replacingRegisterer{reg}))
		}
	}
	if err != nil {
		return nil, fmt.Errorf("restore notification log %s: %w", nflPath, err)
	}
	am.nflog = nfl
	am.nflPersist = persist.New("nflog", nflPath, nfl, nflogWriteInterval, logger)

	// Every local change (and every change merged from a peer) goes
	// through the broadcast hook: gossip it when clustered and persist it.
	silBroadcast, nflBroadcast := func([]byte) {}, func([]byte) {}
	if o.Peer != nil {
		var silState cluster.State = sil
		if o.OnGossipSilence != nil {
			silState = observedSilences{sil, o.OnGossipSilence}
		}
		silBroadcast = o.Peer.AddState("sil", silState, reg).Broadcast
		nflBroadcast = o.Peer.AddState("nfl", nfl, reg).Broadcast
	}
	sil.SetBroadcast(func(b []byte) { silBroadcast(b); am.silPersist.Mark() })
	nfl.SetBroadcast(func(b []byte) { nflBroadcast(b); am.nflPersist.Mark() })

	am.silencer = silence.NewSilencer(sil, logger, am.recorder)
	am.bounds = newAlertBounds(am.silencer, reg, o.MaxAlerts, o.MaxAlertBytes)
	alerts, err := mem.NewAlerts(context.Background(), 30*time.Minute, 0, am.bounds, logger.With("component", "alerts"), am.recorder, reg, ff)
	if err != nil {
		return nil, fmt.Errorf("create alert store: %w", err)
	}
	am.alerts = alerts
	alertsPath := filepath.Join(o.DataDir, "alerts.json")
	if n, err := am.restoreAlerts(alertsPath); err != nil {
		// Not fatal: alerts come back from the rules within one evaluation;
		// only resolved-while-down notifications are lost.
		logger.Error("restore alerts", "component", "alerts", "err", err)
		if _, serr := os.Stat(alertsPath); serr == nil {
			if qerr := am.quarantine(alertsPath, err, "the alerts of before the restart (rule alerts come back at their next evaluation; alerts posted by clients until they are posted again)"); qerr != nil {
				logger.Error("move damaged alert snapshot aside", "component", "alerts", "err", qerr)
			}
		}
	} else if n > 0 {
		logger.Info("restored alerts from before the restart", "component", "alerts", "count", n)
	}
	am.alertPersist = persist.New("alerts", alertsPath, alertSnapshot{am}, 0, logger)

	var peer cluster.ClusterPeer
	if o.Peer != nil {
		peer = o.Peer
	}
	requestDuration := prometheus.NewHistogramVec(prometheus.HistogramOpts{
		Name:    "alertmanager_http_request_duration_seconds",
		Help:    "Histogram of latencies for HTTP requests.",
		Buckets: prometheus.DefBuckets,
	}, []string{"handler", "method", "code"})
	reg.MustRegister(requestDuration)
	apih, err := api.New(api.Options{
		RequestDuration: requestDuration,
		Alerts:          admittingAlerts{changeTracking{alerts, &am.alertsChanged}, am.bounds},
		Silences:        sil,
		Peer:            peer,
		Timeout:         time.Minute,
		Logger:          logger.With("component", "api"),
		Registry:        reg,
		GroupFunc: func(ctx context.Context, rf func(*dispatch.Route) bool, af dispatch.AlertFilter) (dispatch.AlertGroups, map[model.Fingerprint][]string, error) {
			d := am.dispatcher.Load()
			if d == nil {
				return nil, nil, errors.New("alertmanager is not configured yet")
			}
			return d.Groups(ctx, rf, af)
		},
	})
	if err != nil {
		alerts.Close()
		return nil, fmt.Errorf("create alertmanager api: %w", err)
	}
	am.api = apih
	am.handler = am.refuseOverBounds(am.flushAfterWrites(apih.Register(route.New(), "/")))
	am.pipelines = notify.NewPipelineBuilder(reg, ff, am.recorder)
	am.dispMet = dispatch.NewDispatcherMetrics(false, reg, ff)

	go am.silPersist.Run()
	go am.nflPersist.Run()
	go am.alertPersist.Run()
	go am.maintain()
	go am.snapshotAlerts(5 * time.Second)
	go am.runInternal()
	for _, d := range am.damaged {
		am.RaiseDamaged(d)
	}
	return am, nil
}

// replacingRegisterer registers the metrics of a silences or nflog instance
// built again after its snapshot failed to load: the failed one registered
// the same metrics first.
type replacingRegisterer struct{ prometheus.Registerer }

func (r replacingRegisterer) Register(c prometheus.Collector) error {
	err := r.Registerer.Register(c)
	var are prometheus.AlreadyRegisteredError
	if errors.As(err, &are) {
		r.Unregister(are.ExistingCollector)
		return r.Registerer.Register(c)
	}
	return err
}

func (r replacingRegisterer) MustRegister(cs ...prometheus.Collector) {
	for _, c := range cs {
		if err := r.Register(c); err != nil {
			panic(err)
		}
	}
}

// quarantine moves a damaged state file aside and records it for Damaged.
func (am *Alertmanager) quarantine(path string, cause error, lost string) error {
	d, err := persist.Quarantine(path, cause, lost)
	if err != nil {
		return errors.Join(cause, err)
	}
	am.logger.Error("state file damaged; moved aside, starting without it", "component", "alertmanager", "file", path, "moved_to", d.MovedTo, "lost", lost, "err", cause)
	am.damaged = append(am.damaged, d)
	return nil
}

// Damaged lists the state files New found damaged and moved aside; each has
// a StateFileDamagedAlert firing. The caller records them in the audit log.
func (am *Alertmanager) Damaged() []persist.Damaged { return slices.Clone(am.damaged) }

// nflogWriteInterval spaces the notification log's snapshots: in an alert
// storm every notification changes it, and each write is the whole log. A
// kill -9 loses at most the last interval's entries, so a notification sent
// in that second may be sent once more after the restart (Alertmanager
// itself snapshots every 15 minutes).
const nflogWriteInterval = time.Second

// snapshotIfExists returns path if a snapshot is there to restore from; the
// libraries treat a missing file as an error.
func snapshotIfExists(path string) string {
	if _, err := os.Stat(path); err == nil {
		return path
	}
	return ""
}

// maintain garbage-collects expired silences and log entries. Snapshots are
// written by the persisters, not here.
func (am *Alertmanager) maintain() {
	defer close(am.maintDone)
	t := time.NewTicker(15 * time.Minute)
	defer t.Stop()
	for {
		select {
		case <-am.stopMaint:
			return
		case <-t.C:
			if n, err := am.silences.GC(); err != nil {
				am.logger.Error("silence gc", "err", err)
			} else if n > 0 {
				am.silPersist.Mark()
			}
			if n, err := am.nflog.GC(); err != nil {
				am.logger.Error("nflog gc", "err", err)
			} else if n > 0 {
				am.nflPersist.Mark()
			}
		}
	}
}

// flushAfterWrites makes a silence write through the API (create, update,
// expire) durable before the client hears it succeeded. A write that cannot
// be made durable is refused with 507 Insufficient Storage: before it is
// applied when the silences file cannot be written (the disk is full), or,
// when the write fails after it was applied (space vanished in between), a
// new silence is expired again. An update or expiry that fails that late
// stays in force in memory, is retried to disk, and still answers 507.
func (am *Alertmanager) flushAfterWrites(next http.Handler) http.Handler {
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		if r.Method == http.MethodGet || r.Method == http.MethodHead || !strings.Contains(r.URL.Path, "/silence") {
			next.ServeHTTP(w, r)
			return
		}
		if err := am.silPersist.CheckRoom(); err != nil {
			refuseNotDurable(w, "silence refused, nothing changed: "+err.Error())
			return
		}
		body, err := io.ReadAll(io.LimitReader(r.Body, maxSilenceBody+1))
		if err != nil {
			http.Error(w, "read body: "+err.Error(), http.StatusBadRequest)
			return
		}
		r.Body = io.NopCloser(bytes.NewReader(body))
		rec := &bufferedResponse{header: http.Header{}, code: http.StatusOK}
		next.ServeHTTP(rec, r)
		if rec.code < 300 {
			if err := am.silPersist.Flush(); err != nil {
				if id, ok := newSilenceID(r, body, rec.body.Bytes()); ok {
					if xerr := am.silences.Expire(r.Context(), id); xerr == nil {
						refuseNotDurable(w, "silence refused and expired again: "+err.Error())
						return
					}
				}
				refuseNotDurable(w, "change in force in memory but not on disk (retrying): "+err.Error())
				return
			}
		}
		maps.Copy(w.Header(), rec.header)
		w.WriteHeader(rec.code)
		_, _ = w.Write(rec.body.Bytes())
	})
}

// maxSilenceBody bounds the silence request bodies read here; the silence
// size limit (8 KiB) is far below it.
const maxSilenceBody = 1 << 20

func refuseNotDurable(w http.ResponseWriter, msg string) {
	http.Error(w, msg, http.StatusInsufficientStorage)
}

// newSilenceID is the ID of the silence a POST created, if it created one
// (no "id" in the request).
func newSilenceID(r *http.Request, reqBody, respBody []byte) (string, bool) {
	if r.Method != http.MethodPost || !strings.HasSuffix(r.URL.Path, "/silences") {
		return "", false
	}
	var req struct {
		ID string `json:"id"`
	}
	var resp struct {
		SilenceID string `json:"silenceID"`
	}
	if json.Unmarshal(reqBody, &req) != nil || req.ID != "" || json.Unmarshal(respBody, &resp) != nil || resp.SilenceID == "" {
		return "", false
	}
	return resp.SilenceID, true
}

// bufferedResponse holds a response until its change is durable.
type bufferedResponse struct {
	header http.Header
	code   int
	body   bytes.Buffer
}

func (b *bufferedResponse) Header() http.Header         { return b.header }
func (b *bufferedResponse) WriteHeader(code int)        { b.code = code }
func (b *bufferedResponse) Write(p []byte) (int, error) { return b.body.Write(p) }

// Handler serves the Alertmanager API (v2 and Connect) at the root.
func (am *Alertmanager) Handler() http.Handler { return am.handler }

// Alerts is the alert store the rule forwarder writes to.
func (am *Alertmanager) Alerts() provider.Alerts {
	return changeTracking{am.alerts, &am.alertsChanged}
}

// Silences gives read access for the console and the v1 API.
func (am *Alertmanager) Silences() *silence.Silences { return am.silences }

// Config returns the applied configuration, or nil before the first one.
func (am *Alertmanager) Config() *amconfig.Config { return am.config.Load() }

// Ready reports whether a configuration is in force.
func (am *Alertmanager) Ready() bool { return am.dispatcher.Load() != nil }

// ApplyConfig builds the routes, receivers and pipeline of cfg and swaps them
// in. Everything that can fail happens before the running dispatcher is
// touched, so a failed apply leaves the old configuration in force.
func (am *Alertmanager) ApplyConfig(cfg *amconfig.Config, tmpl *template.Template, o ApplyOptions) error {
	tmpl.ExternalURL = am.opts.ExternalURL
	routes := dispatch.NewRoute(cfg.Route, nil)
	active := map[string]struct{}{}
	routes.Walk(func(r *dispatch.Route) { active[r.RouteOpts.Receiver] = struct{}{} })
	receivers := make(map[string][]notify.Integration, len(active))
	for _, rcv := range cfg.Receivers {
		if _, ok := active[rcv.Name]; !ok {
			continue
		}
		ints, err := receiver.BuildReceiverIntegrations(rcv, tmpl, am.logger)
		if err != nil {
			return fmt.Errorf("build receiver %q: %w", rcv.Name, err)
		}
		if len(ints) == 0 && o.LogFallback[rcv.Name] {
			ints = append(ints, logIntegration(rcv.Name, am.logger, am.opts.AckLink))
		}
		receivers[rcv.Name] = observe(ints, rcv.Name, am.opts.Observer, &am.attempts, &am.inflight, renderers(rcv, tmpl, am.logger))
	}
	intervals := make(map[string][]timeinterval.TimeInterval, len(cfg.TimeIntervals)+len(cfg.MuteTimeIntervals))
	for _, ti := range cfg.MuteTimeIntervals {
		intervals[ti.Name] = ti.TimeIntervals
	}
	for _, ti := range cfg.TimeIntervals {
		intervals[ti.Name] = ti.TimeIntervals
	}
	intervener := timeinterval.NewIntervener(intervals)

	if old := am.inhibitor.Load(); old != nil {
		old.Stop()
	}
	if old := am.dispatcher.Load(); old != nil {
		old.Stop()
	}
	inhibitor := inhibit.NewInhibitor(am.alerts, cfg.InhibitRules, am.logger.With("component", "inhibitor"), am.recorder)
	var peer notify.Peer
	wait := func() time.Duration { return 0 }
	if am.opts.Peer != nil {
		peer = am.opts.Peer
		p, timeout := am.opts.Peer, am.opts.PeerTimeout
		wait = func() time.Duration { return time.Duration(p.Position()) * timeout }
	}
	pipeline := am.pipelines.New(receivers, wait, inhibitor, am.silencer, intervener, am.nflog, peer)
	am.api.Update(cfg, func(ctx context.Context, ls labelset.LabelSet) {
		am.inhibitor.Load().Mutes(ctx, ls)
		am.silencer.Mutes(ctx, ls)
	})
	timeout := func(d time.Duration) time.Duration {
		if d < notify.MinTimeout {
			d = notify.MinTimeout
		}
		return d + wait()
	}
	disp := dispatch.NewDispatcher(am.alerts, routes, pipeline, intervener, timeout, 30*time.Second, nil,
		am.logger.With("component", "dispatcher"), am.recorder, am.dispMet, tmpl)

	// Inhibitor first, loaded before the dispatcher starts, so nothing is
	// sent that an inhibition would have muted.
	go inhibitor.Run()
	inhibitor.WaitForLoading()
	am.inhibitor.Store(inhibitor)
	go disp.Run(am.startTime)
	disp.WaitForLoading()
	am.dispatcher.Store(disp)
	am.config.Store(cfg)
	am.receivers.Store(&receivers)
	return nil
}

// Close stops dispatching and writes final snapshots.
func (am *Alertmanager) Close() error {
	if i := am.inhibitor.Load(); i != nil {
		i.Stop()
	}
	if d := am.dispatcher.Load(); d != nil {
		d.Stop()
	}
	// Stopping the dispatcher cancels the contexts of notifications in
	// flight; wait for them so every attempt reaches the observer before
	// the caller closes the stores behind it.
	if !am.inflight.close(10 * time.Second) {
		am.logger.Warn("notifications still in flight at shutdown")
	}
	am.api.Shutdown()
	close(am.stopMaint)
	<-am.maintDone
	// The final alert snapshot is written before the store closes.
	alertErr := am.alertPersist.Close()
	am.alerts.Close()
	return errors.Join(am.silPersist.Close(), am.nflPersist.Close(), alertErr)
}
