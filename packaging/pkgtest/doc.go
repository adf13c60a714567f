// Package pkgtest installs, starts, upgrades and removes the artefacts of
// make packages with the real tools: dpkg and rpm into scratch roots, skopeo
// and umoci on the image, the bundle's install.sh into an empty root without
// network. It only has tests; make test-packages runs them with
// SMM_PACKAGES_DIST pointing at the dist directory (they skip without it).
//
// The scratch roots are made of the build machine's own sh, coreutils, getent
// and shadow tools (with their shared libraries) so that dpkg and rpm run the
// real maintainer scripts chrooted, as on a real system, without network or a
// distribution mirror. The appliance binary is static and needs nothing from
// them.
package pkgtest
