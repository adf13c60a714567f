package configfiles

import (
	"slices"
	"strconv"
	"strings"

	"go.yaml.in/yaml/v3"

	"github.com/smm-architect/smm-appliance/appliance/envsubst"
)

// Channel is one notification integration of a receiver and whether it can
// run with the secrets present in the environment.
type Channel struct {
	Receiver    string   `json:"receiver"`
	Integration string   `json:"integration"` // "slack", "email", "pagerduty", ...
	Index       int      `json:"index"`
	Enabled     bool     `json:"enabled"`
	Missing     []string `json:"missingVariables,omitempty"` // never values
	// ReplacedBy names the alternative item that posts to this item's Slack
	// channel instead ("slack[0]"): the item is not used, and that is not a
	// missing secret (see slackAlternatives).
	ReplacedBy string `json:"replacedBy,omitempty"`
}

// globalDeps maps a key of alertmanager.yml's global section to the
// integrations that fall back on it, and the local keys that override it.
// When the global value's variable is unset, those integrations that do not
// set the key themselves are disabled too: Alertmanager would otherwise reject
// the whole file ("no global Slack API URL set").
var globalDeps = map[string]struct {
	configs string
	local   []string
}{
	"slack_api_url":      {"slack_configs", []string{"api_url", "api_url_file"}},
	"slack_api_url_file": {"slack_configs", []string{"api_url", "api_url_file"}},
	"smtp_smarthost":     {"email_configs", []string{"smarthost"}},
	"smtp_from":          {"email_configs", []string{"from"}},
	"opsgenie_api_key":   {"opsgenie_configs", []string{"api_key", "api_key_file"}},
	"victorops_api_key":  {"victorops_configs", []string{"api_key", "api_key_file"}},
	"wechat_api_secret":  {"wechat_configs", []string{"api_secret"}},
	"telegram_api_url":   {"telegram_configs", []string{"api_url"}},
	"webex_api_url":      {"webex_configs", []string{"api_url"}},
	"jira_api_url":       {"jira_configs", []string{"api_url"}},
	"rocketchat_api_url": {"rocketchat_configs", []string{"api_url"}},
}

// dropUnconfiguredChannels is the envsubst.DropFunc for alertmanager.yml: an
// integration whose own secret, or whose global fallback's secret, is unset is
// removed, and everything else keeps routing.
func dropUnconfiguredChannels(doc *yaml.Node, refs []envsubst.ScalarRef) []envsubst.Dropped {
	var out []envsubst.Dropped
	type globalDrop struct{ local, missing []string }
	droppedGlobals := map[string]globalDrop{} // by configs key
	items := map[string]*envsubst.Dropped{}
	for _, r := range refs {
		if len(r.Missing) == 0 {
			continue
		}
		switch {
		case len(r.Path) == 2 && r.Path[0] == "global":
			if dep, ok := globalDeps[r.Path[1]]; ok {
				out = append(out, envsubst.Dropped{Path: r.Path, Line: r.Line, Missing: r.Missing})
				g := droppedGlobals[dep.configs]
				g.local, g.missing = dep.local, appendNew(g.missing, r.Missing...)
				droppedGlobals[dep.configs] = g
			}
		case len(r.Path) >= 4 && r.Path[0] == "receivers" && strings.HasSuffix(r.Path[2], "_configs"):
			key := strings.Join(r.Path[:4], ".")
			if d, ok := items[key]; ok {
				d.Missing = appendNew(d.Missing, r.Missing...)
				continue
			}
			items[key] = &envsubst.Dropped{Path: slices.Clone(r.Path[:4]), Line: r.Line, Missing: r.Missing}
		}
	}
	// Integrations relying on a dropped global.
	receivers := mapValue(doc, "receivers")
	if receivers != nil && len(droppedGlobals) > 0 {
		for ri, rcv := range receivers.Content {
			for configs, g := range droppedGlobals {
				list := mapValue(rcv, configs)
				if list == nil {
					continue
				}
				for ii, item := range list.Content {
					if slices.ContainsFunc(g.local, func(k string) bool { return mapValue(item, k) != nil }) {
						continue
					}
					path := []string{"receivers", strconv.Itoa(ri), configs, strconv.Itoa(ii)}
					key := strings.Join(path, ".")
					if d, ok := items[key]; ok {
						d.Missing = appendNew(d.Missing, g.missing...)
						continue
					}
					items[key] = &envsubst.Dropped{Path: path, Line: item.Line, Missing: g.missing}
				}
			}
		}
	}
	// Alternatives for one Slack channel: only the first configured one posts.
	for key, alt := range slackAlternatives(doc, items) {
		if _, ok := items[key]; ok {
			continue
		}
		items[key] = &envsubst.Dropped{Path: alt.path, Line: alt.line}
	}
	keys := make([]string, 0, len(items))
	for k := range items {
		keys = append(keys, k)
	}
	slices.Sort(keys)
	for _, k := range keys {
		out = append(out, *items[k])
	}
	return out
}

// alternative is a slack_configs item that another item of its receiver
// replaces.
type alternative struct {
	path []string
	line int
	by   int // index of the item that posts instead
}

// slackAlternatives finds, in each receiver's slack_configs, the items that
// are alternatives for one channel: a bot-token item (app_token) and a
// webhook item (api_url) with the same channel. Alertmanager refuses one item
// with both, and two items both posting would send every message twice; so
// the first item of such a set that is not in dropped (whose secrets are set)
// posts, and every other item of the set is returned, keyed like dropped
// ("receivers.R.slack_configs.I"), with the index of the one in force. A set
// with no item left is not returned: its items are disabled as usual.
func slackAlternatives(doc *yaml.Node, dropped map[string]*envsubst.Dropped) map[string]alternative {
	out := map[string]alternative{}
	receivers := mapValue(doc, "receivers")
	if receivers == nil {
		return out
	}
	has := func(item *yaml.Node, keys ...string) bool {
		return slices.ContainsFunc(keys, func(k string) bool { return mapValue(item, k) != nil })
	}
	for ri, rcv := range receivers.Content {
		list := mapValue(rcv, "slack_configs")
		if list == nil {
			continue
		}
		byChannel := map[string][]int{}
		var order []string
		for ii, item := range list.Content {
			ch := mapValue(item, "channel")
			if ch == nil || ch.Value == "" {
				continue
			}
			if _, ok := byChannel[ch.Value]; !ok {
				order = append(order, ch.Value)
			}
			byChannel[ch.Value] = append(byChannel[ch.Value], ii)
		}
		for _, ch := range order {
			set := byChannel[ch]
			bot := slices.ContainsFunc(set, func(i int) bool { return has(list.Content[i], "app_token", "app_token_file") })
			hook := slices.ContainsFunc(set, func(i int) bool { return has(list.Content[i], "api_url", "api_url_file") })
			if !bot || !hook {
				continue
			}
			key := func(i int) []string { return []string{"receivers", strconv.Itoa(ri), "slack_configs", strconv.Itoa(i)} }
			inForce := slices.IndexFunc(set, func(i int) bool { _, gone := dropped[strings.Join(key(i), ".")]; return !gone })
			if inForce < 0 {
				continue
			}
			for _, i := range set {
				if i != set[inForce] {
					out[strings.Join(key(i), ".")] = alternative{path: key(i), line: list.Content[i].Line, by: set[inForce]}
				}
			}
		}
	}
	return out
}

// channelsOf lists every integration in the document, marking the dropped ones.
func channelsOf(doc *yaml.Node, dropped []envsubst.Dropped) []Channel {
	var out []Channel
	receivers := mapValue(doc, "receivers")
	if receivers == nil {
		return nil
	}
	// The items dropped for a missing secret decide which alternative posts.
	missing := map[string]*envsubst.Dropped{}
	for i, d := range dropped {
		if len(d.Path) == 4 && len(d.Missing) > 0 {
			missing[strings.Join(d.Path, ".")] = &dropped[i]
		}
	}
	alternatives := slackAlternatives(doc, missing)
	for ri, rcv := range receivers.Content {
		name := ""
		if n := mapValue(rcv, "name"); n != nil {
			name = n.Value
		}
		for i := 0; i+1 < len(rcv.Content); i += 2 {
			k := rcv.Content[i].Value
			if !strings.HasSuffix(k, "_configs") {
				continue
			}
			for ii := range rcv.Content[i+1].Content {
				ch := Channel{Receiver: name, Integration: strings.TrimSuffix(k, "_configs"), Index: ii, Enabled: true}
				for _, d := range dropped {
					if len(d.Path) == 4 && d.Path[1] == strconv.Itoa(ri) && d.Path[2] == k && d.Path[3] == strconv.Itoa(ii) {
						ch.Enabled, ch.Missing = false, d.Missing
					}
				}
				if alt, ok := alternatives[strings.Join([]string{"receivers", strconv.Itoa(ri), k, strconv.Itoa(ii)}, ".")]; ok {
					ch.Enabled, ch.ReplacedBy = false, ch.Integration+"["+strconv.Itoa(alt.by)+"]"
				}
				out = append(out, ch)
			}
		}
	}
	return out
}

func mapValue(n *yaml.Node, key string) *yaml.Node {
	if n == nil || n.Kind != yaml.MappingNode {
		return nil
	}
	for i := 0; i+1 < len(n.Content); i += 2 {
		if n.Content[i].Value == key {
			return n.Content[i+1]
		}
	}
	return nil
}

func appendNew(s []string, vs ...string) []string {
	for _, v := range vs {
		if !slices.Contains(s, v) {
			s = append(s, v)
		}
	}
	return s
}
