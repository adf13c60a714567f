package alertmanager

import (
	"context"
	"testing"
	"time"

	"github.com/prometheus/alertmanager/silence"
	pb "github.com/prometheus/alertmanager/silence/silencepb"
	"github.com/prometheus/client_golang/prometheus"
	"github.com/prometheus/common/promslog"
	"github.com/stretchr/testify/require"
	"google.golang.org/protobuf/types/known/timestamppb"
)

func newSilences(t *testing.T) *silence.Silences {
	t.Helper()
	s, err := silence.New(silence.Options{Retention: time.Hour, Logger: promslog.NewNopLogger(), Metrics: prometheus.NewRegistry()})
	require.NoError(t, err)
	return s
}

// TestObservedSilencesMerge: the hook sees a silence a peer sent once, when
// it changes the local state, and not the state sent back again.
func TestObservedSilencesMerge(t *testing.T) {
	remote, local := newSilences(t), newSilences(t)
	var seen []GossipedSilence
	obs := observedSilences{local, func(g GossipedSilence) { seen = append(seen, g) }}
	now := time.Now()
	sil := &pb.Silence{
		MatcherSets: []*pb.MatcherSet{{Matchers: []*pb.Matcher{{Name: "alertname", Pattern: ".+", Type: pb.Matcher_REGEXP}}}},
		StartsAt:    timestamppb.New(now), EndsAt: timestamppb.New(now.Add(time.Hour)),
		CreatedBy: "mallory", Comment: "mute all",
	}
	require.NoError(t, remote.Set(context.Background(), sil))
	b, err := remote.MarshalBinary()
	require.NoError(t, err)
	require.NoError(t, obs.Merge(b))
	require.Len(t, seen, 1)
	require.Equal(t, sil.Id, seen[0].ID)
	require.Equal(t, "mallory", seen[0].CreatedBy)
	require.Equal(t, `{alertname=~".+"}`, seen[0].Matchers)
	require.NoError(t, obs.Merge(b), "the same state again")
	require.Len(t, seen, 1)
	local2, err := local.MarshalBinary()
	require.NoError(t, err)
	require.NoError(t, observedSilences{remote, func(GossipedSilence) { t.Fatal("its own silence came back") }}.Merge(local2))
}
