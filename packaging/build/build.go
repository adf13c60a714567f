// Package build turns the static smm-appliance binary and the SMM configuration
// into the artefacts an operator installs: a .deb and an .rpm (nfpm), an OCI
// image as an OCI layout tarball and a docker-archive (go-containerregistry, no
// daemon), an offline bundle with install.sh, and SHA256SUMS over them.
//
// Every byte of the output depends on the inputs and Options.SourceDateEpoch
// only: file times, build times and image creation dates come from it, entries
// are sorted, owners are written by name and number without host lookups and
// compressed streams carry no timestamps. Two builds of the same commit are
// identical.
package build

import (
	"bytes"
	"crypto/sha256"
	"debug/elf"
	"encoding/hex"
	"errors"
	"fmt"
	"io"
	"io/fs"
	"os"
	"path/filepath"
	"sort"
	"strings"
	"time"

	"github.com/smm-architect/smm-appliance/configs"
)

// Options are the inputs of one build.
type Options struct {
	// Binary is the static smm-appliance binary (make build).
	Binary string
	// Version as the Makefile computes it; see Version.
	Version string
	// Revision is the commit, for the image's revision label.
	Revision string
	// SourceDateEpoch is the time every file and build date is set to.
	SourceDateEpoch int64
	// Dist is the output directory; created if missing.
	Dist string
	// Docs are shipped in /usr/share/doc/smm-appliance and the bundle's docs/.
	Docs []Doc
	// Configs is the configuration to ship; nil means the SMM defaults that the
	// binary embeds (configs.FS).
	Configs fs.FS
	// CACerts and ZoneInfo are copied into the image from the build machine.
	// Empty means /etc/ssl/certs/ca-certificates.crt and /usr/share/zoneinfo.
	CACerts  string
	ZoneInfo string
	// Maintainer and License go into the package metadata.
	Maintainer string
	License    string
	// Log receives one line per artefact; nil discards.
	Log io.Writer
}

// Doc is a documentation file: Src on the build machine, Name in the packages.
type Doc struct {
	Src, Name string
}

// ParseDoc parses "SRC" or "SRC=NAME".
func ParseDoc(s string) Doc {
	if src, name, ok := strings.Cut(s, "="); ok {
		return Doc{Src: src, Name: name}
	}
	return Doc{Src: s, Name: filepath.Base(s)}
}

// Artefacts are the file names of one build's output, relative to Dist.
type Artefacts struct {
	Deb, RPM, OCI, Docker, Bundle string
}

// Names returns the artefact names for v.
func Names(v Version) Artefacts {
	return Artefacts{
		Deb:    fmt.Sprintf("%s_%s_amd64.deb", Name, v.Package),
		RPM:    fmt.Sprintf("%s-%s.x86_64.rpm", Name, v.Package),
		OCI:    fmt.Sprintf("%s-%s-linux-amd64.oci.tar", Name, v.File),
		Docker: fmt.Sprintf("%s-%s-linux-amd64.docker.tar", Name, v.File),
		Bundle: fmt.Sprintf("%s-%s-linux-amd64.tar.gz", Name, v.File),
	}
}

// List returns the names in the order they are built.
func (a Artefacts) List() []string {
	return []string{a.Deb, a.RPM, a.OCI, a.Docker, a.Bundle}
}

// inputs are the Options read into memory.
type inputs struct {
	opts    Options
	version Version
	mtime   time.Time
	binary  []byte
	configs []configFile
	docs    []configFile
	grafana []configFile // relative to GrafanaDir
	unit    []byte
	env     []byte
}

// Build writes the artefacts and SHA256SUMS into opts.Dist.
func Build(opts Options) (Artefacts, error) {
	in, err := load(opts)
	if err != nil {
		return Artefacts{}, err
	}
	names := Names(in.version)
	if err := os.MkdirAll(opts.Dist, 0o755); err != nil {
		return Artefacts{}, err
	}
	img, err := buildImage(in)
	if err != nil {
		return Artefacts{}, err
	}
	steps := []struct {
		name  string
		write func(*inputs, io.Writer) error
	}{
		{names.Deb, writeDeb},
		{names.RPM, writeRPM},
		{names.OCI, img.writeOCI},
		{names.Docker, img.writeDocker},
		{names.Bundle, writeBundle},
	}
	for _, s := range steps {
		if err := writeAtomic(filepath.Join(opts.Dist, s.name), func(w io.Writer) error { return s.write(in, w) }); err != nil {
			return Artefacts{}, fmt.Errorf("%s: %w", s.name, err)
		}
		in.logf("wrote %s", filepath.Join(opts.Dist, s.name))
	}
	if err := writeChecksums(opts.Dist, names.List()); err != nil {
		return Artefacts{}, err
	}
	in.logf("wrote %s", filepath.Join(opts.Dist, "SHA256SUMS"))
	return names, nil
}

func load(opts Options) (*inputs, error) {
	if opts.Binary == "" || opts.Dist == "" {
		return nil, errors.New("binary and dist are required")
	}
	in := &inputs{opts: opts, mtime: EpochTime(opts.SourceDateEpoch)}
	v, err := ParseVersion(opts.Version, in.mtime)
	if err != nil {
		return nil, err
	}
	in.version = v
	if in.binary, err = os.ReadFile(opts.Binary); err != nil {
		return nil, fmt.Errorf("binary: %w", err)
	}
	if err := checkStatic(in.binary); err != nil {
		return nil, fmt.Errorf("binary %s: %w", opts.Binary, err)
	}
	cfgFS := opts.Configs
	if cfgFS == nil {
		cfgFS = configs.FS
	}
	if in.configs, err = packageConfigs(cfgFS); err != nil {
		return nil, err
	}
	if in.grafana, err = grafanaFiles(cfgFS); err != nil {
		return nil, err
	}
	for _, d := range opts.Docs {
		data, err := os.ReadFile(d.Src)
		if err != nil {
			return nil, fmt.Errorf("doc: %w", err)
		}
		in.docs = append(in.docs, configFile{rel: d.Name, data: data})
	}
	sort.Slice(in.docs, func(i, j int) bool { return in.docs[i].rel < in.docs[j].rel })
	if in.unit, err = asset("smm-appliance.service"); err != nil {
		return nil, err
	}
	if in.env, err = asset("smm-appliance.env"); err != nil {
		return nil, err
	}
	if in.opts.CACerts == "" {
		in.opts.CACerts = "/etc/ssl/certs/ca-certificates.crt"
	}
	if in.opts.ZoneInfo == "" {
		in.opts.ZoneInfo = "/usr/share/zoneinfo"
	}
	if in.opts.Maintainer == "" {
		in.opts.Maintainer = "SMM Architect <platform@smm-architect.com>"
	}
	if in.opts.License == "" {
		in.opts.License = "Proprietary"
	}
	return in, nil
}

func (in *inputs) logf(format string, args ...any) {
	if in.opts.Log != nil {
		fmt.Fprintf(in.opts.Log, format+"\n", args...)
	}
}

// writeAtomic writes a file through a temporary name, so that a failed build
// leaves no half artefact behind.
func writeAtomic(name string, write func(io.Writer) error) error {
	f, err := os.CreateTemp(filepath.Dir(name), ".tmp-"+filepath.Base(name)+"-*")
	if err != nil {
		return err
	}
	defer os.Remove(f.Name())
	if err := write(f); err != nil {
		f.Close()
		return err
	}
	if err := f.Chmod(0o644); err != nil {
		f.Close()
		return err
	}
	if err := f.Close(); err != nil {
		return err
	}
	return os.Rename(f.Name(), name)
}

// writeChecksums writes SHA256SUMS in dist for names, in sha256sum's format.
func writeChecksums(dist string, names []string) error {
	sorted := append([]string(nil), names...)
	sort.Strings(sorted)
	var b strings.Builder
	for _, n := range sorted {
		sum, err := fileSHA256(filepath.Join(dist, n))
		if err != nil {
			return err
		}
		fmt.Fprintf(&b, "%s  %s\n", sum, n)
	}
	return writeAtomic(filepath.Join(dist, "SHA256SUMS"), func(w io.Writer) error {
		_, err := io.WriteString(w, b.String())
		return err
	})
}

func fileSHA256(name string) (string, error) {
	f, err := os.Open(name)
	if err != nil {
		return "", err
	}
	defer f.Close()
	h := sha256.New()
	if _, err := io.Copy(h, f); err != nil {
		return "", err
	}
	return hex.EncodeToString(h.Sum(nil)), nil
}

// checkStatic makes sure the binary needs no dynamic loader or library: the
// image has none, and the packages declare no libc dependency.
func checkStatic(binary []byte) error {
	f, err := elf.NewFile(bytes.NewReader(binary))
	if err != nil {
		return fmt.Errorf("not an ELF executable: %w", err)
	}
	defer f.Close()
	if f.Machine != elf.EM_X86_64 {
		return fmt.Errorf("built for %s, the packages are amd64", f.Machine)
	}
	for _, p := range f.Progs {
		if p.Type == elf.PT_INTERP {
			return errors.New("dynamically linked; build it with CGO_ENABLED=0 (make build)")
		}
	}
	return nil
}
