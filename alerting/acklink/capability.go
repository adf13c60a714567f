package acklink

import (
	"crypto/hmac"
	"crypto/sha256"
	"encoding/base64"
	"errors"
	"fmt"
	"slices"
	"strconv"
	"strings"
	"time"
)

// A capability is what a one-click link carries instead of a login: an
// expiry and an HMAC over the receiver the message went to, the expiry and
// the exact set of alerts of the notification. It acknowledges those alerts
// and nothing else, until it expires or the key is rotated.

// ErrCapability is wrapped by every refusal of a capability.
var ErrCapability = errors.New("invalid ack link")

// Sign returns the capability for receiver's notification of fps, valid
// until exp: "<unix seconds>.<base64url HMAC-SHA256, 128 bits>".
func (k *Keyring) Sign(receiver string, fps []string, exp time.Time) string {
	e := strconv.FormatInt(exp.Unix(), 10)
	return e + "." + base64.RawURLEncoding.EncodeToString(mac(k.current(), receiver, e, fps))
}

// Verify checks a capability for receiver and fps at now.
func (k *Keyring) Verify(token, receiver string, fps []string, now time.Time) error {
	e, sig, ok := strings.Cut(token, ".")
	if !ok {
		return fmt.Errorf("%w: malformed capability", ErrCapability)
	}
	secs, err := strconv.ParseInt(e, 10, 64)
	if err != nil {
		return fmt.Errorf("%w: malformed expiry", ErrCapability)
	}
	got, err := base64.RawURLEncoding.DecodeString(sig)
	if err != nil {
		return fmt.Errorf("%w: malformed signature", ErrCapability)
	}
	// The signature first: an expiry that was tampered with is a bad
	// signature, not an expired link.
	if !hmac.Equal(got, mac(k.current(), receiver, e, fps)) {
		return fmt.Errorf("%w: signature does not match (tampered, for other alerts, or signed with a rotated key)", ErrCapability)
	}
	if !now.Before(time.Unix(secs, 0)) {
		return fmt.Errorf("%w: expired at %s", ErrCapability, time.Unix(secs, 0).UTC().Format(time.RFC3339))
	}
	return nil
}

func mac(key []byte, receiver, exp string, fps []string) []byte {
	set := slices.Clone(fps)
	slices.Sort(set)
	set = slices.Compact(set)
	h := hmac.New(sha256.New, key)
	h.Write([]byte("smm-ack-link-v1\x00" + receiver + "\x00" + exp + "\x00" + strings.Join(set, ",")))
	return h.Sum(nil)[:16]
}
