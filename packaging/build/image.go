package build

import (
	"bytes"
	"encoding/json"
	"fmt"
	"io"
	"io/fs"
	"os"
	"path"
	"path/filepath"
	"strings"

	"github.com/google/go-containerregistry/pkg/name"
	v1 "github.com/google/go-containerregistry/pkg/v1"
	"github.com/google/go-containerregistry/pkg/v1/empty"
	"github.com/google/go-containerregistry/pkg/v1/mutate"
	"github.com/google/go-containerregistry/pkg/v1/tarball"
	"github.com/google/go-containerregistry/pkg/v1/types"
)

// Image layout: the same configuration as the packages (readable by the
// non-root user; secrets come from -e variables), data in the /data volume.
const (
	ImageRepository = "smm-appliance"
	ImageUID        = 65532
	ImageDataDir    = "/data"
	imageConfigDir  = ConfigDir
)

// ImageCmd are the default arguments of the image's entrypoint.
var ImageCmd = []string{
	"--config.dir=" + imageConfigDir,
	"--storage.path=" + ImageDataDir,
	"--web.listen-address=:9090",
	"--alertmanager.listen-address=:9093",
}

// ImageEnv turns authentication on from the first start: the image has no
// install step, so the appliance creates /data/web.yml with user admin and a
// random password when it is missing (--web.config.generate) and logs the
// password once; in the volume, the file survives a new container. In the
// environment rather than in ImageCmd so that replacing the arguments (an HA
// pair adds --cluster.* flags) keeps authentication on; -e
// SMM_WEB_CONFIG_FILE=… points at a web config of one's own.
var ImageEnv = []string{
	"SMM_WEB_CONFIG_FILE=" + ImageDataDir + "/web.yml",
	"SMM_WEB_CONFIG_GENERATE=true",
}

const (
	imagePasswd = `root:x:0:0:root:/root:/sbin/nologin
nobody:x:65534:65534:nobody:/nonexistent:/sbin/nologin
nonroot:x:65532:65532:nonroot:/home/nonroot:/sbin/nologin
`
	imageGroup = `root:x:0:
nobody:x:65534:
nonroot:x:65532:
`
)

// image is the built OCI image, ready to be written in either format.
type image struct {
	img v1.Image
	tag name.Tag
}

// imageTree is the image's only layer: the static binary, the configuration,
// CA certificates and zoneinfo from the build machine (TLS to Slack,
// PagerDuty and SMTP; the business-hours time zone), users, /data and /tmp.
// No shell, no package manager.
func imageTree(in *inputs) (tree, error) {
	t := tree{
		rootFile(BinPath, 0o755, in.binary),
		rootFile("/etc/passwd", 0o644, []byte(imagePasswd)),
		rootFile("/etc/group", 0o644, []byte(imageGroup)),
		{path: ImageDataDir, mode: fs.ModeDir | 0o750, owner: "nonroot", group: "nonroot", uid: ImageUID, gid: ImageUID},
		{path: "/home/nonroot", mode: fs.ModeDir | 0o700, owner: "nonroot", group: "nonroot", uid: ImageUID, gid: ImageUID},
		rootDir("/tmp", fs.ModeSticky|0o777),
	}
	certs, err := os.ReadFile(in.opts.CACerts)
	if err != nil {
		return nil, fmt.Errorf("CA certificates (install the ca-certificates package): %w", err)
	}
	t = append(t, rootFile("/etc/ssl/certs/ca-certificates.crt", 0o644, certs))
	zones, err := zoneinfoTree(in.opts.ZoneInfo)
	if err != nil {
		return nil, fmt.Errorf("zoneinfo (install the tzdata package): %w", err)
	}
	t = append(t, zones...)
	t = append(t, rootDir(imageConfigDir, 0o755))
	seen := map[string]bool{}
	for _, c := range in.configs {
		if dir := path.Dir(c.rel); dir != "." && !seen[dir] {
			seen[dir] = true
			t = append(t, rootDir(path.Join(imageConfigDir, dir), 0o755))
		}
		t = append(t, rootFile(path.Join(imageConfigDir, c.rel), 0o644, c.data))
	}
	return t.withParents().sorted(), nil
}

// zoneinfoTree copies the zoneinfo database below dir, keeping relative
// symlinks (aliases) and leaving out absolute ones (localtime).
func zoneinfoTree(dir string) (tree, error) {
	const dst = "/usr/share/zoneinfo"
	var t tree
	err := filepath.WalkDir(dir, func(p string, d fs.DirEntry, err error) error {
		if err != nil {
			return err
		}
		rel, err := filepath.Rel(dir, p)
		if err != nil {
			return err
		}
		target := path.Join(dst, filepath.ToSlash(rel))
		switch {
		case d.IsDir():
			t = append(t, rootDir(target, 0o755))
		case d.Type()&fs.ModeSymlink != 0:
			link, err := os.Readlink(p)
			if err != nil {
				return err
			}
			if !filepath.IsAbs(link) {
				e := rootFile(target, 0o777, nil)
				e.mode |= fs.ModeSymlink
				e.link = link
				t = append(t, e)
			}
		case d.Type().IsRegular():
			data, err := os.ReadFile(p)
			if err != nil {
				return err
			}
			t = append(t, rootFile(target, 0o644, data))
		}
		return nil
	})
	if err != nil {
		return nil, err
	}
	if len(t) < 100 {
		return nil, fmt.Errorf("%s has only %d entries", dir, len(t))
	}
	return t, nil
}

func buildImage(in *inputs) (*image, error) {
	t, err := imageTree(in)
	if err != nil {
		return nil, err
	}
	// The layer is compressed once here (gzip without a timestamp), not by
	// go-containerregistry on every read.
	var layerTar bytes.Buffer
	zw := gzipWriter(&layerTar)
	if err := writeTar(zw, t, in.mtime); err != nil {
		return nil, err
	}
	if err := zw.Close(); err != nil {
		return nil, err
	}
	compressed := layerTar.Bytes()
	layer, err := tarball.LayerFromOpener(func() (io.ReadCloser, error) {
		return io.NopCloser(bytes.NewReader(compressed)), nil
	}, tarball.WithMediaType(types.OCILayer))
	if err != nil {
		return nil, err
	}

	created := v1.Time{Time: in.mtime}
	img := mutate.ConfigMediaType(mutate.MediaType(empty.Image, types.OCIManifestSchema1), types.OCIConfigJSON)
	img, err = mutate.Append(img, mutate.Addendum{
		Layer: layer,
		History: v1.History{
			Created:   created,
			CreatedBy: "smm-package " + in.version.Raw,
			Comment:   "smm-appliance binary, SMM configuration, CA certificates, zoneinfo",
		},
	})
	if err != nil {
		return nil, err
	}
	cf, err := img.ConfigFile()
	if err != nil {
		return nil, err
	}
	cf = cf.DeepCopy()
	cf.Architecture = "amd64"
	cf.OS = "linux"
	cf.Created = created
	cf.Author = in.opts.Maintainer
	cf.Config = v1.Config{
		Entrypoint:   []string{BinPath},
		Cmd:          ImageCmd,
		User:         fmt.Sprintf("%d:%d", ImageUID, ImageUID),
		WorkingDir:   ImageDataDir,
		Env:          append([]string{"PATH=/usr/bin", "SSL_CERT_FILE=/etc/ssl/certs/ca-certificates.crt"}, ImageEnv...),
		ExposedPorts: map[string]struct{}{"9090/tcp": {}, "9093/tcp": {}, "9094/tcp": {}, "9094/udp": {}},
		Volumes:      map[string]struct{}{ImageDataDir: {}},
		Labels:       imageLabels(in),
		StopSignal:   "SIGTERM",
	}
	if img, err = mutate.ConfigFile(img, cf); err != nil {
		return nil, err
	}
	tag, err := name.NewTag(ImageRepository + ":" + in.version.File)
	if err != nil {
		return nil, err
	}
	return &image{img: img, tag: tag}, nil
}

// imageLabels are the org.opencontainers.image.* annotations as labels.
func imageLabels(in *inputs) map[string]string {
	return map[string]string{
		"org.opencontainers.image.title":         Name,
		"org.opencontainers.image.description":   summary,
		"org.opencontainers.image.version":       in.version.Raw,
		"org.opencontainers.image.revision":      in.opts.Revision,
		"org.opencontainers.image.created":       in.mtime.Format("2006-01-02T15:04:05Z"),
		"org.opencontainers.image.source":        homepage,
		"org.opencontainers.image.url":           homepage,
		"org.opencontainers.image.documentation": homepage + "/blob/main/docs/install.md",
		"org.opencontainers.image.vendor":        "SMM Architect",
		"org.opencontainers.image.licenses":      in.opts.License,
		"org.opencontainers.image.authors":       in.opts.Maintainer,
	}
}

// writeDocker writes a docker-archive (docker load, podman load).
func (im *image) writeDocker(_ *inputs, w io.Writer) error {
	return tarball.Write(im.tag, im.img, w)
}

// writeOCI writes an OCI image layout as a tarball (skopeo's oci-archive:,
// podman load, docker load 25+), the manifest annotated with the tag.
func (im *image) writeOCI(in *inputs, w io.Writer) error {
	manifest, err := im.img.RawManifest()
	if err != nil {
		return err
	}
	digest, err := im.img.Digest()
	if err != nil {
		return err
	}
	config, err := im.img.RawConfigFile()
	if err != nil {
		return err
	}
	configDigest, err := im.img.ConfigName()
	if err != nil {
		return err
	}
	index := v1.IndexManifest{
		SchemaVersion: 2,
		MediaType:     types.OCIImageIndex,
		Manifests: []v1.Descriptor{{
			MediaType: types.OCIManifestSchema1,
			Digest:    digest,
			Size:      int64(len(manifest)),
			Annotations: map[string]string{
				"org.opencontainers.image.ref.name": im.tag.TagStr(),
				"io.containerd.image.name":          im.tag.Name(),
			},
			Platform: &v1.Platform{OS: "linux", Architecture: "amd64"},
		}},
	}
	indexJSON, err := json.Marshal(index)
	if err != nil {
		return err
	}
	blob := func(h v1.Hash) string { return path.Join("blobs", h.Algorithm, h.Hex) }
	t := tree{
		rootDir("blobs", 0o755),
		rootDir("blobs/sha256", 0o755),
		rootFile("oci-layout", 0o644, []byte(`{"imageLayoutVersion":"1.0.0"}`)),
		rootFile("index.json", 0o644, indexJSON),
		rootFile(blob(digest), 0o644, manifest),
		rootFile(blob(configDigest), 0o644, config),
	}
	layers, err := im.img.Layers()
	if err != nil {
		return err
	}
	for _, l := range layers {
		h, err := l.Digest()
		if err != nil {
			return err
		}
		rc, err := l.Compressed()
		if err != nil {
			return err
		}
		data, err := io.ReadAll(rc)
		rc.Close()
		if err != nil {
			return err
		}
		t = append(t, rootFile(blob(h), 0o644, data))
	}
	for i := range t {
		t[i].path = strings.TrimPrefix(t[i].path, "/")
	}
	return writeTar(w, t, in.mtime)
}
