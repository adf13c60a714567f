package appliance

import (
	"fmt"
	"strings"
	"time"

	"github.com/prometheus/alertmanager/cluster"

	"github.com/smm-architect/smm-appliance/alerting/acks"
	"github.com/smm-architect/smm-appliance/alerting/alertmanager"
	"github.com/smm-architect/smm-appliance/web/audit"
)

// Silences and acks that arrive by gossip are audited like the ones made
// here, with the peer they came from. Gossip messages carry no sender, so
// the peer is every other member at that moment (one, in an HA pair).

// otherPeers names the cluster members other than this one.
func otherPeers(p *cluster.Peer) string {
	self := p.Self().Name
	var out []string
	for _, n := range p.Peers() {
		if n.Name() != self {
			out = append(out, n.Name()+"@"+n.Address())
		}
	}
	return strings.Join(out, ",")
}

func (a *Appliance) auditGossipSilence(p *cluster.Peer) func(alertmanager.GossipedSilence) {
	return func(s alertmanager.GossipedSilence) {
		ev := "silence_gossip"
		if !s.EndsAt.After(time.Now()) {
			ev = "silence_expire_gossip"
		}
		a.writeAudit(audit.Entry{
			Event: ev, User: s.CreatedBy, Peer: otherPeers(p), ID: s.ID,
			Detail: fmt.Sprintf("%s until %s: %s", s.Matchers, s.EndsAt.UTC().Format(time.RFC3339), s.Comment),
		})
	}
}

func (a *Appliance) auditGossipAcks(p *cluster.Peer) func([]acks.State) {
	return func(changed []acks.State) {
		peers := otherPeers(p)
		for _, st := range changed {
			e := audit.Entry{Event: "unack_gossip", Peer: peers, ID: st.Fingerprint, Detail: st.Alertname}
			if st.Ack != nil {
				e.Event, e.User, e.Detail = "ack_gossip", st.Ack.By, st.Alertname+": "+st.Ack.Comment
			}
			a.writeAudit(e)
		}
	}
}
