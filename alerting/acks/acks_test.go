package acks

import (
	"path/filepath"
	"testing"
	"time"

	"github.com/stretchr/testify/require"
)

func TestPersistAndReload(t *testing.T) {
	path := filepath.Join(t.TempDir(), "acks.json")
	s, err := Open(path)
	require.NoError(t, err)
	t0 := time.Now().Add(-time.Minute)
	first, err := s.Notified("fp1", "A", "critical", t0)
	require.NoError(t, err)
	require.True(t, first)
	first, err = s.Notified("fp1", "A", "critical", time.Now())
	require.NoError(t, err)
	require.False(t, first, "only the first notification counts")
	_, err = s.Acknowledge("fp1", "A", "critical", Ack{By: "alice", Comment: "mine", At: time.Now()})
	require.NoError(t, err)
	require.NoError(t, s.Escalated("fp1", Escalation{Step: 1, At: time.Now(), Receiver: "em"}))

	s2, err := Open(path)
	require.NoError(t, err)
	st, ok := s2.Get("fp1")
	require.True(t, ok)
	require.Equal(t, "alice", st.Ack.By)
	require.WithinDuration(t, t0, st.FirstNotifiedAt, time.Millisecond)
	require.Len(t, st.Escalations, 1)

	_, err = s2.Unacknowledge("fp1")
	require.NoError(t, err)
	_, err = s2.Unacknowledge("fp1")
	require.ErrorIs(t, err, ErrUnknownAlert)

	require.NoError(t, s2.Forget(func(string) bool { return false }))
	_, ok = s2.Get("fp1")
	require.False(t, ok)
}

// TestMergeConverges: two peers changing the same alert end in the same
// state whatever order the gossip arrives in.
func TestMergeConverges(t *testing.T) {
	a, err := Open(filepath.Join(t.TempDir(), "a.json"))
	require.NoError(t, err)
	b, err := Open(filepath.Join(t.TempDir(), "b.json"))
	require.NoError(t, err)
	var fromA, fromB [][]byte
	a.SetBroadcast(func(m []byte) { fromA = append(fromA, m) })
	b.SetBroadcast(func(m []byte) { fromB = append(fromB, m) })

	now := time.Now()
	_, _ = a.Notified("fp", "X", "critical", now.Add(-2*time.Minute))
	_, _ = b.Notified("fp", "X", "critical", now.Add(-time.Minute))
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
