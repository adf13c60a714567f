package alertmanager

import (
	"bufio"
	"bytes"
	"context"
	"errors"
	"io"
	"strings"
	"time"

	"github.com/prometheus/alertmanager/cluster"
	"github.com/prometheus/alertmanager/silence"
	pb "github.com/prometheus/alertmanager/silence/silencepb"
	"google.golang.org/protobuf/encoding/protodelim"
)

// GossipedSilence is a silence a cluster peer sent that changed the local
// state: new, updated or expired there.
type GossipedSilence struct {
	ID        string
	CreatedBy string
	Comment   string
	Matchers  string
	StartsAt  time.Time
	EndsAt    time.Time
}

// observedSilences is the silences' cluster state with a hook on what a
// merge changes, so that changes made elsewhere reach the audit log too.
// Alertmanager's Merge reports nothing; the message is decoded here as
// silence.decodeState does.
type observedSilences struct {
	*silence.Silences
	on func(GossipedSilence)
}

var _ cluster.State = observedSilences{}

func (o observedSilences) Merge(b []byte) error {
	in := decodeMesh(b)
	before := make(map[string]time.Time, len(in))
	for _, s := range in {
		if cur, err := o.QueryOne(context.Background(), silence.QIDs(s.Id)); err == nil {
			before[s.Id] = cur.UpdatedAt.AsTime()
		}
	}
	if err := o.Silences.Merge(b); err != nil {
		return err
	}
	for _, s := range in {
		cur, err := o.QueryOne(context.Background(), silence.QIDs(s.Id))
		if err != nil || !cur.UpdatedAt.AsTime().Equal(s.UpdatedAt.AsTime()) {
			continue // not applied (older than ours, or already expired)
		}
		if prev, ok := before[s.Id]; ok && !prev.Before(cur.UpdatedAt.AsTime()) {
			continue // already had it
		}
		o.on(GossipedSilence{
			ID: cur.Id, CreatedBy: cur.CreatedBy, Comment: cur.Comment, Matchers: matchersString(cur),
			StartsAt: cur.StartsAt.AsTime(), EndsAt: cur.EndsAt.AsTime(),
		})
	}
	return nil
}

func decodeMesh(b []byte) []*pb.Silence {
	var out []*pb.Silence
	br := bufio.NewReader(bytes.NewReader(b))
	for {
		var s pb.MeshSilence
		err := protodelim.UnmarshalFrom(br, &s)
		if errors.Is(err, io.EOF) || err != nil {
			return out
		}
		if s.Silence != nil && s.Silence.Id != "" {
			out = append(out, s.Silence)
		}
	}
}

func matchersString(s *pb.Silence) string {
	sets := s.MatcherSets
	if len(sets) == 0 && len(s.Matchers) > 0 {
		sets = []*pb.MatcherSet{{Matchers: s.Matchers}}
	}
	var parts []string
	for _, set := range sets {
		var ms []string
		for _, m := range set.Matchers {
			op := "="
			switch m.Type {
			case pb.Matcher_NOT_EQUAL:
				op = "!="
			case pb.Matcher_REGEXP:
				op = "=~"
			case pb.Matcher_NOT_REGEXP:
				op = "!~"
			}
			ms = append(ms, m.Name+op+`"`+m.Pattern+`"`)
		}
		parts = append(parts, "{"+strings.Join(ms, ",")+"}")
	}
	return strings.Join(parts, " or ")
}
