package e2e

import (
	"encoding/json"
	"fmt"
	"net/http"
	"net/http/httptest"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/stretchr/testify/require"
)

// pagerCall is one alert of one notification the fake pager received.
type pagerCall struct {
	receiver, alertname, status, chain, step string
	at                                       time.Time
}

// pager stands in for every receiver of the escalation config (the path
// names the receiver) and keeps what it got in the order it got it.
type pager struct {
	srv *httptest.Server
	mu  sync.Mutex
	got []pagerCall
}

func newPager(t *testing.T) *pager {
	p := &pager{}
	p.srv = httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		var n notification
		if err := json.NewDecoder(r.Body).Decode(&n); err != nil {
			http.Error(w, err.Error(), http.StatusBadRequest)
			return
		}
		now := time.Now()
		p.mu.Lock()
		defer p.mu.Unlock()
		for _, a := range n.Alerts {
			p.got = append(p.got, pagerCall{
				receiver: strings.TrimPrefix(r.URL.Path, "/"), alertname: a.Labels["alertname"], status: a.Status,
				chain: a.Labels["escalation_chain"], step: a.Labels["escalation_step"], at: now,
			})
		}
	}))
	t.Cleanup(p.srv.Close)
	return p
}

// pages returns the firing pages for alertname, in order.
func (p *pager) pages(alertname string) []pagerCall {
	p.mu.Lock()
	defer p.mu.Unlock()
	var out []pagerCall
	for _, g := range p.got {
		if g.alertname == alertname && g.status == "firing" {
			out = append(out, g)
		}
	}
	return out
}

// escalationPosition is an entry of GET /api/v1/appliance/escalations.
type escalationPosition struct {
	Fingerprint string `json:"fingerprint"`
	Alertname   string `json:"alertname"`
	Chain       string `json:"chain"`
	State       string `json:"state"`
	Done        []struct {
		Step     int       `json:"step"`
		Receiver string    `json:"receiver"`
		At       time.Time `json:"at"`
	} `json:"done"`
	Next *struct {
		Step     int       `json:"step"`
		Receiver string    `json:"receiver"`
		DueAt    time.Time `json:"dueAt"`
	} `json:"next"`
}

func escalationPositions(t *testing.T, a *appliance) map[string]escalationPosition {
	var resp struct {
		Data []escalationPosition `json:"data"`
	}
	getJSON(t, a.web+"/api/v1/appliance/escalations", &resp)
	out := map[string]escalationPosition{}
	for _, p := range resp.Data {
		out[p.Alertname] = p
	}
	return out
}

func escalationEnv(e *exporter, p *pager) map[string]string {
	return map[string]string{"E2E_EXPORTER": e.addr(), "E2E_PAGER_URL": p.srv.URL}
}

// TestEscalationChains: on the real binary, a critical database alert goes
// through its two-step chain (2 s → secondary, 4 s → manager), each step
// delivered once and in order at the step's receiver; another team's
// critical follows the default chain; an acknowledged alert goes nowhere;
// the API shows where each alert is.
func TestEscalationChains(t *testing.T) {
	exp, pg := newExporter(t), newPager(t)
	a := startAppliance(t, copyConfig(t, "escalation"), t.TempDir(), escalationEnv(exp, pg))
	exp.set("e2e_acked", 1)
	ackedFP := amAlertFP(t, a, "E2EDatabaseAcked")
	code, body := postJSON(t, a.web+"/api/v1/appliance/acks", map[string]any{"fingerprints": []string{ackedFP}, "by": "alice"})
	require.Equal(t, http.StatusOK, code, string(body))
	exp.set("e2e_database", 1)
	exp.set("e2e_platform", 1)

	waitFor(t, 20*time.Second, "both steps of the database chain and the default chain's step", func() bool {
		return len(pg.pages("E2EDatabaseDown")) >= 3 && len(pg.pages("E2EPlatformDown")) >= 2
	})
	waitChecks(t, a, 8) // more rounds of the engine: nothing is sent again

	db := pg.pages("E2EDatabaseDown")
	require.Len(t, db, 3, "the team's notification and one page per step: %+v", db)
	require.Equal(t, pagerCall{receiver: "team", alertname: "E2EDatabaseDown", status: "firing"}, pagerCall{receiver: db[0].receiver, alertname: db[0].alertname, status: db[0].status})
	require.Equal(t, []string{"secondary", "critical-database", "1"}, []string{db[1].receiver, db[1].chain, db[1].step}, "step 1 first, to the secondary")
	require.Equal(t, []string{"manager", "critical-database", "2"}, []string{db[2].receiver, db[2].chain, db[2].step}, "then step 2, to the manager")
	// 2 s after the first notification, then 4 s: the steps are about 2 s
	// apart (check rounds are 250 ms).
	require.Greater(t, db[1].at.Sub(db[0].at), 1500*time.Millisecond, "step 1 came early")
	require.Greater(t, db[2].at.Sub(db[1].at), 1500*time.Millisecond, "step 2 came early")

	plat := pg.pages("E2EPlatformDown")
	require.Len(t, plat, 2, "%+v", plat)
	require.Equal(t, []string{"manager", "critical", "1"}, []string{plat[1].receiver, plat[1].chain, plat[1].step}, "another team's critical follows the default chain")

	acked := pg.pages("E2EDatabaseAcked")
	require.Len(t, acked, 1, "an acknowledged alert is not escalated: %+v", acked)
	require.Equal(t, "team", acked[0].receiver)

	pos := escalationPositions(t, a)
	d := pos["E2EDatabaseDown"]
	require.Equal(t, "critical-database", d.Chain)
	require.Equal(t, "complete", d.State)
	require.Nil(t, d.Next)
	require.Len(t, d.Done, 2)
	require.Equal(t, []string{"secondary", "manager"}, []string{d.Done[0].Receiver, d.Done[1].Receiver})
	require.True(t, d.Done[0].At.Before(d.Done[1].At))
	require.Equal(t, "critical", pos["E2EPlatformDown"].Chain)
	ack := pos["E2EDatabaseAcked"]
	require.Equal(t, "acknowledged", ack.State)
	require.Empty(t, ack.Done)
	require.NotNil(t, ack.Next)
	require.Equal(t, 1, ack.Next.Step)
	require.True(t, ack.Next.DueAt.IsZero(), "no step is due while the ack holds")

	var status struct {
		Data struct {
			Escalation struct {
				Chains []struct {
					Name  string `json:"name"`
					Steps []struct {
						After    string `json:"after"`
						Receiver string `json:"receiver"`
					} `json:"steps"`
				} `json:"chains"`
			} `json:"escalation"`
		} `json:"data"`
	}
	getJSON(t, a.web+"/api/v1/appliance/status", &status)
	chains := status.Data.Escalation.Chains
	require.Len(t, chains, 2)
	require.Equal(t, "critical-database", chains[0].Name)
	require.Equal(t, "4s", chains[0].Steps[1].After)
	require.Equal(t, "manager", chains[0].Steps[1].Receiver)
}

// TestUIEscalation: the console's Escalation page shows the chains and
// where each firing alert is on its chain, in Chromium.
func TestUIEscalation(t *testing.T) {
	exp, pg := newExporter(t), newPager(t)
	a := startAppliance(t, copyConfig(t, "escalation"), t.TempDir(), escalationEnv(exp, pg))
	requireConsole(t, a)
	exp.set("e2e_acked", 1)
	ackedFP := amAlertFP(t, a, "E2EDatabaseAcked")
	code, body := postJSON(t, a.web+"/api/v1/appliance/acks", map[string]any{"fingerprints": []string{ackedFP}, "by": "alice"})
	require.Equal(t, http.StatusOK, code, string(body))
	exp.set("e2e_database", 1)
	waitFor(t, 20*time.Second, "both steps of the database chain", func() bool { return len(pg.pages("E2EDatabaseDown")) >= 3 })
	dbFP := escalationPositions(t, a)["E2EDatabaseDown"].Fingerprint // the store holds its copies too
	require.NotEmpty(t, dbFP)

	b := newUIBrowser(t, a.web)
	b.open(t, "#/alerts")
	b.click(t, `#nav a[data-page="escalation"]`)
	b.waitPage(t, "#/escalation")

	// The chains, in order, with their steps.
	b.wait(t, 10*time.Second, "the chains", `document.querySelectorAll('#chains-table .chain-row').length === 2`)
	require.Equal(t, []string{"critical-database", "critical"}, eval[[]string](t, b, `[...document.querySelectorAll('#chains-table .chain-row')].map((r) => r.dataset.chain)`))
	require.Equal(t, "2s → secondary\n4s → manager", eval[string](t, b, `document.querySelector('.chain-row[data-chain="critical-database"] .chain-steps').innerText.trim()`))

	// The database alert has gone through both steps; the acknowledged
	// one is stopped before its first.
	row := func(fp string) string { return fmt.Sprintf(`.escalation-row[data-fp=%q]`, fp) }
	b.wait(t, 15*time.Second, "the database alert's steps done", `document.querySelector('`+row(dbFP)+`').dataset.state === 'complete'`)
	require.Equal(t, []string{"done", "done"}, eval[[]string](t, b, `[...document.querySelectorAll('`+row(dbFP)+` .chain-progress li')].map((li) => li.dataset.state)`))
	require.Contains(t, eval[string](t, b, `document.querySelector('`+row(dbFP)+`').innerText`), "2s → secondary")
	b.wait(t, 10*time.Second, "the acknowledged alert", `document.querySelector('`+row(ackedFP)+`')`)
	require.Equal(t, "acknowledged", eval[string](t, b, `document.querySelector('`+row(ackedFP)+`').dataset.state`))
	require.Equal(t, []string{"next", "later"}, eval[[]string](t, b, `[...document.querySelectorAll('`+row(ackedFP)+` .chain-progress li')].map((li) => li.dataset.state)`))
	require.Contains(t, eval[string](t, b, `document.querySelector('`+row(ackedFP)+`').innerText`), "stopped by the ack")
	b.screenshot(t, "escalation", true)
	require.Empty(t, b.jsErrors())
}
