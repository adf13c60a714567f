package auth

import (
	"crypto/rand"
	"errors"
	"fmt"
	"io/fs"
	"os"
	"path/filepath"
	"regexp"

	"golang.org/x/crypto/bcrypt"
)

// DefaultAdminUser is the user an installation creates; the shipped
// appliance.yml gives it the admin role.
const DefaultAdminUser = "admin"

// InitialPasswordFile is the name, beside the web config file, of the file
// that keeps the generated password for an operator who missed it when it
// was printed (Jenkins' initialAdminPassword).
const InitialPasswordFile = "initial-admin-password"

// GenerateOptions say where GenerateAdmin writes.
type GenerateOptions struct {
	// WebConfigFile is the exporter-toolkit web config to create.
	WebConfigFile string
	// PasswordFile receives the password (mode 0600, owned by the caller);
	// empty writes none.
	PasswordFile string
	// User is the user to create; empty means DefaultAdminUser.
	User string
	// GID is the group of the web config file, so the service can read it
	// (mode 0640); -1 keeps the caller's group.
	GID int
}

var userName = regexp.MustCompile(`^[A-Za-z0-9][A-Za-z0-9._-]*$`)

// GenerateAdmin creates the web config file with one user whose password is
// random, and returns that password. It never touches an existing file:
// created is false and the password empty when the file is there already,
// so upgrades and reinstalls keep the users an operator has (or rotated).
//
// The password comes from crypto/rand (base32, 128 bits); the file holds
// only its bcrypt hash. Both files are written under a temporary name and
// moved into place, so neither is ever seen half written. When the web
// config was created but the password file could not be written, the
// password is returned with the error: it is the caller's last chance to
// show it.
func GenerateAdmin(o GenerateOptions) (password string, created bool, err error) {
	if o.WebConfigFile == "" {
		return "", false, errors.New("no web config file given")
	}
	if o.User == "" {
		o.User = DefaultAdminUser
	}
	if !userName.MatchString(o.User) {
		return "", false, fmt.Errorf("user %q: use letters, digits, '.', '_' and '-'", o.User)
	}
	if _, err := os.Lstat(o.WebConfigFile); err == nil {
		return "", false, nil
	} else if !errors.Is(err, fs.ErrNotExist) {
		return "", false, fmt.Errorf("web config %s: %w", o.WebConfigFile, err)
	}
	password = rand.Text()
	hash, err := bcrypt.GenerateFromPassword([]byte(password), bcrypt.DefaultCost)
	if err != nil {
		return "", false, fmt.Errorf("hash password: %w", err)
	}
	content := fmt.Sprintf(`# Web config of smm-appliance (prometheus/exporter-toolkit format): users and
# their bcrypt hashes for both listeners, and TLS (tls_server_config). Created
# with a random password for %[1]s (at installation, or the image's first
# start); roles are in appliance.yml (auth.users). Hash a new password with
# "smm-appliance hash-password". The appliance re-reads this file when it
# changes: no restart needed.
basic_auth_users:
  %[1]s: %[2]s
`, o.User, hash)
	if err := writeFileAtomic(o.WebConfigFile, []byte(content), 0o640, o.GID, false); err != nil {
		if errors.Is(err, fs.ErrExist) {
			// Created by someone else since the check above: theirs stays.
			return "", false, nil
		}
		return "", false, fmt.Errorf("create web config %s: %w", o.WebConfigFile, err)
	}
	if o.PasswordFile != "" {
		if err := writeFileAtomic(o.PasswordFile, []byte(password+"\n"), 0o600, -1, true); err != nil {
			return password, true, fmt.Errorf("write password file %s: %w", o.PasswordFile, err)
		}
	}
	return password, true, nil
}

// writeFileAtomic writes data to a temporary file in path's directory with
// mode and group gid (-1: unchanged), syncs it and moves it to path. With
// replace false, an existing path is left alone and the error is
// fs.ErrExist: the new file is hard-linked into place, which fails when path
// exists, so a file created meanwhile is never overwritten.
func writeFileAtomic(path string, data []byte, mode fs.FileMode, gid int, replace bool) error {
	dir := filepath.Dir(path)
	f, err := os.CreateTemp(dir, "."+filepath.Base(path)+".tmp-")
	if err != nil {
		if errors.Is(err, fs.ErrNotExist) {
			return fmt.Errorf("directory %s does not exist", dir)
		}
		return err
	}
	tmp := f.Name()
	defer os.Remove(tmp)
	err = func() error {
		defer f.Close()
		if gid >= 0 {
			if err := f.Chown(-1, gid); err != nil {
				return err
			}
		}
		if err := f.Chmod(mode); err != nil {
			return err
		}
		if _, err := f.Write(data); err != nil {
			return err
		}
		if err := f.Sync(); err != nil {
			return err
		}
		return f.Close()
	}()
	if err != nil {
		return err
	}
	if replace {
		err = os.Rename(tmp, path)
	} else if err = os.Link(tmp, path); err != nil && !errors.Is(err, fs.ErrExist) {
		// A filesystem without hard links: check, then rename.
		if _, serr := os.Lstat(path); serr == nil {
			return fs.ErrExist
		}
		err = os.Rename(tmp, path)
	}
	if err != nil {
		return err
	}
	if d, err := os.Open(dir); err == nil {
		_ = d.Sync()
		d.Close()
	}
	return nil
}
