package auth

import (
	"testing"

	"github.com/stretchr/testify/require"
	"golang.org/x/crypto/bcrypt"
)

// TestFakeHash: the hash compared for unknown users costs what real ones
// cost, and is no password anyone would type.
func TestFakeHash(t *testing.T) {
	cost, err := bcrypt.Cost([]byte(fakeHash))
	require.NoError(t, err)
	require.Equal(t, bcrypt.DefaultCost, cost)
	require.NoError(t, bcrypt.CompareHashAndPassword([]byte(fakeHash), []byte("not-a-user")))
}
