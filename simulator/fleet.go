package simulator

import "fmt"

var (
	knownConnectors = []string{"linkedin", "twitter", "facebook", "instagram", "tiktok", "youtube",
		"pinterest", "reddit", "threads", "mastodon", "bluesky", "snapchat"}
	knownAgents = []string{"research", "creative", "legal", "brand", "analytics", "scheduler",
		"moderation", "engagement", "trends", "localization"}
	// canaryDeployments are the ML services rolled out through canaries, with the model each serves.
	canaryDeployments = []struct{ deployment, model string }{
		{"content-generator", "content-gen-v7"},
		{"engagement-predictor", "engagement-xgb-v3"},
		{"audience-segmenter", "segmenter-v12"},
	}
	tokenAccounts = []string{"main", "ads"}
	licenses      = []string{"smm-enterprise", "smm-analytics-addon"}
)

// campaignKey names a campaign as a scenario target: "<workspace>/<campaign>".
type campaignKey struct{ workspace, campaign string }

func (k campaignKey) String() string { return k.workspace + "/" + k.campaign }

// fleet holds the names of everything the simulator exposes, fixed at creation.
type fleet struct {
	connectors []string
	agents     []string
	campaigns  []campaignKey
	users      []string
}

func newFleet(f Fleet) fleet {
	var fl fleet
	fl.connectors = names(knownConnectors, "connector", f.Connectors)
	fl.agents = names(knownAgents, "agent", f.Agents)
	for w := 1; w <= f.Workspaces; w++ {
		for c := 1; c <= f.Campaigns; c++ {
			fl.campaigns = append(fl.campaigns, campaignKey{fmt.Sprintf("ws-%03d", w), fmt.Sprintf("campaign-%d", c)})
		}
	}
	for u := 1; u <= f.Users; u++ {
		fl.users = append(fl.users, fmt.Sprintf("user-%03d", u))
	}
	return fl
}

// names returns n names: the known ones first, then prefix-<i> with i counting on.
func names(known []string, prefix string, n int) []string {
	out := make([]string, 0, n)
	for i := range n {
		if i < len(known) {
			out = append(out, known[i])
			continue
		}
		out = append(out, fmt.Sprintf("%s-%d", prefix, i+1))
	}
	return out
}
