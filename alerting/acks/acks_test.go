package acks

import (
	"encoding/json"
	"fmt"
	"os"
	"path/filepath"
	"testing"
	"time"

	"github.com/prometheus/common/promslog"
	"github.com/stretchr/testify/require"
)

func open(t *testing.T, path string) *Store {
	t.Helper()
	s, err := Open(path, promslog.NewNopLogger())
	require.NoError(t, err)
	return s
}

func TestPersistAndReload(t *testing.T) {
	path := filepath.Join(t.TempDir(), "acks.json")
	s := open(t, path)
	t0 := time.Now().Add(-time.Minute)
	require.Equal(t, []string{"fp1"}, s.Notified(t0, Notice{"fp1", "A", "critical"}))
	require.Empty(t, s.Notified(time.Now(), Notice{"fp1", "A", "critical"}), "only the first notification counts")
	_, err := s.Acknowledge("fp1", "A", "critical", Ack{By: "alice", Comment: "mine", At: time.Now()})
	require.NoError(t, err)
	require.NoError(t, s.Escalated("fp1", Escalation{Step: 1, At: time.Now(), Receiver: "em"}))

	// Acks and escalations are on disk when the call returns, before Close.
	s2 := open(t, path)
	st, ok := s2.Get("fp1")
	require.True(t, ok)
	require.Equal(t, "alice", st.Ack.By)
	require.WithinDuration(t, t0, st.FirstNotifiedAt, time.Millisecond)
	require.Len(t, st.Escalations, 1)
	require.NoError(t, s.Close())

	_, err = s2.Unacknowledge("fp1")
	require.NoError(t, err)
	_, err = s2.Unacknowledge("fp1")
	require.ErrorIs(t, err, ErrUnknownAlert)

	s2.Forget(func(string) bool { return false })
	_, ok = s2.Get("fp1")
	require.False(t, ok)
	require.NoError(t, s2.Close())
	s3 := open(t, path)
	require.Empty(t, s3.List(), "forgetting is persisted on close")
	require.NoError(t, s3.Close())
}

// TestNotifiedStormIsCoalesced: a storm of notifications (100k alerts in
// 1,000 notifications of 100) records every first notification and writes
// the file far fewer times than there are notifications — the write used to
// happen per alert, inside the notification path.
func TestNotifiedStormIsCoalesced(t *testing.T) {
	dir := t.TempDir()
	path := filepath.Join(dir, "acks.json")
	s := open(t, path)
	now := time.Now()
	for n := range 1000 {
		batch := make([]Notice, 100)
		for i := range batch {
			batch[i] = Notice{Fingerprint: fmt.Sprintf("%016x", n*100+i), Alertname: "Storm", Severity: "warning"}
		}
		require.Len(t, s.Notified(now, batch...), 100)
	}
	require.NoError(t, s.Close())
	s2 := open(t, path)
	require.Len(t, s2.List(), 100000)
	require.NoError(t, s2.Close())
	entries, err := os.ReadDir(dir)
	require.NoError(t, err)
	require.Len(t, entries, 1, "no temp files left behind")
}

// BenchmarkNotified measures the notification path's cost per alert; before
// the persister it rewrote and fsynced the whole file for every alert.
func BenchmarkNotified(b *testing.B) {
	s, err := Open(filepath.Join(b.TempDir(), "acks.json"), promslog.NewNopLogger())
	require.NoError(b, err)
	defer s.Close()
	now := time.Now()
	i := 0
	for b.Loop() {
		s.Notified(now, Notice{Fingerprint: fmt.Sprintf("%016x", i), Alertname: "Storm", Severity: "warning"})
		i++
	}
}

// TestMergeConverges: two peers changing the same alert end in the same
// state whatever order the gossip arrives in.
func TestMergeConverges(t *testing.T) {
	a := open(t, filepath.Join(t.TempDir(), "a.json"))
	defer a.Close()
	b := open(t, filepath.Join(t.TempDir(), "b.json"))
	defer b.Close()
	var fromA, fromB [][]byte
	a.SetBroadcast(func(m []byte) { fromA = append(fromA, m) })
	b.SetBroadcast(func(m []byte) { fromB = append(fromB, m) })

	now := time.Now()
	a.Notified(now.Add(-2*time.Minute), Notice{"fp", "X", "critical"})
	b.Notified(now.Add(-time.Minute), Notice{"fp", "X", "critical"})
	_, _ = a.Acknowledge("fp", "X", "critical", Ack{By: "alice", At: now.Add(-30 * time.Second)})
	_, _ = b.Unacknowledge("fp") // b had no ack: no change, no broadcast
	_, _ = b.Acknowledge("fp", "X", "critical", Ack{By: "bob", At: now})
	_ = a.Escalated("fp", Escalation{Step: 1, At: now, Receiver: "em"})

	for _, m := range fromB {
		require.NoError(t, a.Merge(m))
	}
	for i := len(fromA) - 1; i >= 0; i-- { // reverse order
		require.NoError(t, b.Merge(fromA[i]))
	}
	sa, _ := a.Get("fp")
	sb, _ := b.Get("fp")
	require.Equal(t, sa, sb)
	require.Equal(t, "bob", sa.Ack.By, "the later ack wins")
	require.WithinDuration(t, now.Add(-2*time.Minute), sa.FirstNotifiedAt, time.Millisecond, "the earliest first notification wins")
	require.Len(t, sa.Escalations, 1)

	full, err := a.MarshalBinary()
	require.NoError(t, err)
	require.NoError(t, b.Merge(full)) // idempotent
	sb2, _ := b.Get("fp")
	require.Equal(t, sb, sb2)
}

// TestOnMergeSeesGossipedAcks: the hook sees an ack a peer made, once.
func TestOnMergeSeesGossipedAcks(t *testing.T) {
	local, err := Open(filepath.Join(t.TempDir(), "acks.json"), promslog.NewNopLogger())
	require.NoError(t, err)
	defer local.Close()
	var seen []State
	local.SetOnMerge(func(c []State) { seen = append(seen, c...) })
	at := time.Now().UTC()
	b, _ := json.Marshal([]*State{{Fingerprint: "0123456789abcdef", Alertname: "A", Ack: &Ack{By: "bob", At: at}, AckChangedAt: at}})
	require.NoError(t, local.Merge(b))
	require.NoError(t, local.Merge(b), "the same state again changes nothing")
	require.Len(t, seen, 1)
	require.Equal(t, "bob", seen[0].Ack.By)
	b, _ = json.Marshal([]*State{{Fingerprint: "0123456789abcdef", Alertname: "A", AckChangedAt: at.Add(time.Second)}})
	require.NoError(t, local.Merge(b))
	require.Len(t, seen, 2)
	require.Nil(t, seen[1].Ack, "an un-ack")
}
