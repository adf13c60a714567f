// Package packaging holds the files that turn the smm-appliance binary into an
// installation: the systemd unit, the environment file for secrets, the
// maintainer scripts of the .deb and .rpm (templates) and the offline bundle's
// install.sh. packaging/build assembles them into dist/.
package packaging

import "embed"

// Files holds files/: smm-appliance.service, smm-appliance.env, install.sh and
// scripts/*.tmpl (the maintainer scripts, text/template with the shared user
// creation in user.sh.tmpl).
//
//go:embed files
var Files embed.FS
