package slo

import (
	"encoding/csv"
	"fmt"
	"io"
	"strconv"
	"strings"
	"time"
)

// FormatValue renders an objective's figure for people.
func FormatValue(o Objective) string {
	if o.Value == nil {
		return "no data"
	}
	if o.Unit == "seconds" {
		return FormatSeconds(*o.Value)
	}
	return strconv.FormatFloat(100**o.Value, 'f', 2, 64) + " %"
}

// FormatSeconds renders a duration in seconds as 12.3 s, 4m05s or 2h10m.
func FormatSeconds(s float64) string {
	switch {
	case s < 60:
		return strconv.FormatFloat(s, 'f', 1, 64) + " s"
	case s < 3600:
		return fmt.Sprintf("%dm%02ds", int(s)/60, int(s)%60)
	}
	return fmt.Sprintf("%dh%02dm", int(s)/3600, int(s)%3600/60)
}

func status(o Objective) string {
	switch {
	case o.Met == nil:
		return "—"
	case *o.Met:
		return "met"
	}
	return "MISSED"
}

// mdCell escapes what would break a Markdown table cell.
func mdCell(s string) string {
	s = strings.NewReplacer("|", `\|`, "\n", " ", "\r", " ").Replace(s)
	if len(s) > 200 {
		s = s[:200] + "…"
	}
	return s
}

// WriteMarkdown writes the review as a Markdown document.
func WriteMarkdown(w io.Writer, rv Review) error {
	b := &strings.Builder{}
	ts := func(t time.Time) string { return t.UTC().Format("2006-01-02 15:04 UTC") }
	fmt.Fprintf(b, "# Alerting review: %s to %s\n\n", ts(rv.From), ts(rv.To))
	b.WriteString("## SLOs\n\n| SLO | Objective | Figure | Status | Detail |\n|---|---|---|---|---|\n")
	for _, o := range rv.Objectives {
		fmt.Fprintf(b, "| %s | %s | %s | %s | %s |\n", o.Title, o.Objective, FormatValue(o), status(o), mdCell(o.Detail))
	}
	b.WriteString("\n## Most frequent alerts\n\n")
	if len(rv.Frequent) == 0 {
		b.WriteString("No alert fired.\n")
	} else {
		b.WriteString("| Alert | Severity | Fired | Distinct alerts |\n|---|---|---:|---:|\n")
		for _, c := range rv.Frequent {
			fmt.Fprintf(b, "| %s | %s | %d | %d |\n", mdCell(c.Alertname), mdCell(c.Severity), c.Fired, c.Alerts)
		}
	}
	fmt.Fprintf(b, "\n## Flapping alerts (fired %d times or more)\n\n", FlappingEpisodes)
	if len(rv.Flapping) == 0 {
		b.WriteString("None.\n")
	} else {
		b.WriteString("| Alert | Fingerprint | Fired |\n|---|---|---:|\n")
		for _, f := range rv.Flapping {
			fmt.Fprintf(b, "| %s | %s | %d |\n", mdCell(f.Alertname), f.Fingerprint, f.Fired)
		}
	}
	b.WriteString("\n## Rules that never fired in 30 days\n\n")
	if len(rv.NeverFired) == 0 {
		b.WriteString("None.\n")
	} else {
		for _, n := range rv.NeverFired {
			fmt.Fprintf(b, "- %s\n", mdCell(n))
		}
	}
	b.WriteString("\n## Delivery failures\n\n")
	if len(rv.Failures) == 0 {
		b.WriteString("None.\n")
	} else {
		b.WriteString("| Receiver | Integration | Notifications | Never delivered | Failed attempts | Last error |\n|---|---|---:|---:|---:|---|\n")
		for _, d := range rv.Failures {
			fmt.Fprintf(b, "| %s | %s | %d | %d | %d | %s |\n", mdCell(d.Receiver), d.Integration, d.Notifications, d.Failed, d.FailedAttempt, mdCell(d.LastError))
		}
	}
	b.WriteString("\n## Silences\n\n")
	if len(rv.Silences) == 0 {
		b.WriteString("None created.\n")
	} else {
		b.WriteString("| Started | Ran | By | Matchers | Comment |\n|---|---|---|---|---|\n")
		for _, s := range rv.Silences {
			ran := FormatSeconds(s.RanSeconds)
			if s.Active {
				ran += " (active)"
			}
			fmt.Fprintf(b, "| %s | %s | %s | %s | %s |\n", ts(s.StartsAt), ran, mdCell(s.CreatedBy), mdCell(s.Matchers), mdCell(s.Comment))
		}
	}
	for _, e := range rv.Errors {
		fmt.Fprintf(b, "\n> Incomplete: %s\n", mdCell(e))
	}
	_, err := io.WriteString(w, b.String())
	return err
}

// CSVHeader is the header row of WriteCSV: one table, a section per kind of
// row, so a spreadsheet can filter on the first column.
var CSVHeader = []string{"section", "name", "detail", "count", "value"}

// WriteCSV writes the review as one CSV table.
func WriteCSV(w io.Writer, rv Review) error {
	cw := csv.NewWriter(w)
	rows := [][]string{CSVHeader}
	num := func(f float64) string { return strconv.FormatFloat(f, 'g', -1, 64) }
	for _, o := range rv.Objectives {
		v := ""
		if o.Value != nil {
			v = num(*o.Value)
		}
		rows = append(rows, []string{"slo", o.Name, o.Objective + "; " + status(o) + "; " + o.Detail, "", v})
	}
	for _, c := range rv.Frequent {
		rows = append(rows, []string{"frequent", c.Alertname, c.Severity, strconv.Itoa(c.Fired), strconv.Itoa(c.Alerts)})
	}
	for _, f := range rv.Flapping {
		rows = append(rows, []string{"flapping", f.Alertname, f.Fingerprint, strconv.Itoa(f.Fired), ""})
	}
	for _, n := range rv.NeverFired {
		rows = append(rows, []string{"never_fired", n, "", "", ""})
	}
	for _, d := range rv.Failures {
		ratio := ""
		if d.Ratio != nil {
			ratio = num(*d.Ratio)
		}
		rows = append(rows, []string{"delivery_failures", d.Receiver + "/" + d.Integration, d.LastError, strconv.Itoa(d.Failed), ratio})
	}
	for _, s := range rv.Silences {
		rows = append(rows, []string{"silence", s.ID, s.Matchers + "; by " + s.CreatedBy + "; " + s.Comment, "", num(s.RanSeconds)})
	}
	for _, r := range rows {
		for i, c := range r {
			r[i] = csvSafe(c)
		}
	}
	if err := cw.WriteAll(rows); err != nil {
		return fmt.Errorf("write csv: %w", err)
	}
	return nil
}

// csvSafe defuses cells a spreadsheet would run as a formula (a label
// value or comment is the user's text).
func csvSafe(s string) string {
	if s != "" && strings.ContainsRune("=+-@\t\r", rune(s[0])) {
		if _, err := strconv.ParseFloat(s, 64); err != nil {
			return "'" + s
		}
	}
	return s
}
