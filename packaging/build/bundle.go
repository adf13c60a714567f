package build

import (
	"crypto/sha256"
	"fmt"
	"io"
	"path"
	"sort"
	"strings"
)

// BundleDir is the top directory of the offline bundle for v.
func BundleDir(v Version) string {
	return fmt.Sprintf("%s-%s-linux-amd64", Name, v.File)
}

// bundleTree is the offline bundle, relative to its top directory:
//
//	install.sh                    installs everything below, no network
//	bin/smm-appliance
//	configs/                      the /etc/smm-appliance of the packages
//	systemd/smm-appliance.service
//	default/smm-appliance         the environment file for secrets
//	docs/
//	grafana/                      dashboards for Grafana and its provisioning files
//	SHA256SUMS                    of every other file, checked by install.sh
func bundleTree(in *inputs) (tree, error) {
	install, err := asset("install.sh")
	if err != nil {
		return nil, err
	}
	t := tree{
		rootFile("install.sh", 0o755, install),
		rootFile("bin/smm-appliance", 0o755, in.binary),
		rootFile("systemd/smm-appliance.service", 0o644, in.unit),
		rootFile("default/smm-appliance", 0o644, in.env),
	}
	for _, c := range in.configs {
		t = append(t, rootFile(path.Join("configs", c.rel), 0o644, c.data))
	}
	for _, d := range in.docs {
		t = append(t, rootFile(path.Join("docs", d.rel), 0o644, d.data))
	}
	for _, g := range in.grafana {
		t = append(t, rootFile(path.Join("grafana", g.rel), 0o644, g.data))
	}
	var sums []string
	for _, e := range t {
		sums = append(sums, fmt.Sprintf("%x  %s\n", sha256.Sum256(e.data), e.path))
	}
	sort.Strings(sums)
	t = append(t, rootFile("SHA256SUMS", 0o644, []byte(strings.Join(sums, ""))))

	// Directories, then everything below the top directory.
	top := BundleDir(in.version)
	dirs := map[string]bool{}
	for _, e := range t {
		for d := path.Dir(e.path); d != "."; d = path.Dir(d) {
			dirs[d] = true
		}
	}
	for d := range dirs {
		t = append(t, rootDir(d, 0o755))
	}
	t = append(t, rootDir("", 0o755))
	for i := range t {
		t[i].path = path.Join(top, t[i].path)
	}
	return t.sorted(), nil
}

func writeBundle(in *inputs, w io.Writer) error {
	t, err := bundleTree(in)
	if err != nil {
		return err
	}
	zw := gzipWriter(w)
	if err := writeTar(zw, t, in.mtime); err != nil {
		return err
	}
	return zw.Close()
}
