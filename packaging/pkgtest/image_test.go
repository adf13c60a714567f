package pkgtest

import (
	"encoding/json"
	"io/fs"
	"os"
	"os/exec"
	"path/filepath"
	"regexp"
	"strings"
	"testing"

	"github.com/stretchr/testify/require"

	"github.com/smm-architect/smm-appliance/packaging/build"
)

type imageConfig struct {
	Architecture string `json:"architecture"`
	OS           string `json:"os"`
	Config       struct {
		User         string              `json:"User"`
		ExposedPorts map[string]struct{} `json:"ExposedPorts"`
		Env          []string            `json:"Env"`
		Entrypoint   []string            `json:"Entrypoint"`
		Cmd          []string            `json:"Cmd"`
		Volumes      map[string]struct{} `json:"Volumes"`
		WorkingDir   string              `json:"WorkingDir"`
		Labels       map[string]string   `json:"Labels"`
	} `json:"config"`
}

// TestImage inspects the image with skopeo in both formats, loads it with
// podman when installed, unpacks it with umoci and runs the entrypoint
// chrooted into the rootfs as uid 65532: the first start creates the web
// config with a random admin password, a second one keeps it.
func TestImage(t *testing.T) {
	ociTar := theDist.path(theDist.artefacts.OCI)
	dockerTar := theDist.path(theDist.artefacts.Docker)

	var cfg imageConfig
	require.NoError(t, json.Unmarshal([]byte(run(t, "skopeo", "inspect", "--config", "oci-archive:"+ociTar)), &cfg))
	require.Equal(t, "amd64", cfg.Architecture)
	require.Equal(t, "linux", cfg.OS)
	require.Equal(t, []string{"/usr/bin/smm-appliance"}, cfg.Config.Entrypoint)
	require.Equal(t, build.ImageCmd, cfg.Config.Cmd)
	for _, e := range build.ImageEnv {
		require.Contains(t, cfg.Config.Env, e, "authentication from the first start")
	}
	require.Equal(t, "65532:65532", cfg.Config.User)
	require.Equal(t, "/data", cfg.Config.WorkingDir)
	require.Contains(t, cfg.Config.Volumes, "/data")
	for _, p := range []string{"9090/tcp", "9093/tcp", "9094/tcp", "9094/udp"} {
		require.Contains(t, cfg.Config.ExposedPorts, p)
	}
	labels := cfg.Config.Labels
	require.Equal(t, theDist.version.Raw, labels["org.opencontainers.image.version"])
	require.Equal(t, theDist.opts.Revision, labels["org.opencontainers.image.revision"])
	for _, l := range []string{"title", "description", "created", "source", "licenses", "vendor"} {
		require.NotEmpty(t, labels["org.opencontainers.image."+l], "label %s", l)
	}

	// The docker-archive holds the same image.
	var dockerCfg imageConfig
	require.NoError(t, json.Unmarshal([]byte(run(t, "skopeo", "inspect", "--config", "docker-archive:"+dockerTar)), &dockerCfg))
	require.Equal(t, cfg, dockerCfg)

	// Compressed size: the layer blobs plus config and manifest as pushed.
	var manifest struct {
		Config struct{ Size int64 }   `json:"config"`
		Layers []struct{ Size int64 } `json:"layers"`
	}
	require.NoError(t, json.Unmarshal([]byte(run(t, "skopeo", "inspect", "--raw", "oci-archive:"+ociTar)), &manifest))
	size := manifest.Config.Size
	for _, l := range manifest.Layers {
		size += l.Size
	}
	t.Logf("image: %d layer(s), %.1f MB compressed", len(manifest.Layers), float64(size)/1e6)
	require.Less(t, size, int64(60<<20), "compressed image size")

	if _, err := exec.LookPath("podman"); err == nil {
		podmanLoad(t, dockerTar, "localhost/smm-appliance:"+theDist.version.File)
		podmanLoad(t, ociTar, "docker.io/library/smm-appliance:"+theDist.version.File)
	} else {
		t.Log("podman not installed: load not tried")
	}

	// umoci unpack, then the entrypoint in the rootfs as the image's user.
	dir := t.TempDir()
	layout := filepath.Join(dir, "layout")
	require.NoError(t, os.Mkdir(layout, 0o755))
	run(t, "tar", "-xf", ociTar, "-C", layout)
	bundle := filepath.Join(dir, "bundle")
	run(t, "umoci", "unpack", "--image", layout+":"+theDist.version.File, bundle)
	rootfs := filepath.Join(bundle, "rootfs")

	// No shell, no busybox: nothing to exec into.
	require.NoError(t, filepath.WalkDir(rootfs, func(p string, d fs.DirEntry, err error) error {
		if err != nil {
			return err
		}
		switch d.Name() {
		case "sh", "bash", "dash", "ash", "busybox", "zsh":
			t.Errorf("shell in the image: %s", strings.TrimPrefix(p, rootfs))
		}
		return nil
	}))
	require.False(t, exists(filepath.Join(rootfs, "bin/sh")))
	require.Contains(t, string(mustRead(t, filepath.Join(rootfs, "etc/passwd"))), "nonroot:x:65532:65532:")
	checkMode(t, rootfs, "/data", fs.ModeDir|0o750, 65532, 65532)
	checkMode(t, rootfs, "/etc/ssl/certs/ca-certificates.crt", 0o644, 0, 0)
	require.True(t, exists(filepath.Join(rootfs, "usr/share/zoneinfo/Europe/Berlin")))

	// The image's Cmd with the listeners on free ports; SMM_TIMEZONE makes
	// the business-hours interval load Europe/Berlin from the image's zoneinfo.
	web, am, _ := listenOpts(t)
	var argv []string
	argv = append(argv, cfg.Config.Entrypoint...)
	for _, a := range cfg.Config.Cmd {
		switch {
		case strings.HasPrefix(a, "--web.listen-address="):
			a = "--web.listen-address=" + web
		case strings.HasPrefix(a, "--alertmanager.listen-address="):
			a = "--alertmanager.listen-address=" + am
		}
		argv = append(argv, a)
	}
	env := map[string]string{"SMM_ENVIRONMENT": "pkgtest-image", "SMM_TIMEZONE": "Europe/Berlin"}
	for _, kv := range cfg.Config.Env {
		k, v, _ := strings.Cut(kv, "=")
		env[k] = v
	}
	require.False(t, exists(filepath.Join(rootfs, "data/web.yml")), "no web config in the image itself")
	r := startInRoot(t, rootfs, 65532, 65532, env, web, am, argv...)
	// The first start created the web config in the volume and logged the
	// password once.
	m := loggedPassword.FindStringSubmatch(r.logs.String())
	require.NotNil(t, m, "first start logs the generated password\n%s", tail(r.logs.String(), 30))
	password := m[1]
	checkMode(t, rootfs, "/data/web.yml", 0o640, 65532, 65532)
	checkMode(t, rootfs, "/data/initial-admin-password", 0o600, 65532, 65532)
	require.Equal(t, password+"\n", string(mustRead(t, filepath.Join(rootfs, "data/initial-admin-password"))))
	checkRunning(t, r, "pkgtest-image", password)
	r.stop(t)
	require.True(t, exists(filepath.Join(rootfs, "data/tsdb")), "data in the /data volume")

	// A new container on the same volume: the web config is kept and no
	// password is logged.
	webConfig := mustRead(t, filepath.Join(rootfs, "data/web.yml"))
	r = startInRoot(t, rootfs, 65532, 65532, env, web, am, argv...)
	require.NotRegexp(t, loggedPassword, r.logs.String(), "the password is logged only on the first start")
	require.Equal(t, string(webConfig), string(mustRead(t, filepath.Join(rootfs, "data/web.yml"))))
	checkAuth(t, r, password)
	r.stop(t)
}

// loggedPassword finds the password the image's first start logs.
var loggedPassword = regexp.MustCompile(`\bpassword=(\S+)`)

// podmanLoad loads an archive into a throwaway podman store (vfs, no daemon)
// and checks the image name and user.
func podmanLoad(t *testing.T, archive, wantName string) {
	t.Helper()
	dir := t.TempDir()
	policy := filepath.Join(dir, "policy.json")
	require.NoError(t, os.WriteFile(policy, []byte(`{"default":[{"type":"insecureAcceptAnything"}]}`), 0o644))
	podman := func(args ...string) string {
		return run(t, "podman", append([]string{"--root", filepath.Join(dir, "root"), "--runroot", filepath.Join(dir, "run"),
			"--storage-driver", "vfs", "--events-backend", "none", "--cgroup-manager", "cgroupfs"}, args...)...)
	}
	out := podman("load", "--signature-policy", policy, "-i", archive)
	require.Contains(t, out, "Loaded image: "+wantName)
	require.Equal(t, "65532:65532", strings.TrimSpace(podman("image", "inspect", "--format", "{{.Config.User}}", wantName)))
	// vfs layers are plain directories owned by the image's users.
	t.Cleanup(func() { _ = os.RemoveAll(dir) })
}

func mustRead(t *testing.T, p string) []byte {
	t.Helper()
	b, err := os.ReadFile(p)
	require.NoError(t, err)
	return b
}
