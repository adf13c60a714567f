package acks

import (
	"encoding/json"
	"fmt"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/prometheus/common/promslog"
	"github.com/stretchr/testify/require"

	"github.com/smm-architect/smm-appliance/storage/persist"
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
	require.Equal(t, []string{"fp1"}, s.Notified(t0, Notice{"fp1", "A", "critical", ""}))
	require.Empty(t, s.Notified(time.Now(), Notice{"fp1", "A", "critical", ""}), "only the first notification counts")
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

	s2.SetRetention(0)
	s2.Forget(func(string) bool { return false }) // starts the clock
	s2.Forget(func(string) bool { return false }) // retention 0: gone
	_, ok = s2.Get("fp1")
	require.False(t, ok)
	require.NoError(t, s2.Close())
	s3 := open(t, path)
	require.Empty(t, s3.List(), "forgetting is persisted on close")
	require.NoError(t, s3.Close())
}

// TestAckOutlivesTheAlertStore: an ack is kept while its alert is missing
// from the alert store (a restart lost it, alerts.json was damaged) and
// forgotten only after Retention; an alert that comes back is still acked.
func TestAckOutlivesTheAlertStore(t *testing.T) {
	s := open(t, filepath.Join(t.TempDir(), "acks.json"))
	defer s.Close()
	now := time.Now()
	s.now = func() time.Time { return now }
	s.SetRetention(time.Hour)
	_, err := s.Acknowledge("fp1", "A", "critical", Ack{By: "alice", At: now})
	require.NoError(t, err)

	none := func(string) bool { return false }
	s.Forget(none)
	now = now.Add(59 * time.Minute)
	s.Forget(none)
	st, ok := s.Get("fp1")
	require.True(t, ok, "absent for less than the retention: kept")
	require.Equal(t, "alice", st.Ack.By)

	s.Forget(func(string) bool { return true }) // it came back
	st, _ = s.Get("fp1")
	require.True(t, st.GoneSince.IsZero())
	require.NotNil(t, st.Ack, "the same fingerprint again: still acked")

	now = now.Add(2 * time.Hour)
	s.Forget(none)
	now = now.Add(time.Hour)
	s.Forget(none)
	_, ok = s.Get("fp1")
	require.False(t, ok, "gone for the retention: forgotten")
}

// TestAckManyIsOneWrite: acking N alerts (and one fingerprint many times)
// is one write, and the comment is stored once.
func TestAckManyIsOneWrite(t *testing.T) {
	path := filepath.Join(t.TempDir(), "acks.json")
	s := open(t, path)
	defer s.Close()
	comment := strings.Repeat("c", 100<<10)
	var targets []Target
	for i := range 100 {
		targets = append(targets, Target{Fingerprint: fmt.Sprintf("%016x", i), Alertname: "A", Severity: "critical"})
	}
	for range 5000 {
		targets = append(targets, Target{Fingerprint: fmt.Sprintf("%016x", 0), Alertname: "A", Severity: "critical"})
	}
	start := time.Now()
	out, err := s.AcknowledgeAll(targets, Ack{By: "alice", Comment: comment, At: time.Now()})
	require.NoError(t, err)
	require.Len(t, out, 100, "a fingerprint given twice counts once")
	fi, err := os.Stat(path)
	require.NoError(t, err)
	require.Less(t, fi.Size(), int64(2*len(comment)), "the comment is stored once")
	t.Logf("100 alerts + 5,000 copies, 100 KB comment: %s, file %d bytes", time.Since(start), fi.Size())

	s2 := open(t, path)
	defer s2.Close()
	st, ok := s2.Get(fmt.Sprintf("%016x", 99))
	require.True(t, ok)
	require.Equal(t, comment, st.Ack.Comment)
}

// TestNotDurableIsRolledBack: when the file cannot be written, an ack,
// un-ack or escalation step is refused (persist.ErrNotDurable) and not in
// force.
func TestNotDurableIsRolledBack(t *testing.T) {
	dir := filepath.Join(t.TempDir(), "acks")
	path := filepath.Join(dir, "acks.json")
	s := open(t, path)
	defer s.Close()
	_, err := s.Acknowledge("kept", "A", "critical", Ack{By: "alice", At: time.Now()})
	require.NoError(t, err)

	// The directory becomes a file: every write fails from now on.
	require.NoError(t, os.RemoveAll(dir))
	require.NoError(t, os.WriteFile(dir, nil, 0o600))

	_, err = s.Acknowledge("fp1", "A", "critical", Ack{By: "bob", At: time.Now()})
	require.ErrorIs(t, err, persist.ErrNotDurable)
	_, ok := s.Get("fp1")
	require.False(t, ok, "a refused ack is not in force")

	_, err = s.Unacknowledge("kept")
	require.ErrorIs(t, err, persist.ErrNotDurable)
	st, _ := s.Get("kept")
	require.NotNil(t, st.Ack, "a refused un-ack is not in force")

	require.ErrorIs(t, s.Escalated("kept", Escalation{Step: 1, At: time.Now()}), persist.ErrNotDurable)
	st, _ = s.Get("kept")
	require.Empty(t, st.Escalations, "a step that is not recorded is sent again")
}

// TestDamagedFileIsMovedAside: a damaged acks.json does not stop the start.
func TestDamagedFileIsMovedAside(t *testing.T) {
	dir := t.TempDir()
	path := filepath.Join(dir, "acks.json")
	require.NoError(t, os.WriteFile(path, []byte(`[{"fingerprint":"x"`), 0o600))
	s := open(t, path)
	defer s.Close()
	require.Empty(t, s.List())
	d := s.Damaged()
	require.Len(t, d, 1)
	require.Equal(t, path, d[0].Path)
	require.Contains(t, d[0].MovedTo, "acks.json.corrupt-")
	b, err := os.ReadFile(d[0].MovedTo)
	require.NoError(t, err)
	require.Equal(t, `[{"fingerprint":"x"`, string(b), "the damaged file is kept for inspection")
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
	a.Notified(now.Add(-2*time.Minute), Notice{"fp", "X", "critical", ""})
	b.Notified(now.Add(-time.Minute), Notice{"fp", "X", "critical", ""})
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
