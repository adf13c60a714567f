package appliance

import (
	"testing"

	"github.com/alecthomas/kingpin/v2"
	"github.com/stretchr/testify/require"
)

// TestValidateOptions: flags that would make the appliance misbehave are
// refused with the flag's name, before anything starts; the defaults pass.
func TestValidateOptions(t *testing.T) {
	for _, tc := range []struct {
		args []string
		err  string
	}{
		{nil, ""},
		{[]string{"--alertmanager.max-alerts=50", "--alertmanager.max-alert-bytes=1MB"}, ""},
		{[]string{"--alertmanager.max-alerts=0"}, "--alertmanager.max-alerts must be at least 1, not 0"},
		{[]string{"--alertmanager.max-alerts=-5"}, "--alertmanager.max-alerts must be at least 1, not -5"},
		{[]string{"--alertmanager.max-alert-bytes=100B"}, "--alertmanager.max-alert-bytes must be at least 1KB"},
		{[]string{"--query.max-concurrency=0"}, "--query.max-concurrency must be at least 1"},
		{[]string{"--web.external-url=example.com/x"}, "--web.external-url"},
	} {
		var o Options
		app := kingpin.New("test", "")
		o.RegisterFlags(app)
		_, err := app.Parse(tc.args)
		require.NoError(t, err, "%v", tc.args)
		err = o.Validate()
		if tc.err == "" {
			require.NoError(t, err, "%v", tc.args)
			continue
		}
		require.ErrorContains(t, err, tc.err, "%v", tc.args)
	}
}
