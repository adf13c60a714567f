package alertmanager

import (
	"context"
	"log/slog"
	"strings"
	"time"

	"github.com/prometheus/alertmanager/alert"
	"github.com/prometheus/alertmanager/notify"
)

// LogIntegration is the name of the fallback integration in logs, metrics and
// the notification log.
const LogIntegration = "log"

// logNotifier delivers a notification as one log line per alert. The
// appliance attaches it to every receiver whose channels are all disabled for
// lack of a secret, so that a fresh install (and the demo) shows what it would
// have sent, and Alertmanager's notification log records it, instead of the
// notification vanishing.
type logNotifier struct {
	receiver string
	logger   *slog.Logger
	ackLink  func(receiver string, fps []string) string // nil: no link
}

var _ notify.Notifier = (*logNotifier)(nil)

// Notify implements notify.Notifier.
func (n *logNotifier) Notify(ctx context.Context, alerts ...*alert.Alert) notify.NotifyVerdict {
	now := time.Now()
	// The Acknowledge link of the notification, as Slack or e-mail would
	// carry it, so the demo (and a fresh install) can ack from it.
	var link string
	if n.ackLink != nil {
		var firing []string
		for _, a := range alerts {
			if !a.ResolvedAt(now) {
				firing = append(firing, a.Fingerprint().String())
			}
		}
		if len(firing) > 0 {
			link = n.ackLink(n.receiver, firing)
		}
	}
	for _, a := range alerts {
		status := "firing"
		if a.ResolvedAt(now) {
			status = "resolved"
		}
		args := []any{
			"receiver", n.receiver,
			"status", status,
			"alert", string(a.Labels["alertname"]),
			"severity", string(a.Labels["severity"]),
			"team", string(a.Labels["team"]),
			"summary", strings.TrimSpace(string(a.Annotations["summary"])),
		}
		if link != "" && status == "firing" {
			args = append(args, "ack_link", link)
		}
		n.logger.Info("notification", args...)
	}
	return notify.Success()
}

type sendResolved bool

func (s sendResolved) SendResolved() bool { return bool(s) }

func logIntegration(receiver string, logger *slog.Logger, ackLink func(string, []string) string) notify.Integration {
	return notify.NewIntegration(&logNotifier{receiver: receiver, logger: logger.With("component", "notify-log"), ackLink: ackLink},
		sendResolved(true), LogIntegration, 0, receiver)
}
