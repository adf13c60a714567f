// Command smm-package builds the smm-appliance artefacts into a dist directory:
// the .deb, the .rpm, the OCI image (OCI layout tarball and docker-archive), the
// offline bundle and SHA256SUMS. make packages runs it; see packaging/build.
package main

import (
	"fmt"
	"io"
	"os"

	"github.com/alecthomas/kingpin/v2"

	"github.com/smm-architect/smm-appliance/packaging/build"
)

func main() {
	os.Exit(run(os.Args[1:], os.Stdout, os.Stderr))
}

func run(args []string, stdout, stderr io.Writer) int {
	app := kingpin.New("smm-package", "Build the smm-appliance .deb, .rpm, OCI image, offline bundle and SHA256SUMS.")
	app.HelpFlag.Short('h')
	app.UsageWriter(stdout)
	app.ErrorWriter(stderr)
	app.Terminate(nil)

	opts := build.Options{Log: stdout}
	var docs []string
	var configsOut string
	app.Flag("configs-out", "Only write the configuration directory as the packages install it (target files empty) into this directory, and exit.").
		StringVar(&configsOut)
	app.Flag("binary", "The static smm-appliance binary.").StringVar(&opts.Binary)
	app.Flag("version", "Version as git describe prints it (the Makefile's VERSION).").StringVar(&opts.Version)
	app.Flag("revision", "Commit the binary was built from.").Default("unknown").StringVar(&opts.Revision)
	app.Flag("source-date-epoch", "Seconds since 1970 every file time and build date is set to (the Makefile's SOURCE_DATE_EPOCH).").
		Default("-1").Int64Var(&opts.SourceDateEpoch)
	app.Flag("dist", "Output directory.").Default("dist").StringVar(&opts.Dist)
	app.Flag("doc", "Documentation file to ship, SRC or SRC=NAME; repeatable.").StringsVar(&docs)
	app.Flag("maintainer", "Maintainer field of the packages.").StringVar(&opts.Maintainer)
	app.Flag("license", "License field of the packages and the image.").StringVar(&opts.License)
	app.Flag("ca-certs", "CA bundle copied into the image.").Default("/etc/ssl/certs/ca-certificates.crt").StringVar(&opts.CACerts)
	app.Flag("zoneinfo", "Zoneinfo directory copied into the image.").Default("/usr/share/zoneinfo").StringVar(&opts.ZoneInfo)

	if _, err := app.Parse(args); err != nil {
		fmt.Fprintf(stderr, "smm-package: %s\n", err)
		return 2
	}
	if configsOut != "" {
		if err := build.WriteConfigs(nil, configsOut); err != nil {
			fmt.Fprintf(stderr, "smm-package: %s\n", err)
			return 1
		}
		return 0
	}
	if opts.Binary == "" || opts.Version == "" || opts.SourceDateEpoch < 0 {
		fmt.Fprintln(stderr, "smm-package: --binary, --version and --source-date-epoch are required")
		return 2
	}
	for _, d := range docs {
		opts.Docs = append(opts.Docs, build.ParseDoc(d))
	}
	if _, err := build.Build(opts); err != nil {
		fmt.Fprintf(stderr, "smm-package: %s\n", err)
		return 1
	}
	return 0
}
