package e2e

import (
	"fmt"
	"testing"
	"time"

	"github.com/stretchr/testify/require"
)

// TestSelfScrapeInstanceStable: the appliance's own job keeps its instance
// label across restarts (issue 16); it scrapes itself on a loopback port
// chosen at start, which must not become the instance.
func TestSelfScrapeInstanceStable(t *testing.T) {
	data := t.TempDir()
	// The instance of a scrape since since: a restart must not pass with
	// the series of the run before.
	instance := func(a *appliance, since time.Time) string {
		var got string
		waitFor(t, 40*time.Second, "self-scrape", func() bool {
			v := query(t, a, fmt.Sprintf(`timestamp(up{job="smm-appliance"} == 1) > %.3f`, float64(since.UnixMilli())/1000), time.Now())
			if len(v) == 1 {
				got = v[0].Metric["instance"]
			}
			return got != ""
		})
		return got
	}
	start := time.Now()
	a := startAppliance(t, "", data, nil, "--web.external-url=http://smm.example.com:9090/")
	first := instance(a, start)
	a.stop()
	restart := time.Now()
	b := startAppliance(t, "", data, nil, "--web.external-url=http://smm.example.com:9090/")
	require.Equal(t, first, instance(b, restart))
	require.Equal(t, "smm.example.com:9090", first)
}
