// Package acklink builds and checks what lets a notification acknowledge its
// own alerts: the links in every message (acknowledge, snooze, open in the
// console), the HMAC-signed capabilities of one-click links, and the
// signatures of the PagerDuty and Slack webhooks that report acks made there.
package acklink

import (
	"crypto/rand"
	"encoding/hex"
	"errors"
	"fmt"
	"io"
	"os"
	"strings"
	"sync/atomic"

	"github.com/smm-architect/smm-appliance/storage/persist"
)

// KeyFile is the key's file name in the data directory.
const KeyFile = "ack-link.key"

// Keyring holds the key that signs one-click links. Rotating it revokes
// every link signed before: that is what rotation is for (a leaked mail
// archive, a departed contractor's inbox).
type Keyring struct {
	path    string
	key     atomic.Pointer[[]byte]
	damaged []persist.Damaged
}

// Damaged lists the key file OpenKey found damaged and moved aside, if any.
func (k *Keyring) Damaged() []persist.Damaged { return k.damaged }

// OpenKey reads the key at path, or creates it (32 random bytes, hex, mode
// 0600) on first start. A key file that cannot be decoded does not stop
// the start: it is moved aside (persist.Quarantine), a new key is made —
// the one-click links sent so far stop working — and Damaged reports it.
func OpenKey(path string) (*Keyring, error) {
	k := &Keyring{path: path}
	b, err := os.ReadFile(path)
	switch {
	case errors.Is(err, os.ErrNotExist):
		return k, k.Rotate()
	case err != nil:
		return nil, fmt.Errorf("read ack link key: %w", err)
	}
	key, err := hex.DecodeString(strings.TrimSpace(string(b)))
	if err != nil || len(key) < 32 {
		cause := fmt.Errorf("ack link key %s: want 64 hex digits", path)
		d, qerr := persist.Quarantine(path, cause, "the one-click ack link key (the links sent so far no longer work)")
		if qerr != nil {
			return nil, errors.Join(cause, qerr)
		}
		k.damaged = append(k.damaged, d)
		return k, k.Rotate()
	}
	k.key.Store(&key)
	return k, nil
}

// Rotate makes a new key, writes it durably, and uses it from now on.
func (k *Keyring) Rotate() error {
	key := make([]byte, 32)
	if _, err := rand.Read(key); err != nil {
		return fmt.Errorf("new ack link key: %w", err)
	}
	// WriteAtomic's temporary file is created 0600 and renamed in place.
	err := persist.WriteAtomic(k.path, func(w io.Writer) error {
		_, err := io.WriteString(w, hex.EncodeToString(key)+"\n")
		return err
	})
	if err != nil {
		return fmt.Errorf("write ack link key: %w", err)
	}
	k.key.Store(&key)
	return nil
}

func (k *Keyring) current() []byte { return *k.key.Load() }
