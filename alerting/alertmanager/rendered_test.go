package alertmanager

import (
	"context"
	"net/url"
	"testing"
	"time"

	"github.com/prometheus/alertmanager/alert"
	amconfig "github.com/prometheus/alertmanager/config"
	"github.com/prometheus/alertmanager/notify"
	"github.com/prometheus/alertmanager/template"
	"github.com/prometheus/common/model"
	"github.com/prometheus/common/promslog"
	"github.com/stretchr/testify/require"
)

// TestRenderers: each channel's message is rendered with the receiver's own
// templates (defaults included), the channel is named without its URL, and
// a secret of the configuration never reaches the recorded text, even when
// an annotation carries it.
func TestRenderers(t *testing.T) {
	cfg, err := amconfig.Load(`
route: {receiver: team}
receivers:
  - name: team
    slack_configs:
      - api_url: https://hooks.slack.example/services/T0/B0/slack-secret-4711
        channel: "#connectors"
        title: '{{ .CommonLabels.alertname }} ({{ .Alerts.Firing | len }} firing)'
    webhook_configs:
      - url: https://hooks.example/webhook-secret-0815
    email_configs:
      - to: oncall@smm.example
        from: am@smm.example
        smarthost: smtp.example:25
        auth_password: smtp-secret-1234
`)
	require.NoError(t, err)
	tmpl, err := template.FromGlobs(nil)
	require.NoError(t, err)
	tmpl.ExternalURL, _ = url.Parse("http://am.example")
	rs := renderers(cfg.Receivers[0], tmpl, promslog.NewNopLogger())
	now := time.Now()
	a := &alert.Alert{Alert: model.Alert{
		Labels:      model.LabelSet{"alertname": "ConnectorAuthFailing", "connector": "tiktok"},
		Annotations: model.LabelSet{"summary": "token refresh failing (see https://hooks.example/webhook-secret-0815)"},
		StartsAt:    now.Add(-time.Minute), EndsAt: now.Add(time.Hour),
	}}
	ctx := notify.WithGroupLabels(context.Background(), model.LabelSet{"alertname": "ConnectorAuthFailing"})
	ctx = notify.WithReceiverName(ctx, "team")

	ch, msg := rs["slack/0"](ctx, []*alert.Alert{a})
	require.Equal(t, "Slack #connectors", ch)
	require.Contains(t, msg, "ConnectorAuthFailing (1 firing)")

	ch, msg = rs["webhook/0"](ctx, []*alert.Alert{a})
	require.Equal(t, "webhook", ch)
	require.Contains(t, msg, `"connector":"tiktok"`)
	require.NotContains(t, msg, "webhook-secret-0815")
	require.Contains(t, msg, "<secret>")

	ch, msg = rs["email/0"](ctx, []*alert.Alert{a})
	require.Equal(t, "email to oncall@smm.example", ch)
	require.Contains(t, msg, "Subject: [FIRING:1] ConnectorAuthFailing")

	ch, msg = rs["log/0"](ctx, []*alert.Alert{a})
	require.Contains(t, ch, "log only")
	require.Contains(t, msg, "firing ConnectorAuthFailing: token refresh failing")
	for _, k := range []string{"slack/0", "webhook/0", "email/0", "log/0"} {
		_, msg := rs[k](ctx, []*alert.Alert{a})
		for _, sec := range []string{"slack-secret-4711", "webhook-secret-0815", "smtp-secret-1234"} {
			require.NotContains(t, msg, sec, k)
		}
	}
	require.Contains(t, secretsOf(cfg.Receivers[0]), "smtp-secret-1234")
}
