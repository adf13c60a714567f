package configfiles

import (
	"os"
	"path/filepath"
	"testing"
	"time"

	"github.com/stretchr/testify/require"
)

// TestReportSection: appliance.yml's report section (the weekly review
// mail) is read with its defaults, and a bad value is refused naming the
// file and the field.
func TestReportSection(t *testing.T) {
	goodAM := "route:\n  receiver: r\nreceivers:\n  - name: r\n"
	for _, tc := range []struct {
		name, text string
		err        []string
		next       string // the first send after Saturday 2000-01-01 00:00 UTC
	}{
		{name: "absent", text: "auth:\n  anonymous_role: viewer\n", next: "Mon 2000-01-03 09:00"},
		{name: "set", text: "report:\n  email_to: sre@smm.example\n  weekday: thursday\n  time: \"07:45\"\n", next: "Thu 2000-01-06 07:45"},
		{name: "bad weekday", text: "report:\n  weekday: caturday\n", err: []string{"appliance.yml", "report.weekday", "caturday"}},
		{name: "bad address", text: "report:\n  email_to: \"sre at smm\"\n", err: []string{"appliance.yml", "report.email_to"}},
		{name: "unknown field", text: "report:\n  email: sre@smm.example\n", err: []string{"appliance.yml", "email"}},
	} {
		t.Run(tc.name, func(t *testing.T) {
			src := setup(t, minimalProm, goodAM)
			require.NoError(t, os.WriteFile(filepath.Join(src.Dir, ApplianceFile), []byte(tc.text), 0o644))
			set, err := Loader{Sources: src, Lookup: env(nil)}.Load()
			if tc.err != nil {
				require.Error(t, err)
				for _, w := range tc.err {
					require.Contains(t, err.Error(), w)
				}
				return
			}
			require.NoError(t, err)
			next := set.Appliance.Report.Next(time.Date(2000, 1, 1, 0, 0, 0, 0, time.UTC))
			require.Equal(t, tc.next, next.Format("Mon 2006-01-02 15:04"))
		})
	}
}
