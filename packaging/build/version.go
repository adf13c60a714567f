package build

import (
	"fmt"
	"regexp"
	"strings"
	"time"
)

// Version is the version of one build in the forms the artefacts need.
type Version struct {
	// Raw is the version as the Makefile computes it (git describe --tags
	// --always --dirty): v1.2.3, v1.2.3-4-gabcdef0-dirty, abcdef0, 0.1.0-dev.
	// The binary reports it; the image's version label carries it.
	Raw string
	// Package is Raw as a Debian and RPM version: it starts with a digit and
	// sorts correctly in dpkg and rpmvercmp. Pre-releases sort before their
	// release (~), commits after a tag after it (+):
	//   v1.2.3                   1.2.3
	//   v1.2.3-rc.1              1.2.3~rc.1
	//   v1.2.3-4-gabcdef0-dirty  1.2.3+4.gabcdef0.dirty
	//   abcdef0 (no tag yet)     0.0.0~git20250102030405.abcdef0 (build date)
	//   0.1.0-dev                0.1.0~dev
	//   1.2.3+hotfix.1           1.2.3+hotfix.1 (a package version is kept)
	Package string
	// File is Raw without a leading v, safe as a file name and an image tag:
	// 1.2.3-4-gabcdef0-dirty.
	File string
}

var (
	// Tag, optional pre-release, optional "-<commits>-g<hash>" from git
	// describe. The pre-release group prefers not to match (??), so that
	// "-3-gabcdef0" is read as commits and hash, not as a pre-release.
	describeRE = regexp.MustCompile(`^(\d+(?:\.\d+)*)(?:-([0-9A-Za-z.-]+?))??(?:-(\d+)-g([0-9a-f]{4,40}))?$`)
	hashRE     = regexp.MustCompile(`^[0-9a-f]{4,40}$`)
	packageRE  = regexp.MustCompile(`^[0-9][0-9A-Za-z.+~]*$`)
	fileRE     = regexp.MustCompile(`[^A-Za-z0-9_.-]+`)
)

// ParseVersion derives the package and file forms of raw. date (the build's
// SOURCE_DATE_EPOCH) orders untagged builds.
func ParseVersion(raw string, date time.Time) (Version, error) {
	raw = strings.TrimSpace(raw)
	s := raw
	if len(s) > 1 && s[0] == 'v' && s[1] >= '0' && s[1] <= '9' {
		s = s[1:]
	}
	dirty := strings.HasSuffix(s, "-dirty")
	s = strings.TrimSuffix(s, "-dirty")

	var pkg string
	switch m := describeRE.FindStringSubmatch(s); {
	case m != nil:
		pkg = m[1]
		if m[2] != "" {
			pkg += "~" + strings.ReplaceAll(m[2], "-", ".")
		}
		var post []string
		if m[3] != "" {
			post = append(post, m[3], "g"+m[4])
		}
		if dirty {
			post = append(post, "dirty")
		}
		if len(post) > 0 {
			pkg += "+" + strings.Join(post, ".")
		}
	case strings.ContainsAny(s, "~+") && packageRE.MatchString(s):
		// Already a package version (1.2.3+hotfix.1, 1.2.3~rc1).
		pkg = s
		if dirty {
			pkg += ".dirty"
		}
	case hashRE.MatchString(s):
		pkg = "0.0.0~git" + date.UTC().Format("20060102150405") + "." + s
		if dirty {
			pkg += ".dirty"
		}
	default:
		return Version{}, fmt.Errorf("version %q: not a tag (1.2.3, v1.2.3-rc.1), git describe output, commit hash or deb/rpm version", raw)
	}
	if !packageRE.MatchString(pkg) {
		return Version{}, fmt.Errorf("version %q: package version %q has characters deb or rpm do not allow", raw, pkg)
	}
	file := strings.Trim(fileRE.ReplaceAllString(raw, "-"), ".-")
	if len(file) > 1 && file[0] == 'v' && file[1] >= '0' && file[1] <= '9' {
		file = file[1:]
	}
	if len(file) > 128 {
		file = file[:128]
	}
	return Version{Raw: raw, Package: pkg, File: file}, nil
}

// EpochTime is a SOURCE_DATE_EPOCH value as a time.
func EpochTime(epoch int64) time.Time {
	return time.Unix(epoch, 0).UTC()
}
