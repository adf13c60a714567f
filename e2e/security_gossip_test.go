package e2e

import (
	"crypto/ecdsa"
	"crypto/elliptic"
	"crypto/rand"
	"crypto/x509"
	"crypto/x509/pkix"
	"encoding/json"
	"encoding/pem"
	"math/big"
	"net"
	"net/http"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/stretchr/testify/require"
)

// testCA issues certificates for gossip peers.
type testCA struct {
	cert *x509.Certificate
	key  *ecdsa.PrivateKey
	pem  []byte
}

func newTestCA(t *testing.T, name string) *testCA {
	t.Helper()
	key, err := ecdsa.GenerateKey(elliptic.P256(), rand.Reader)
	require.NoError(t, err)
	tmpl := &x509.Certificate{
		SerialNumber: big.NewInt(1), Subject: pkix.Name{CommonName: name},
		NotBefore: time.Now().Add(-time.Hour), NotAfter: time.Now().Add(time.Hour),
		KeyUsage: x509.KeyUsageCertSign | x509.KeyUsageDigitalSignature, IsCA: true, BasicConstraintsValid: true,
	}
	der, err := x509.CreateCertificate(rand.Reader, tmpl, tmpl, &key.PublicKey, key)
	require.NoError(t, err)
	cert, err := x509.ParseCertificate(der)
	require.NoError(t, err)
	return &testCA{cert: cert, key: key, pem: pem.EncodeToMemory(&pem.Block{Type: "CERTIFICATE", Bytes: der})}
}

// gossipTLS writes a --cluster.tls-config file (mutual TLS, Alertmanager's
// format) with a certificate for 127.0.0.1 issued by ca, and returns its path.
func (ca *testCA) gossipTLS(t *testing.T, name string) string {
	t.Helper()
	dir := t.TempDir()
	key, err := ecdsa.GenerateKey(elliptic.P256(), rand.Reader)
	require.NoError(t, err)
	serial, _ := rand.Int(rand.Reader, big.NewInt(1<<62))
	tmpl := &x509.Certificate{
		SerialNumber: serial, Subject: pkix.Name{CommonName: name},
		NotBefore: time.Now().Add(-time.Hour), NotAfter: time.Now().Add(time.Hour),
		IPAddresses: []net.IP{net.ParseIP("127.0.0.1")}, KeyUsage: x509.KeyUsageDigitalSignature,
		ExtKeyUsage: []x509.ExtKeyUsage{x509.ExtKeyUsageServerAuth, x509.ExtKeyUsageClientAuth},
	}
	der, err := x509.CreateCertificate(rand.Reader, tmpl, ca.cert, &key.PublicKey, ca.key)
	require.NoError(t, err)
	kb, err := x509.MarshalECPrivateKey(key)
	require.NoError(t, err)
	require.NoError(t, os.WriteFile(filepath.Join(dir, "ca.crt"), ca.pem, 0o600))
	require.NoError(t, os.WriteFile(filepath.Join(dir, "node.crt"), pem.EncodeToMemory(&pem.Block{Type: "CERTIFICATE", Bytes: der}), 0o600))
	require.NoError(t, os.WriteFile(filepath.Join(dir, "node.key"), pem.EncodeToMemory(&pem.Block{Type: "EC PRIVATE KEY", Bytes: kb}), 0o600))
	p := filepath.Join(dir, "gossip-tls.yml")
	require.NoError(t, os.WriteFile(p, []byte(`tls_server_config:
  cert_file: node.crt
  key_file: node.key
  client_auth_type: RequireAndVerifyClientCert
  client_ca_file: ca.crt
tls_client_config:
  cert_file: node.crt
  key_file: node.key
  ca_file: ca.crt
`), 0o600))
	return p
}

func createSilence(t *testing.T, a *appliance, matcher map[string]any, comment string) string {
	t.Helper()
	now := time.Now().UTC()
	code, body := postJSON(t, a.am+"/api/v2/silences", map[string]any{
		"matchers": []map[string]any{matcher},
		"startsAt": now.Format(time.RFC3339), "endsAt": now.Add(time.Hour).Format(time.RFC3339),
		"createdBy": comment + "-author", "comment": comment,
	})
	require.Equal(t, http.StatusOK, code, string(body))
	var resp struct {
		SilenceID string `json:"silenceID"`
	}
	require.NoError(t, json.Unmarshal(body, &resp))
	return resp.SilenceID
}

func silenceComments(t *testing.T, a *appliance) []string {
	var sils []struct {
		Comment string `json:"comment"`
	}
	getJSON(t, a.am+"/api/v2/silences", &sils)
	var out []string
	for _, s := range sils {
		out = append(out, s.Comment)
	}
	return out
}

type gossipAuditLine struct {
	Event, User, Peer, ID, Detail string
}

func gossipAudit(t *testing.T, a *appliance, event string) []gossipAuditLine {
	var resp struct {
		Data []gossipAuditLine `json:"data"`
	}
	getJSON(t, a.web+"/api/v1/appliance/audit?event="+event, &resp)
	return resp.Data
}

var gossipFlags = []string{"--cluster.peer-timeout=1s", "--cluster.settle-timeout=2s", "--cluster.pushpull-interval=2s"}

// TestSecurityGossipAudit: a silence and an ack made on one node of an HA
// pair are audited on the other with the peer they came from.
func TestSecurityGossipAudit(t *testing.T) {
	exp, hook := newExporter(t), newWebhook(t)
	cfg := copyConfig(t, "basic")
	env := basicEnv(exp, hook)
	seed, second := freePort(t), freePort(t)
	a := startAppliance(t, cfg, t.TempDir(), env, append(gossipFlags, "--cluster.listen-address="+seed, "--cluster.peer="+seed)...)
	b := startAppliance(t, cfg, t.TempDir(), env, append(gossipFlags, "--cluster.listen-address="+second, "--cluster.peer="+seed)...)
	waitFor(t, 30*time.Second, "two peers on both nodes", func() bool { return clusterPeers(t, a) == 2 && clusterPeers(t, b) == 2 })

	id := createSilence(t, b, map[string]any{"name": "alertname", "value": "GossipAudit", "isRegex": false, "isEqual": true}, "from-b")
	var line gossipAuditLine
	waitFor(t, 15*time.Second, "the gossiped silence in a's audit log", func() bool {
		for _, l := range gossipAudit(t, a, "silence_gossip") {
			if l.ID == id {
				line = l
				return true
			}
		}
		return false
	})
	require.Contains(t, line.Peer, second, "the entry names the peer (its cluster address)")
	require.Equal(t, "from-b-author", line.User)
	require.Contains(t, line.Detail, `alertname="GossipAudit"`)
	require.Empty(t, gossipAudit(t, b, "silence_gossip"), "b made it: audited there as its own API call, not as gossip")

	// An ack on b: the alert must have been notified there first.
	code, body := postJSON(t, b.am+"/api/v2/alerts", []map[string]any{{"labels": map[string]string{"alertname": "GossipAck", "severity": "critical"}}})
	require.Equal(t, http.StatusOK, code, string(body))
	var fp string
	waitFor(t, 20*time.Second, "GossipAck notified on b", func() bool {
		var resp struct {
			Data []struct {
				Fingerprint string            `json:"fingerprint"`
				Labels      map[string]string `json:"labels"`
				FirstNotAt  string            `json:"firstNotifiedAt"`
			} `json:"data"`
		}
		getJSON(t, b.web+"/api/v1/appliance/alerts", &resp)
		for _, al := range resp.Data {
			if al.Labels["alertname"] == "GossipAck" && al.FirstNotAt != "" && len(hook.matching("GossipAck", "firing")) > 0 {
				fp = al.Fingerprint
				return true
			}
		}
		return false
	})
	code, body = postJSON(t, b.web+"/api/v1/appliance/acks", map[string]any{"fingerprints": []string{fp}, "by": "carol", "comment": "looking"})
	require.Equal(t, http.StatusOK, code, string(body))
	waitFor(t, 15*time.Second, "the gossiped ack in a's audit log", func() bool {
		for _, l := range gossipAudit(t, a, "ack_gossip") {
			if l.ID == fp && l.User == "carol" && strings.Contains(l.Peer, second) {
				return true
			}
		}
		return false
	})
}

// TestSecurityGossipTLS: with --cluster.tls-config (mutual TLS), a stranger
// without a certificate, or with one from another CA, cannot join, and its
// match-everything silence is never applied; a member's silence is, and is
// audited with the member.
func TestSecurityGossipTLS(t *testing.T) {
	exp, hook := newExporter(t), newWebhook(t)
	cfg := copyConfig(t, "basic")
	env := basicEnv(exp, hook)
	ca := newTestCA(t, "smm-gossip-ca")
	seed, second := freePort(t), freePort(t)
	a := startAppliance(t, cfg, t.TempDir(), env, append(gossipFlags, "--cluster.listen-address="+seed, "--cluster.peer="+seed, "--cluster.tls-config="+ca.gossipTLS(t, "a"))...)
	b := startAppliance(t, cfg, t.TempDir(), env, append(gossipFlags, "--cluster.listen-address="+second, "--cluster.peer="+seed, "--cluster.tls-config="+ca.gossipTLS(t, "b"))...)
	waitFor(t, 30*time.Second, "two peers on both nodes", func() bool { return clusterPeers(t, a) == 2 && clusterPeers(t, b) == 2 })

	plain := startAppliance(t, cfg, t.TempDir(), env, append(gossipFlags, "--cluster.listen-address="+freePort(t), "--cluster.peer="+seed)...)
	other := newTestCA(t, "rogue-ca")
	forged := startAppliance(t, cfg, t.TempDir(), env, append(gossipFlags, "--cluster.listen-address="+freePort(t), "--cluster.peer="+seed, "--cluster.tls-config="+other.gossipTLS(t, "rogue"))...)
	everything := map[string]any{"name": "alertname", "value": ".+", "isRegex": true, "isEqual": true}
	createSilence(t, plain, everything, "rogue-plain")
	createSilence(t, forged, everything, "rogue-forged-cert")

	id := createSilence(t, b, map[string]any{"name": "alertname", "value": "Legit", "isRegex": false, "isEqual": true}, "legit")
	waitFor(t, 15*time.Second, "b's silence on a", func() bool { return len(silenceComments(t, a)) > 0 })
	time.Sleep(6 * time.Second) // three push-pull intervals for a stranger to get in
	for _, n := range []*appliance{a, b} {
		require.Equal(t, []string{"legit"}, silenceComments(t, n), "only the member's silence is applied")
		require.Equal(t, 2, clusterPeers(t, n), "no stranger joined")
	}
	var found bool
	for _, l := range gossipAudit(t, a, "silence_gossip") {
		if l.ID == id && strings.Contains(l.Peer, second) {
			found = true
		}
		require.NotContains(t, l.Detail, "rogue")
	}
	require.True(t, found, "the member's silence is audited with the member")
}
