package main

import (
	"fmt"
	"io"
	"os"
	"path/filepath"
	"strings"
	"text/tabwriter"
	"time"

	"github.com/alecthomas/kingpin/v2"

	"github.com/smm-architect/smm-appliance/web/auth"
)

// tokenCommands manage the API tokens of a data directory (--storage.path).
// They work on a stopped appliance and on a running one alike: the
// appliance re-reads the token file when it changes.
type tokenCommands struct {
	create, list, revoke *kingpin.CmdClause

	name    string
	role    string
	scopes  []string
	expires time.Duration
}

func registerTokens(app *kingpin.Application) *tokenCommands {
	t := &tokenCommands{}
	tok := app.Command("token", "Manage API tokens (Authorization: Bearer) in --storage.path; a running appliance picks changes up at its next request.")
	t.create = tok.Command("create", "Create a token and print it once; only its sha256 hash is stored.")
	t.create.Flag("name", "Name of the token; its requests are audited as token:NAME.").Required().StringVar(&t.name)
	t.create.Flag("role", "Role of the token: viewer, operator or admin.").Required().EnumVar(&t.role, "viewer", "operator", "admin")
	t.create.Flag("scope", "Extra scope: config (deploy and roll back the configuration whatever the role). Repeatable.").EnumsVar(&t.scopes, auth.ScopeConfig)
	t.create.Flag("expires", "Lifetime, e.g. 720h; 0: never expires.").Default("0").DurationVar(&t.expires)
	t.list = tok.Command("list", "List the tokens (never their secrets).")
	t.revoke = tok.Command("revoke", "Revoke a token; it is refused from the next request.")
	t.revoke.Arg("name", "Name of the token.").Required().StringVar(&t.name)
	return t
}

func (t *tokenCommands) run(cmd, dataDir string, stdout, stderr io.Writer) (int, bool) {
	switch cmd {
	case t.create.FullCommand(), t.list.FullCommand(), t.revoke.FullCommand():
	default:
		return 0, false
	}
	// A token written where the appliance does not look would be silently
	// useless: the data directory must exist already.
	if fi, err := os.Stat(dataDir); err != nil || !fi.IsDir() {
		fmt.Fprintf(stderr, "token: data directory %s not found: set --storage.path to the appliance's (packages: /var/lib/smm-appliance, image: /data)\n", dataDir)
		return 1, true
	}
	store := auth.NewTokenStore(filepath.Join(dataDir, auth.TokensFile))
	switch cmd {
	case t.create.FullCommand():
		role, _ := auth.ParseRole(t.role)
		secret, tok, err := store.Create(auth.TokenRequest{Name: t.name, Role: role, Scopes: t.scopes, Expires: t.expires, CreatedBy: "cli"})
		if err != nil {
			fmt.Fprintf(stderr, "token create: %s\n", err)
			return 1, true
		}
		fmt.Fprintln(stdout, secret)
		exp := "never"
		if !tok.Expires.IsZero() {
			exp = tok.Expires.Format(time.RFC3339)
		}
		fmt.Fprintf(stderr, "token %s (%s) created in %s; it expires %s. It is shown only now: keep it in a file readable only by its user.\n", tok.Name, tok.Role, store.Path(), exp)
		return 0, true
	case t.list.FullCommand():
		toks, err := store.List()
		if err != nil {
			fmt.Fprintf(stderr, "token list: %s\n", err)
			return 1, true
		}
		tw := tabwriter.NewWriter(stdout, 0, 4, 2, ' ', 0)
		fmt.Fprintln(tw, "NAME\tROLE\tSCOPES\tCREATED\tEXPIRES")
		now := time.Now()
		for _, tk := range toks {
			exp := "never"
			if !tk.Expires.IsZero() {
				exp = tk.Expires.Format(time.RFC3339)
				if tk.Expired(now) {
					exp += " (expired)"
				}
			}
			fmt.Fprintf(tw, "%s\t%s\t%s\t%s\t%s\n", tk.Name, tk.Role, strings.Join(tk.Scopes, ","), tk.Created.Format(time.RFC3339), exp)
		}
		tw.Flush()
		return 0, true
	case t.revoke.FullCommand():
		if err := store.Revoke(t.name); err != nil {
			fmt.Fprintf(stderr, "token revoke: %s\n", err)
			return 1, true
		}
		fmt.Fprintf(stdout, "token %s revoked\n", t.name)
		return 0, true
	}
	return 0, false
}
