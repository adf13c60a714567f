package appliance

import (
	"context"
	"errors"
	"fmt"
	"io"
	"log/slog"
	"maps"
	"net/http"
	"os"
	"path/filepath"
	"strings"
	"sync"
	"time"

	"github.com/smm-architect/smm-appliance/appliance/configfiles"
	"github.com/smm-architect/smm-appliance/appliance/versions"
	"github.com/smm-architect/smm-appliance/web"
	"github.com/smm-architect/smm-appliance/web/audit"
	"github.com/smm-architect/smm-appliance/web/auth"
)

// versionsDir is the configuration versions' folder of the data directory.
const versionsDir = "config-versions"

// configVersions records every configuration applied as a version and
// deploys bundles and rollbacks through the one reload path.
//
// Where the configuration comes from: until the first deploy, the files of
// --config.dir over the embedded defaults, as always. A deploy (or a
// rollback) stores its configuration directory as data/config-versions/<n>/dir
// and reloads with that directory in place of --config.dir; it stays in
// force across restarts (active.json) and SIGHUP re-reads it, not
// --config.dir, whose files are then not read at all. To go back to the
// files on disk, deploy them (`smm-appliance deploy`), which makes them a
// version like any other.
type configVersions struct {
	a      *Appliance
	store  *versions.Store
	logger *slog.Logger
	// readyTimeout is how long a deploy waits for readiness after its
	// reload before rolling back.
	readyTimeout time.Duration
	// ready names the parts not ready (Appliance.notReady; tests stub it).
	ready func() []string

	mtx sync.Mutex // one deploy, rollback or recorded reload at a time
}

// openVersions opens the store and returns the directory to use in place
// of --config.dir (the deployed version in force), or "" for --config.dir.
func openVersions(a *Appliance, dataDir string) (*configVersions, string, error) {
	st, err := versions.Open(filepath.Join(dataDir, versionsDir))
	if err != nil {
		return nil, "", fmt.Errorf("open configuration versions: %w", err)
	}
	v := &configVersions{a: a, store: st, logger: a.logger.With("component", "versions"), readyTimeout: 15 * time.Second, ready: a.notReady}
	act, ok := st.Active()
	if !ok || !act.Deployed {
		return v, "", nil
	}
	dir := st.Dir(act.Version)
	if _, err := os.Stat(dir); err != nil {
		v.logger.Error("deployed configuration version missing; using --config.dir", "version", act.Version, "err", err)
		return v, "", nil
	}
	v.logger.Info("a deployed configuration version is in force; the files of --config.dir are not read until they are deployed", "version", act.Version, "dir", dir)
	return v, dir, nil
}

// stripNotice removes the notice Materialize puts at the top of each
// embedded file: it is not configuration, and would show in every diff of
// a file the operator overrides.
func stripNotice(name, c string) string {
	if strings.HasSuffix(name, ".tmpl") {
		return strings.TrimPrefix(c, "{{/* "+configfiles.EmbeddedNotice+" */}}")
	}
	return strings.TrimPrefix(c, "# "+configfiles.EmbeddedNotice+"\n")
}

func (v *configVersions) snapshot(operatorDir string) (map[string]string, string, error) {
	return versions.Snapshot(v.a.reloads.Sources().EmbeddedDir, operatorDir, stripNotice)
}

// record stores the configuration in force as a new version if it is not
// the version in force already. Called after a reload succeeded, with mtx
// held (or before any deploy can run, at start).
func (v *configVersions) record(by, source string) {
	src := v.a.reloads.Sources()
	content, emb, err := v.snapshot(src.Dir)
	if err != nil {
		v.logger.Error("record configuration version", "err", err)
		return
	}
	act, ok := v.store.Active()
	if ok && maps.Equal(act.Files, versions.Digests(content)) {
		return
	}
	if source == versions.SourceStart && ok && act.EmbeddedDigest != emb {
		source, by = versions.SourceUpgrade, "package"
	}
	// The operator's layer is kept with the version: a rollback restores it.
	stage, err := v.store.Stage()
	if err == nil {
		err = versions.CopyDir(src.Dir, stage)
	}
	if err != nil {
		os.RemoveAll(stage)
		v.logger.Error("record configuration version", "err", err)
		return
	}
	nv, err := v.store.Add(versions.Version{
		Time: time.Now().UTC(), Author: by, Source: source, Result: versions.ResultApplied,
		Deployed: ok && act.Deployed && src.Dir != v.a.opts.ConfigDir, EmbeddedDigest: emb,
	}, content, stage)
	if err == nil {
		err = v.store.SetActive(nv.Version)
	}
	if err != nil {
		os.RemoveAll(stage)
		v.logger.Error("record configuration version", "err", err)
		return
	}
	v.logger.Info("configuration version recorded", "version", nv.Version, "how", source, "by", by)
	v.a.writeAudit(audit.Entry{Event: "config_version", User: by, Result: source, ID: fmt.Sprintf("version %d", nv.Version)})
}

// reload is the SIGHUP and /-/reload path: the one reload, then a version
// if the files changed.
func (v *configVersions) reload(by string) error {
	v.mtx.Lock()
	defer v.mtx.Unlock()
	if dir := v.a.reloads.Sources().Dir; dir != v.a.opts.ConfigDir {
		// An operator who edited --config.dir and sent SIGHUP must learn
		// why nothing changed.
		act, _ := v.store.Active()
		v.logger.Warn("reloading the deployed configuration version; the files of --config.dir are not read while a deployed version is in force (deploy them to apply them)",
			"version", act.Version, "dir", dir, "config_dir", v.a.opts.ConfigDir)
	}
	if err := v.a.reloads.Reload(by); err != nil {
		return err
	}
	v.record(by, versions.SourceReload)
	return nil
}

// DeployResult is the answer to a deploy, dry run or rollback.
type DeployResult struct {
	// Result is valid (dry run), applied, rolled_back, invalid (refused by
	// validation) or refused (an unsafe bundle).
	Result string `json:"result"`
	// Version is the version stored (applied or rolled back).
	Version int `json:"version,omitempty"`
	// InForce is the version in force after the request.
	InForce int    `json:"inForce,omitempty"`
	Error   string `json:"error,omitempty"`
	File    string `json:"file,omitempty"`
	Line    int    `json:"line,omitempty"`
	// Diff is the unified diff against the configuration in force before.
	Diff string `json:"diff,omitempty"`
}

func (v *configVersions) inForce() int {
	act, _ := v.store.Active()
	return act.Version
}

// failure describes err with the file and line it names, the directory
// paths made relative to the bundle (<embedded>/ for the defaults).
func (v *configVersions) failure(result string, err error, dirs ...string) (int, DeployResult) {
	re := newReloadError(err, time.Now())
	emb := v.a.reloads.Sources().EmbeddedDir
	rel := func(s string) string {
		for _, d := range dirs {
			s = strings.ReplaceAll(s, d+string(filepath.Separator), "")
		}
		return strings.ReplaceAll(s, emb+string(filepath.Separator), "<embedded>/")
	}
	code := http.StatusUnprocessableEntity
	if result == versions.ResultRolledBack {
		code = http.StatusInternalServerError
	}
	return code, DeployResult{Result: result, Error: rel(re.Message), File: rel(re.File), Line: re.Line, InForce: v.inForce()}
}

// Deploy validates the bundle in body as a reload would and, unless
// dryRun, applies it as a new version, rolling back if the reload fails or
// readiness does not return.
func (v *configVersions) Deploy(ctx context.Context, by string, body io.Reader, dryRun bool) (int, DeployResult) {
	if code, res, ok := v.started(); !ok {
		return code, res
	}
	v.mtx.Lock()
	defer v.mtx.Unlock()
	stage, err := v.store.Stage()
	if err != nil {
		return http.StatusInternalServerError, DeployResult{Result: "error", Error: err.Error()}
	}
	defer os.RemoveAll(stage) // moved into the store when applied
	if err := versions.Extract(body, stage); err != nil {
		var be *versions.BundleError
		var tooBig *http.MaxBytesError
		switch {
		case errors.As(err, &tooBig):
			return http.StatusRequestEntityTooLarge, DeployResult{Result: "refused", Error: fmt.Sprintf("bundle refused: larger than %d bytes", versions.MaxBundleBytes), InForce: v.inForce()}
		case errors.As(err, &be):
			return http.StatusBadRequest, DeployResult{Result: "refused", Error: err.Error(), InForce: v.inForce()}
		}
		return http.StatusBadRequest, DeployResult{Result: "refused", Error: "bundle refused: " + err.Error(), InForce: v.inForce()}
	}
	return v.validateAndApply(by, stage, versions.SourceDeploy, 0, dryRun)
}

// started refuses a deploy before the first configuration is applied (the
// TSDB may still replay its WAL) or while the appliance stops, as a reload
// would wait or fail then.
func (v *configVersions) started() (int, DeployResult, bool) {
	select {
	case <-v.a.stopping:
		return http.StatusServiceUnavailable, DeployResult{Result: "error", Error: ErrStopping.Error()}, false
	case <-v.a.configLoaded:
		return 0, DeployResult{}, true
	default:
		return http.StatusServiceUnavailable, DeployResult{Result: "error", Error: "the appliance is starting: retry once /-/ready answers 200"}, false
	}
}

// Rollback applies the configuration of version n again, as a new version.
func (v *configVersions) Rollback(by string, n int) (int, DeployResult) {
	if code, res, ok := v.started(); !ok {
		return code, res
	}
	v.mtx.Lock()
	defer v.mtx.Unlock()
	if _, err := v.store.Get(n); err != nil {
		return http.StatusNotFound, DeployResult{Result: "error", Error: err.Error(), InForce: v.inForce()}
	}
	stage, err := v.store.Stage()
	if err == nil {
		err = versions.CopyDir(v.store.Dir(n), stage)
	}
	defer os.RemoveAll(stage)
	if err != nil {
		return http.StatusInternalServerError, DeployResult{Result: "error", Error: err.Error()}
	}
	return v.validateAndApply(by, stage, versions.SourceRollback, n, false)
}

func (v *configVersions) validateAndApply(by, stage, source string, rollbackOf int, dryRun bool) (int, DeployResult) {
	event := "config_deploy"
	if source == versions.SourceRollback {
		event = "config_rollback"
	}
	if _, err := v.a.reloads.LoadFrom(stage); err != nil {
		code, res := v.failure("invalid", err, stage)
		if !dryRun {
			v.a.writeAudit(audit.Entry{Event: event, User: by, Result: "invalid", Error: res.Error})
		}
		return code, res
	}
	content, emb, err := v.snapshot(stage)
	if err != nil {
		return http.StatusInternalServerError, DeployResult{Result: "error", Error: err.Error()}
	}
	before, err := v.store.Content(v.inForce())
	if err != nil {
		before = map[string]string{}
	}
	diff := versions.Diff(before, content)
	if dryRun {
		return http.StatusOK, DeployResult{Result: "valid", InForce: v.inForce(), Diff: diff}
	}
	prevDir := v.a.reloads.Sources().Dir
	nv, err := v.store.Add(versions.Version{
		Time: time.Now().UTC(), Author: by, Source: source, Result: versions.ResultRolledBack,
		Deployed: true, EmbeddedDigest: emb, RollbackOf: rollbackOf,
	}, content, stage)
	if err != nil {
		return http.StatusInternalServerError, DeployResult{Result: "error", Error: err.Error()}
	}
	id := fmt.Sprintf("version %d", nv.Version)
	err = v.a.reloads.ReloadFrom(by, v.store.Dir(nv.Version))
	if err == nil {
		if err = v.waitReady(); err != nil {
			// Applied but not ready: back to the previous directory, by
			// the same path.
			if rerr := v.a.reloads.ReloadFrom(by+" (automatic rollback)", prevDir); rerr != nil {
				v.logger.Error("automatic rollback failed", "version", nv.Version, "err", rerr)
			}
		}
	}
	if err != nil {
		_ = v.store.SetResult(nv.Version, versions.ResultRolledBack, err.Error())
		code, res := v.failure(versions.ResultRolledBack, err, v.store.Dir(nv.Version))
		res.Version = nv.Version
		v.logger.Error("configuration "+source+" rolled back", "version", nv.Version, "by", by, "err", err)
		v.a.writeAudit(audit.Entry{Event: event, User: by, Result: versions.ResultRolledBack, Error: res.Error, ID: id})
		return code, res
	}
	if err := v.store.SetResult(nv.Version, versions.ResultApplied, ""); err != nil {
		v.logger.Error("record configuration version", "err", err)
	}
	if err := v.store.SetActive(nv.Version); err != nil {
		// In force now, but the next start would use the previous one.
		v.logger.Error("record the configuration version in force", "version", nv.Version, "err", err)
	}
	v.logger.Info("configuration "+source+" applied", "version", nv.Version, "by", by)
	v.a.writeAudit(audit.Entry{Event: event, User: by, Result: versions.ResultApplied, ID: id})
	return http.StatusOK, DeployResult{Result: versions.ResultApplied, Version: nv.Version, InForce: nv.Version, Diff: diff}
}

// waitReady waits for every part to be ready again after a reload.
func (v *configVersions) waitReady() error {
	deadline := time.Now().Add(v.readyTimeout)
	for {
		parts := v.ready()
		if len(parts) == 0 {
			return nil
		}
		if time.Now().After(deadline) {
			return fmt.Errorf("not ready %s after the reload: waiting for %v", v.readyTimeout, parts)
		}
		time.Sleep(50 * time.Millisecond)
	}
}

// VersionDetail is a version with its diff.
type VersionDetail struct {
	versions.Version
	Diff string `json:"diff"`
}

// List returns the versions, newest first.
func (v *configVersions) List() []versions.Version { return v.store.List() }

// Get returns version n with its diff.
func (v *configVersions) Get(n int) (VersionDetail, error) {
	ver, err := v.store.Get(n)
	if err != nil {
		return VersionDetail{}, err
	}
	d, err := v.store.DiffOf(n)
	return VersionDetail{Version: ver, Diff: d}, err
}

// configAPI wires the web layer's deploy, versions and tokens API to the
// versions and the token store.
func (a *Appliance) configAPI(tokens *auth.TokenStore) *web.ConfigAPI {
	v := a.versions
	return &web.ConfigAPI{
		Deploy: func(ctx context.Context, by string, body io.Reader, dryRun bool) (int, any) {
			return v.Deploy(ctx, by, body, dryRun)
		},
		Rollback:  func(by string, n int) (int, any) { return v.Rollback(by, n) },
		Versions:  func() any { return v.List() },
		Version:   func(n int) (any, error) { return v.Get(n) },
		NotFound:  versions.ErrNotFound,
		Tokens:    tokens,
		MaxBundle: versions.MaxBundleBytes,
	}
}
