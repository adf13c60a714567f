package acklink

import (
	"crypto/hmac"
	"crypto/sha256"
	"encoding/hex"
	"os"
	"path/filepath"
	"strconv"
	"strings"
	"testing"
	"time"

	"github.com/prometheus/alertmanager/notify"
	"github.com/stretchr/testify/require"
)

func TestCapability(t *testing.T) {
	dir := t.TempDir()
	k, err := OpenKey(filepath.Join(dir, KeyFile))
	require.NoError(t, err)
	now := time.Unix(1_800_000_000, 0)
	fps := []string{"00000000000000b2", "00000000000000a1"}
	token := k.Sign("db-slack", fps, now.Add(time.Hour))

	// The key survives a restart: links sent before still work.
	k2, err := OpenKey(filepath.Join(dir, KeyFile))
	require.NoError(t, err)
	require.NoError(t, k2.Verify(token, "db-slack", []string{"00000000000000a1", "00000000000000b2"}, now), "order does not matter")
	fi, err := os.Stat(filepath.Join(dir, KeyFile))
	require.NoError(t, err)
	require.Equal(t, os.FileMode(0o600), fi.Mode().Perm())

	exp, sig, _ := strings.Cut(token, ".")
	later := strconv.FormatInt(now.Add(48*time.Hour).Unix(), 10)
	flipped := []byte(sig)
	if flipped[0] == 'A' {
		flipped[0] = 'B'
	} else {
		flipped[0] = 'A'
	}
	cases := []struct {
		name, token, receiver string
		fps                   []string
		at                    time.Time
		want                  string
	}{
		{"valid", token, "db-slack", fps, now, ""},
		{"expired", token, "db-slack", fps, now.Add(time.Hour), "expired"},
		{"other group: one alert fewer", token, "db-slack", fps[:1], now, "does not match"},
		{"other group: one alert more", token, "db-slack", append([]string{"00000000000000c3"}, fps...), now, "does not match"},
		{"other receiver", token, "platform-slack", fps, now, "does not match"},
		{"tampered expiry", later + "." + sig, "db-slack", fps, now.Add(2 * time.Hour), "does not match"},
		{"tampered signature", exp + "." + string(flipped), "db-slack", fps, now, "does not match"},
		{"malformed", "nodot", "db-slack", fps, now, "malformed"},
		{"bad expiry", "x." + sig, "db-slack", fps, now, "malformed expiry"},
	}
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			err := k.Verify(c.token, c.receiver, c.fps, c.at)
			if c.want == "" {
				require.NoError(t, err)
				return
			}
			require.ErrorIs(t, err, ErrCapability)
			require.ErrorContains(t, err, c.want)
		})
	}

	require.NoError(t, k.Rotate())
	require.ErrorContains(t, k.Verify(token, "db-slack", fps, now), "does not match", "rotation revokes links")
	k3, err := OpenKey(filepath.Join(dir, KeyFile))
	require.NoError(t, err)
	require.NoError(t, k3.Verify(k.Sign("db-slack", fps, now.Add(time.Hour)), "db-slack", fps, now), "the rotated key is what the next start reads")

	// A damaged key file is moved aside and replaced; the start goes on.
	require.NoError(t, os.WriteFile(filepath.Join(dir, "bad.key"), []byte("short"), 0o600))
	bad, err := OpenKey(filepath.Join(dir, "bad.key"))
	require.NoError(t, err)
	require.Len(t, bad.Damaged(), 1)
	require.FileExists(t, bad.Damaged()[0].MovedTo)
	require.NoError(t, bad.Verify(bad.Sign("r", fps, now.Add(time.Hour)), "r", fps, now))
	again, err := OpenKey(filepath.Join(dir, "bad.key"))
	require.NoError(t, err)
	require.Empty(t, again.Damaged(), "the new key is good")
}

func sign(secret string, b []byte) string {
	h := hmac.New(sha256.New, []byte(secret))
	h.Write(b)
	return hex.EncodeToString(h.Sum(nil))
}

func TestVerifyPagerDuty(t *testing.T) {
	body, err := os.ReadFile("testdata/pagerduty_acknowledged.json")
	require.NoError(t, err)
	good := "v1=" + sign("s3cret", body)
	cases := []struct {
		name, secret, header string
		body                 []byte
		ok                   bool
	}{
		{"valid", "s3cret", good, body, true},
		{"one of several (secret rotation)", "s3cret", "v1=" + sign("old", body) + ", " + good, body, true},
		{"wrong secret", "other", good, body, false},
		{"body changed", "s3cret", good, append([]byte(" "), body...), false},
		{"no header", "s3cret", "", body, false},
		{"wrong version", "s3cret", "v0=" + sign("s3cret", body), body, false},
		{"not hex", "s3cret", "v1=zz", body, false},
	}
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			err := VerifyPagerDuty(c.secret, c.header, c.body)
			if c.ok {
				require.NoError(t, err)
			} else {
				require.ErrorIs(t, err, ErrSignature)
			}
		})
	}
}

func TestVerifySlack(t *testing.T) {
	body, err := os.ReadFile("testdata/slack_interactive.txt")
	require.NoError(t, err)
	now := time.Unix(1_800_000_000, 0)
	ts := strconv.FormatInt(now.Unix(), 10)
	good := "v0=" + sign("slack", []byte("v0:"+ts+":"+string(body)))
	old := strconv.FormatInt(now.Add(-6*time.Minute).Unix(), 10)
	cases := []struct {
		name, secret, ts, sig string
		body                  []byte
		ok                    bool
	}{
		{"valid", "slack", ts, good, body, true},
		{"4 minutes late", "slack", ts, good, body, true},
		{"replayed 6 minutes later", "slack", old, "v0=" + sign("slack", []byte("v0:"+old+":"+string(body))), body, false},
		{"timestamp changed", "slack", strconv.FormatInt(now.Unix()+1, 10), good, body, false},
		{"wrong secret", "other", ts, good, body, false},
		{"body changed", "slack", ts, good, append(body, '&'), false},
		{"no version", "slack", ts, strings.TrimPrefix(good, "v0="), body, false},
		{"no timestamp", "slack", "", good, body, false},
	}
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			at := now
			if c.name == "4 minutes late" {
				at = now.Add(4 * time.Minute)
			}
			err := VerifySlack(c.secret, c.ts, c.sig, c.body, at)
			if c.ok {
				require.NoError(t, err)
			} else {
				require.ErrorIs(t, err, ErrSignature)
			}
		})
	}
}

func TestDedupKey(t *testing.T) {
	// What Alertmanager's PagerDuty integration sends as dedup_key.
	gk := `{}/{severity="critical"}:{alertname="A"}`
	require.Equal(t, notify.Key(gk).Hash(), DedupKey(gk))
}
