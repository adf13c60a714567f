package alertmanager

import (
	"testing"

	"github.com/stretchr/testify/require"
)

func TestAttemptCounter(t *testing.T) {
	var c attemptCounter
	require.Equal(t, 1, c.next("flush-1", false))
	require.Equal(t, 2, c.next("flush-1", false))
	require.Equal(t, 3, c.next("flush-1", true)) // delivered: forgotten
	require.Equal(t, 1, c.next("flush-1", false))
	require.Equal(t, 1, c.next("flush-2", true))
	require.Len(t, c.n, 1)
}
