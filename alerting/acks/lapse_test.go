package acks

import (
	"path/filepath"
	"testing"
	"time"

	"github.com/stretchr/testify/require"
)

// TestSnoozeLapses: a snooze is in force until its Until, then Lapse turns
// it into an un-ack at Until that is on disk, gossiped, and merged the same
// on a peer that lapses it too; an ack without Until never lapses.
func TestSnoozeLapses(t *testing.T) {
	path := filepath.Join(t.TempDir(), "acks.json")
	s := open(t, path)
	var gossip [][]byte
	s.SetBroadcast(func(b []byte) { gossip = append(gossip, b) })
	now := time.Now().UTC()
	until := now.Add(time.Minute)
	_, err := s.AcknowledgeAll([]Target{{Fingerprint: "snoozed", Alertname: "A", Severity: "critical", Team: "db"}},
		Ack{By: "alice", At: now, Reason: ReasonWorkingOn, Until: until})
	require.NoError(t, err)
	_, err = s.Acknowledge("held", "B", "warning", Ack{By: "bob", At: now})
	require.NoError(t, err)

	st, _ := s.Get("snoozed")
	require.Equal(t, "db", st.Team)
	require.True(t, st.AckedAt(until.Add(-time.Second)))
	require.False(t, st.AckedAt(until), "lapsed at Until, before Lapse runs")

	lapsed, err := s.Lapse(until.Add(-time.Second))
	require.NoError(t, err)
	require.Empty(t, lapsed, "not due yet")

	gossip = nil
	lapsed, err = s.Lapse(until)
	require.NoError(t, err)
	require.Len(t, lapsed, 1)
	require.Equal(t, "snoozed", lapsed[0].Fingerprint)
	require.Equal(t, "alice", lapsed[0].Ack.By, "the state as it was, for the re-notification")
	require.Len(t, gossip, 1, "the lapse is gossiped")
	again, err := s.Lapse(until.Add(time.Hour))
	require.NoError(t, err)
	require.Empty(t, again, "a lapse happens once")

	held, _ := s.Get("held")
	require.NotNil(t, held.Ack, "an ack without Until does not lapse")

	// On disk: a restart does not bring the snooze back.
	s2 := open(t, filepath.Join(t.TempDir(), "other.json"))
	require.NoError(t, s2.Merge(mustMarshal(t, s)))
	re := open(t, path)
	st, _ = re.Get("snoozed")
	require.Nil(t, st.Ack)
	require.True(t, st.AckChangedAt.Equal(until))

	// A peer that still had the snooze takes the lapse (later change).
	peer := open(t, filepath.Join(t.TempDir(), "peer.json"))
	_, err = peer.AcknowledgeAll([]Target{{Fingerprint: "snoozed"}}, Ack{By: "alice", At: now, Until: until})
	require.NoError(t, err)
	require.NoError(t, peer.Merge(gossip[0]))
	st, _ = peer.Get("snoozed")
	require.Nil(t, st.Ack)
	for _, x := range []*Store{s, s2, re, peer} {
		require.NoError(t, x.Close())
	}
}

func mustMarshal(t *testing.T, s *Store) []byte {
	b, err := s.MarshalBinary()
	require.NoError(t, err)
	return b
}

func TestCheckReason(t *testing.T) {
	for _, r := range append([]string{""}, Reasons...) {
		require.NoError(t, CheckReason(r))
	}
	require.ErrorContains(t, CheckReason("bored"), `unknown reason "bored"`)
}
