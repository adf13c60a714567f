// Package dashboards reads and validates the appliance's dashboards — files
// of PromQL panels with label-value variables, a time range and a refresh —
// and exports them as Grafana dashboard JSON. The files live in
// configs/dashboards (embedded defaults) and in --config.dir/dashboards;
// appliance/configfiles finds them, the web API serves them and the console
// draws them.
package dashboards

import (
	"bytes"
	"errors"
	"fmt"
	"regexp"
	"slices"
	"strings"
	"time"

	"github.com/prometheus/common/model"
	"github.com/prometheus/prometheus/promql/parser"
	"go.yaml.in/yaml/v3"
)

// Panel types.
const (
	TimeSeries = "timeseries" // a range query drawn as a graph
	Stat       = "stat"       // one instant value coloured by thresholds
	Table      = "table"      // an instant query, one row per series
)

// Dashboard is one dashboard file.
type Dashboard struct {
	UID         string     `yaml:"uid" json:"uid"`
	Title       string     `yaml:"title" json:"title"`
	Description string     `yaml:"description,omitempty" json:"description,omitempty"`
	Tags        []string   `yaml:"tags,omitempty" json:"tags,omitempty"`
	Time        string     `yaml:"time,omitempty" json:"time"`       // default range, e.g. 6h
	Refresh     string     `yaml:"refresh,omitempty" json:"refresh"` // e.g. 30s; "off" for none
	Variables   []Variable `yaml:"variables,omitempty" json:"variables"`
	Panels      []Panel    `yaml:"panels" json:"panels"`

	// Set by the loader, not the file.
	File   string     `yaml:"-" json:"file,omitempty"`   // name relative to the configuration directory
	Origin string     `yaml:"-" json:"origin,omitempty"` // embedded, overridden or added
	Alerts []AlertRef `yaml:"-" json:"alerts"`           // the alerting rules whose dashboard_url opens this dashboard
	line   int
}

// Variable is a select filled from label values: the values of Label on
// the series of Metric (Grafana's label_values(Metric, Label)). Panels
// refer to it as $Name, usually in a regex matcher (label=~"$name"), since
// the value "All" stands for ".*".
type Variable struct {
	Name   string `yaml:"name" json:"name"`
	Label  string `yaml:"label,omitempty" json:"label"` // defaults to Name
	Metric string `yaml:"metric" json:"metric"`
	Title  string `yaml:"title,omitempty" json:"title,omitempty"`
	line   int
}

// Panel is one PromQL panel.
type Panel struct {
	Title       string      `yaml:"title" json:"title"`
	Type        string      `yaml:"type" json:"type"`
	Expr        string      `yaml:"expr" json:"expr"`
	Legend      string      `yaml:"legend,omitempty" json:"legend,omitempty"` // {{label}} template of a series' name
	Unit        string      `yaml:"unit,omitempty" json:"unit,omitempty"`     // percentunit, seconds, bytes, dollars, reqps or empty
	Thresholds  []Threshold `yaml:"thresholds,omitempty" json:"thresholds,omitempty"`
	Description string      `yaml:"description,omitempty" json:"description,omitempty"`
	Width       int         `yaml:"width,omitempty" json:"width"` // of 24 columns, as in Grafana
	line        int
}

// Threshold is a step: from Value up (from minus infinity when Value is
// nil), a value is shown in Color.
type Threshold struct {
	Value *float64 `yaml:"value,omitempty" json:"value"`
	Color string   `yaml:"color" json:"color"`
}

// Colors a threshold may name: the ones Grafana and the console both know.
var Colors = []string{"green", "yellow", "orange", "red", "blue"}

// All is the value of a variable that matches every label value.
const All = "All"

var varRef = regexp.MustCompile(`\$([A-Za-z_][A-Za-z0-9_]*)|\$\{([A-Za-z_][A-Za-z0-9_]*)\}`)

var uidRE = regexp.MustCompile(`^[a-z0-9][a-z0-9-]{0,39}$`)

// Parse reads one dashboard file. Errors name the file and the line.
func Parse(name string, data []byte) (*Dashboard, error) {
	var root yaml.Node
	if err := yaml.Unmarshal(data, &root); err != nil {
		return nil, fmt.Errorf("%s: %w", name, err)
	}
	var d Dashboard
	dec := yaml.NewDecoder(bytes.NewReader(data))
	dec.KnownFields(true)
	if err := dec.Decode(&d); err != nil {
		return nil, fmt.Errorf("%s: %w", name, err)
	}
	d.File = name
	d.line = 1
	// Lists as [] in JSON, never null: the console maps over them.
	if d.Variables == nil {
		d.Variables = []Variable{}
	}
	d.Alerts = []AlertRef{}
	if len(root.Content) == 1 {
		doc := root.Content[0]
		d.line = keyLine(doc, "uid", doc.Line)
		for i, n := range items(doc, "panels") {
			if i < len(d.Panels) {
				d.Panels[i].line = keyLine(n, "expr", n.Line)
			}
		}
		for i, n := range items(doc, "variables") {
			if i < len(d.Variables) {
				d.Variables[i].line = n.Line
			}
		}
	}
	if err := d.validate(); err != nil {
		return nil, err
	}
	return &d, nil
}

// items returns the nodes of the sequence under key in a mapping node.
func items(m *yaml.Node, key string) []*yaml.Node {
	for i := 0; i+1 < len(m.Content); i += 2 {
		if m.Content[i].Value == key && m.Content[i+1].Kind == yaml.SequenceNode {
			return m.Content[i+1].Content
		}
	}
	return nil
}

// keyLine is the line of key's value in a mapping node, or def.
func keyLine(m *yaml.Node, key string, def int) int {
	for i := 0; i+1 < len(m.Content); i += 2 {
		if m.Content[i].Value == key {
			return m.Content[i+1].Line
		}
	}
	return def
}

// Line is the line of the dashboard's uid in its file.
func (d *Dashboard) Line() int { return d.line }

func (d *Dashboard) validate() error {
	at := func(line int, format string, args ...any) error {
		return fmt.Errorf("%s:%d: %s", d.File, line, fmt.Sprintf(format, args...))
	}
	var errs []error
	if !uidRE.MatchString(d.UID) {
		errs = append(errs, at(d.line, "uid %q: want 1 to 40 lower-case letters, digits and dashes (it is part of the URL)", d.UID))
	}
	if d.Title == "" {
		errs = append(errs, at(d.line, "title is empty"))
	}
	if d.Time == "" {
		d.Time = "6h"
	}
	if _, err := model.ParseDuration(d.Time); err != nil {
		errs = append(errs, at(d.line, "time %q: %s", d.Time, err))
	}
	if d.Refresh == "" {
		d.Refresh = "30s"
	}
	if d.Refresh != "off" {
		if r, err := model.ParseDuration(d.Refresh); err != nil || time.Duration(r) < 5*time.Second {
			errs = append(errs, at(d.line, "refresh %q: want a duration of at least 5s, or off", d.Refresh))
		}
	}
	vars := map[string]bool{}
	for i := range d.Variables {
		v := &d.Variables[i]
		if v.Label == "" {
			v.Label = v.Name
		}
		if !model.LabelName(v.Name).IsValidLegacy() || strings.HasPrefix(v.Name, "__") {
			errs = append(errs, at(v.line, "variable name %q is not a valid name", v.Name))
		}
		if vars[v.Name] {
			errs = append(errs, at(v.line, "variable %q defined twice", v.Name))
		}
		vars[v.Name] = true
		if !model.LabelName(v.Label).IsValid() {
			errs = append(errs, at(v.line, "variable %q: label %q is not a label name", v.Name, v.Label))
		}
		if _, err := promql.ParseMetricSelector(v.Metric); err != nil {
			errs = append(errs, at(v.line, "variable %q: metric %q: %s", v.Name, v.Metric, err))
		}
	}
	if len(d.Panels) == 0 {
		errs = append(errs, at(d.line, "no panels"))
	}
	for i := range d.Panels {
		p := &d.Panels[i]
		if p.Title == "" {
			errs = append(errs, at(p.line, "panel %d has no title", i+1))
		}
		if !slices.Contains([]string{TimeSeries, Stat, Table}, p.Type) {
			errs = append(errs, at(p.line, "panel %q: type %q: want timeseries, stat or table", p.Title, p.Type))
		}
		if p.Width == 0 {
			p.Width = map[string]int{TimeSeries: 12, Stat: 6, Table: 24}[p.Type]
		}
		if p.Width < 1 || p.Width > 24 {
			errs = append(errs, at(p.line, "panel %q: width %d: want 1 to 24 columns", p.Title, p.Width))
		}
		for _, m := range varRef.FindAllStringSubmatch(p.Expr, -1) {
			if n := m[1] + m[2]; !vars[n] {
				errs = append(errs, at(p.line, "panel %q: $%s is not a variable of this dashboard", p.Title, n))
			}
		}
		if _, err := promql.ParseExpr(Expand(p.Expr, nil)); err != nil {
			errs = append(errs, at(p.line, "panel %q: %s", p.Title, oneLine(err)))
		}
		for j, th := range p.Thresholds {
			if !slices.Contains(Colors, th.Color) {
				errs = append(errs, at(p.line, "panel %q: threshold color %q: want one of %s", p.Title, th.Color, strings.Join(Colors, ", ")))
			}
			if j > 0 && (th.Value == nil || (p.Thresholds[j-1].Value != nil && *th.Value <= *p.Thresholds[j-1].Value)) {
				errs = append(errs, at(p.line, "panel %q: thresholds must rise, the first may have no value", p.Title))
			}
		}
	}
	return errors.Join(errs...)
}

func oneLine(err error) string { return strings.ReplaceAll(err.Error(), "\n", "; ") }

// Expand substitutes the variables in expr: a chosen value regex-quoted,
// All (or a variable without a value) as ".*", so that label=~"$v"
// matches what the select shows.
func Expand(expr string, values map[string]string) string {
	return varRef.ReplaceAllStringFunc(expr, func(ref string) string {
		m := varRef.FindStringSubmatch(ref)
		v, ok := values[m[1]+m[2]]
		if !ok || v == "" || v == All {
			return ".*"
		}
		// Inside a PromQL string: the regex escapes' backslashes doubled.
		return strings.ReplaceAll(strings.ReplaceAll(regexp.QuoteMeta(v), `\`, `\\`), `"`, `\"`)
	})
}

// Check validates a set of dashboards together: a uid names one dashboard.
func Check(ds []*Dashboard) error {
	seen := map[string]*Dashboard{}
	var errs []error
	for _, d := range ds {
		if o, ok := seen[d.UID]; ok {
			errs = append(errs, fmt.Errorf("%s:%d: uid %q already used by %s:%d", d.File, d.line, d.UID, o.File, o.line))
			continue
		}
		seen[d.UID] = d
	}
	return errors.Join(errs...)
}

// promql parses as the appliance's query engine does.
var promql = parser.NewParser(parser.Options{})
