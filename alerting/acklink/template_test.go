package acklink

import (
	"net/url"
	"path/filepath"
	"regexp"
	"strings"
	"testing"
	"time"

	"github.com/prometheus/alertmanager/template"
	"github.com/stretchr/testify/require"
)

// TestTemplateOverlay renders the shipped templates as the appliance loads
// them: with one-click links on, the Slack and e-mail links point at
// PathLink and carry a capability that verifies for exactly the firing
// alerts and the receiver; off, they are the plain login links.
func TestTemplateOverlay(t *testing.T) {
	keys, err := OpenKey(filepath.Join(t.TempDir(), KeyFile))
	require.NoError(t, err)
	ext, _ := url.Parse("https://smm.example.com/monitor")
	now := time.Unix(1_800_000_000, 0)
	l := &Links{Keys: keys, External: ext, Now: func() time.Time { return now }}
	tmpl, err := template.FromGlobs([]string{"../../configs/templates/*.tmpl"}, l.TemplateOption())
	require.NoError(t, err)
	require.NoError(t, tmpl.Parse(strings.NewReader(TemplateOverlay)))
	tmpl.ExternalURL = ext
	data := &template.Data{Receiver: "db-email", Status: "firing", ExternalURL: ext.String(),
		CommonLabels: template.KV{"alertname": "A"},
		Alerts: template.Alerts{
			{Status: "firing", Fingerprint: "00000000000000a1", Labels: template.KV{"alertname": "A"}},
			{Status: "firing", Fingerprint: "00000000000000b2", Labels: template.KV{"alertname": "A"}},
			{Status: "resolved", Fingerprint: "00000000000000c3", Labels: template.KV{"alertname": "A"}},
		}}
	linkRe := regexp.MustCompile(`https://smm\.example\.com/monitor(/ack[^\s"<>|]*)`)

	l.ApplyConfig(Config{})
	out, err := tmpl.ExecuteTextString(`{{ template "smm.email.text" . }}`, data)
	require.NoError(t, err)
	m := linkRe.FindStringSubmatch(out)
	require.NotNil(t, m, out)
	require.True(t, strings.HasPrefix(m[1], PathLogin+"?"), m[1])
	require.NotContains(t, m[1], "cap=")

	l.ApplyConfig(Config{OneClickLinks: true, LinkExpiry: 0})
	for _, html := range []bool{false, true} {
		exec, text := tmpl.ExecuteTextString, `{{ template "smm.slack.text" . }}`
		if html {
			exec, text = tmpl.ExecuteHTMLString, `{{ template "smm.email.html" . }}`
		}
		out, err = exec(text, data)
		require.NoError(t, err)
		links := linkRe.FindAllStringSubmatch(out, -1)
		require.GreaterOrEqual(t, len(links), 2, out)
		for _, m := range links[:2] {
			u, err := url.Parse(strings.ReplaceAll(m[1], "&amp;", "&"))
			require.NoError(t, err)
			require.Equal(t, PathLink, u.Path)
			tg, err := ParseTarget(u.Query())
			require.NoError(t, err)
			require.Equal(t, Target{Receiver: "db-email", Fingerprints: []string{"00000000000000a1", "00000000000000b2"}}, tg)
			require.NoError(t, keys.Verify(u.Query().Get("cap"), tg.Receiver, tg.Fingerprints, now.Add(DefaultLinkExpiry-time.Second)))
			require.Error(t, keys.Verify(u.Query().Get("cap"), tg.Receiver, tg.Fingerprints, now.Add(DefaultLinkExpiry)), "expires")
		}
	}
}
