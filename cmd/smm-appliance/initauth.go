package main

import (
	"fmt"
	"io"
	"log/slog"
	"os/user"
	"path/filepath"
	"strconv"

	"github.com/alecthomas/kingpin/v2"

	"github.com/smm-architect/smm-appliance/web/auth"
)

// initAuth is the init-auth command the packages run at install: it creates
// the web config with an admin user and a random password, prints that
// password once and keeps it in a root-only file, as Jenkins does with its
// initialAdminPassword. An existing web config is never touched.
type initAuth struct {
	cmd          *kingpin.CmdClause
	passwordFile string
	user         string
	group        string
}

func registerInitAuth(app *kingpin.Application) *initAuth {
	c := &initAuth{}
	c.cmd = app.Command("init-auth", "Create --web.config.file with a user (admin) whose password is random, unless the file exists; print the password once and keep it in --password-file. The packages run this at install.")
	c.cmd.Flag("password-file", "Where to keep the generated password (mode 0600). Default: "+auth.InitialPasswordFile+" beside the web config file.").
		StringVar(&c.passwordFile)
	c.cmd.Flag("user", "The user to create; the shipped appliance.yml gives admin the admin role.").
		Default(auth.DefaultAdminUser).StringVar(&c.user)
	c.cmd.Flag("group", "Group (name or number) of the web config file, so that the service can read it (mode 0640). Default: the caller's.").
		StringVar(&c.group)
	return c
}

func (c *initAuth) run(webConfigFile string, stdout, stderr io.Writer) int {
	if webConfigFile == "" {
		fmt.Fprintln(stderr, "init-auth: --web.config.file is required")
		return 2
	}
	gid := -1
	if c.group != "" {
		var err error
		if gid, err = lookupGID(c.group); err != nil {
			fmt.Fprintf(stderr, "init-auth: %s\n", err)
			return 1
		}
	}
	pwFile := c.passwordFile
	if pwFile == "" {
		pwFile = filepath.Join(filepath.Dir(webConfigFile), auth.InitialPasswordFile)
	}
	pw, created, err := auth.GenerateAdmin(auth.GenerateOptions{WebConfigFile: webConfigFile, PasswordFile: pwFile, User: c.user, GID: gid})
	if !created {
		if err != nil {
			fmt.Fprintf(stderr, "init-auth: %s\n", err)
			return 1
		}
		fmt.Fprintf(stdout, "smm-appliance: %s exists; its users and passwords are unchanged.\n", webConfigFile)
		return 0
	}
	fmt.Fprintf(stdout, `
smm-appliance: created %[1]s.
The console and the APIs on both listeners now ask for a password (only
/-/healthy and /-/ready answer without one):

    user:      %[2]s
    password:  %[3]s

This password is shown only this once.`, webConfigFile, c.user, pw)
	if err == nil {
		fmt.Fprintf(stdout, ` A copy, readable by root only, is in
    %[1]s
delete it once the password is stored elsewhere.`, pwFile)
	}
	fmt.Fprint(stdout, `
To change the password, hash a new one with "smm-appliance hash-password" and
put the hash after "`+c.user+`:" in the web config (security.md in the
documentation, "Rotating the admin password"); no restart is needed.

`)
	if err != nil {
		fmt.Fprintf(stderr, "init-auth: %s\n", err)
		return 1
	}
	return 0
}

// lookupGID resolves a group name (from /etc/group; the binary is static) or
// number.
func lookupGID(group string) (int, error) {
	if n, err := strconv.Atoi(group); err == nil && n >= 0 {
		return n, nil
	}
	g, err := user.LookupGroup(group)
	if err != nil {
		return 0, fmt.Errorf("group %q: %w", group, err)
	}
	return strconv.Atoi(g.Gid)
}

// generateWebConfig is --web.config.generate: the image has no install step,
// so its first start creates the web config (in the data volume, where it
// survives a new container) and logs the password once.
func generateWebConfig(webConfigFile string, logger *slog.Logger) error {
	if webConfigFile == "" {
		return fmt.Errorf("--web.config.generate needs --web.config.file")
	}
	pwFile := filepath.Join(filepath.Dir(webConfigFile), auth.InitialPasswordFile)
	pw, created, err := auth.GenerateAdmin(auth.GenerateOptions{WebConfigFile: webConfigFile, PasswordFile: pwFile, GID: -1})
	if !created {
		if err != nil {
			return fmt.Errorf("generate web config: %w", err)
		}
		return nil
	}
	// The one log line that carries a secret, on purpose and once: a
	// container's log is where its operator looks (Grafana and Jenkins do
	// the same). Later starts find the file and log nothing.
	const msg = "created the web config with user " + auth.DefaultAdminUser + " and a random password, logged only this once; to change it see docs/security.md"
	if err != nil {
		logger.Warn(msg, "component", "auth", "web_config", webConfigFile, "user", auth.DefaultAdminUser, "password", pw)
		// The web config is in place and the password logged: start.
		logger.Error("no copy of the password kept", "component", "auth", "err", err)
		return nil
	}
	logger.Warn(msg+"; a copy is in password_file: delete it once the password is stored elsewhere",
		"component", "auth", "web_config", webConfigFile, "user", auth.DefaultAdminUser, "password", pw, "password_file", pwFile)
	return nil
}
