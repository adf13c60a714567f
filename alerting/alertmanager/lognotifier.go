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
}

var _ notify.Notifier = (*logNotifier)(nil)

// Notify implements notify.Notifier.
func (n *logNotifier) Notify(ctx context.Context, alerts ...*alert.Alert) notify.NotifyVerdict {
	now := time.Now()
	for _, a := range alerts {
		status := "firing"
		if a.ResolvedAt(now) {
			status = "resolved"
		}
		n.logger.Info("notification",
			"receiver", n.receiver,
			"status", status,
			"alert", string(a.Labels["alertname"]),
			"severity", string(a.Labels["severity"]),
			"team", string(a.Labels["team"]),
			"summary", strings.TrimSpace(string(a.Annotations["summary"])),
		)
	}
	return notify.Success()
}

type sendResolved bool

func (s sendResolved) SendResolved() bool { return bool(s) }

func logIntegration(receiver string, logger *slog.Logger) notify.Integration {
	return notify.NewIntegration(&logNotifier{receiver: receiver, logger: logger.With("component", "notify-log")},
		sendResolved(true), LogIntegration, 0, receiver)
}
