package dashboards

import (
	"math"
	"net/url"
	"regexp"
	"strings"

	"github.com/prometheus/prometheus/promql/parser"
)

// AlertRef is an alerting rule whose dashboard_url opens a dashboard. The
// console draws it as the panel an on-call lands on: Query (the rule's
// expression without its final comparison) against Threshold, the series
// filtered by the alert's labels.
type AlertRef struct {
	Name      string   `json:"name"`
	Expr      string   `json:"expr"`                // the rule's expression
	Query     string   `json:"query"`               // the value compared, or Expr when there is no comparison
	Op        string   `json:"op,omitempty"`        // >, <, >=, <=, == or !=
	Threshold *float64 `json:"threshold,omitempty"` // the number Query is compared with
	// ThresholdQuery is the expression Query is compared with when that is
	// not a number (spend > weekly allocation).
	ThresholdQuery string            `json:"thresholdQuery,omitempty"`
	For            string            `json:"for,omitempty"`
	Labels         map[string]string `json:"labels,omitempty"` // the rule's static labels (severity, team)
	Vars           []string          `json:"vars,omitempty"`   // variables its URL sets (var-NAME)
}

// dashboardLink finds the uid and variables of an appliance dashboard URL
// in a dashboard_url annotation (a template: {{ $externalURL }}/#/dashboards/UID?var-x={{ … }}).
var dashboardLink = regexp.MustCompile(`#/dashboards/([a-z0-9-]+)(\?.*)?`)

// LinkedUID returns the uid and variable names a dashboard_url annotation
// opens, ok false when it is not a link to an appliance dashboard.
func LinkedUID(annotation string) (uid string, vars []string, ok bool) {
	m := dashboardLink.FindStringSubmatch(annotation)
	if m == nil {
		return "", nil, false
	}
	for _, part := range strings.Split(strings.TrimPrefix(m[2], "?"), "&") {
		k, _, _ := strings.Cut(part, "=")
		if name, ok := strings.CutPrefix(k, "var-"); ok {
			vars = append(vars, name)
		}
	}
	return m[1], vars, true
}

// NewAlertRef splits a rule's expression into the value compared and its
// threshold: `A > 0.05` gives Query A, Op >, Threshold 0.05; `A > 1 and B`
// or `A > 1 or C > 1` take the first comparison; an expression with no
// comparison to a number is drawn as it is.
func NewAlertRef(name, expr string) AlertRef {
	ref := AlertRef{Name: name, Expr: strings.TrimSpace(expr), Query: strings.TrimSpace(expr)}
	e, err := promql.ParseExpr(expr)
	if err != nil {
		return ref
	}
	if c, ok := comparison(e); ok {
		ref.Query, ref.Op, ref.Threshold, ref.ThresholdQuery = c.query, c.op, c.value, c.other
	}
	return ref
}

type compared struct {
	query, op, other string
	value            *float64
}

// comparison finds the first comparison of e: at the top, in the left
// operand of and/or/unless, or in the first argument of label_replace and
// label_join (the TSDBFailures shape).
func comparison(e parser.Expr) (compared, bool) {
	switch x := unparen(e).(type) {
	case *parser.BinaryExpr:
		if x.Op.IsComparisonOperator() {
			if n, isNum := constant(x.RHS); isNum {
				return compared{query: x.LHS.String(), op: x.Op.String(), value: &n}, true
			}
			if n, isNum := constant(x.LHS); isNum {
				return compared{query: x.RHS.String(), op: flip(x.Op.String()), value: &n}, true
			}
			return compared{query: x.LHS.String(), op: x.Op.String(), other: x.RHS.String()}, true
		}
		if x.Op.IsSetOperator() {
			return comparison(x.LHS)
		}
	case *parser.Call:
		if (x.Func.Name == "label_replace" || x.Func.Name == "label_join") && len(x.Args) > 0 {
			return comparison(x.Args[0])
		}
	}
	return compared{}, false
}

// constant evaluates a number expression such as 72 * 3600 or 2^30, as
// thresholds are often written.
func constant(e parser.Expr) (float64, bool) {
	switch n := unparen(e).(type) {
	case *parser.NumberLiteral:
		return n.Val, true
	case *parser.UnaryExpr:
		v, ok := constant(n.Expr)
		if n.Op == parser.SUB {
			v = -v
		}
		return v, ok
	case *parser.BinaryExpr:
		l, lok := constant(n.LHS)
		r, rok := constant(n.RHS)
		if !lok || !rok {
			return 0, false
		}
		switch n.Op {
		case parser.ADD:
			return l + r, true
		case parser.SUB:
			return l - r, true
		case parser.MUL:
			return l * r, true
		case parser.DIV:
			return l / r, true
		case parser.POW:
			return math.Pow(l, r), true
		}
	}
	return 0, false
}

func unparen(e parser.Expr) parser.Expr {
	for {
		p, ok := e.(*parser.ParenExpr)
		if !ok {
			return e
		}
		e = p.Expr
	}
}

// flip turns `5 < x` into `x > 5`.
func flip(op string) string {
	switch op {
	case ">":
		return "<"
	case "<":
		return ">"
	case ">=":
		return "<="
	case "<=":
		return ">="
	}
	return op
}

// URL is the console path of a dashboard with variables set, relative to
// the external URL.
func URL(uid string, vars map[string]string, alert string) string {
	q := url.Values{}
	for k, v := range vars {
		q.Set("var-"+k, v)
	}
	if alert != "" {
		q.Set("alert", alert)
	}
	s := "/#/dashboards/" + uid
	if len(q) > 0 {
		s += "?" + q.Encode()
	}
	return s
}
