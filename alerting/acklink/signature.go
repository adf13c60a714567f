package acklink

import (
	"crypto/hmac"
	"crypto/sha256"
	"encoding/hex"
	"errors"
	"fmt"
	"strconv"
	"strings"
	"time"
)

// ErrSignature is wrapped by every refusal of a webhook's signature.
var ErrSignature = errors.New("bad webhook signature")

// VerifyPagerDuty checks a PagerDuty v3 webhook: X-PagerDuty-Signature holds
// one or more "v1=<hex HMAC-SHA256 of the body>", comma-separated (several
// while a subscription's secret is being rotated); one must match.
func VerifyPagerDuty(secret, header string, body []byte) error {
	if header == "" {
		return fmt.Errorf("%w: no X-PagerDuty-Signature", ErrSignature)
	}
	want := hmacSHA256(secret, body)
	for _, s := range strings.Split(header, ",") {
		v, ok := strings.CutPrefix(strings.TrimSpace(s), "v1=")
		if !ok {
			continue
		}
		if got, err := hex.DecodeString(v); err == nil && hmac.Equal(got, want) {
			return nil
		}
	}
	return fmt.Errorf("%w: X-PagerDuty-Signature does not match the body", ErrSignature)
}

// SlackMaxSkew is how far a Slack request's timestamp may be from now:
// Slack's own advice against replays.
const SlackMaxSkew = 5 * time.Minute

// VerifySlack checks a Slack request: X-Slack-Signature is
// "v0=" + hex HMAC-SHA256 of "v0:<X-Slack-Request-Timestamp>:<body>", and the
// timestamp is within SlackMaxSkew of now.
func VerifySlack(secret, timestamp, signature string, body []byte, now time.Time) error {
	secs, err := strconv.ParseInt(timestamp, 10, 64)
	if err != nil {
		return fmt.Errorf("%w: X-Slack-Request-Timestamp %q is not a Unix time", ErrSignature, timestamp)
	}
	if d := now.Sub(time.Unix(secs, 0)); d > SlackMaxSkew || d < -SlackMaxSkew {
		return fmt.Errorf("%w: X-Slack-Request-Timestamp is %s off (at most %s)", ErrSignature, d.Round(time.Second), SlackMaxSkew)
	}
	v, ok := strings.CutPrefix(signature, "v0=")
	if !ok {
		return fmt.Errorf("%w: X-Slack-Signature is not v0=<hex>", ErrSignature)
	}
	got, err := hex.DecodeString(v)
	if err != nil || !hmac.Equal(got, hmacSHA256(secret, []byte("v0:"+timestamp+":"+string(body)))) {
		return fmt.Errorf("%w: X-Slack-Signature does not match the body", ErrSignature)
	}
	return nil
}

func hmacSHA256(secret string, b []byte) []byte {
	h := hmac.New(sha256.New, []byte(secret))
	h.Write(b)
	return h.Sum(nil)
}
