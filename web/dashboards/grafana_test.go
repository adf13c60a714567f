package dashboards

import (
	"encoding/json"
	"flag"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/stretchr/testify/require"

	"github.com/smm-architect/smm-appliance/configs"
)

var update = flag.Bool("update", false, "rewrite testdata/grafana/* from the shipped dashboards")

// TestGrafanaGolden: the Grafana export of the shipped dashboards and its
// provisioning files, against testdata/grafana/ (go test ./web/dashboards
// -run Golden -update rewrites them after a deliberate change).
func TestGrafanaGolden(t *testing.T) {
	ds, err := ParseFS(configs.FS)
	require.NoError(t, err)
	files, err := GrafanaFiles(ds, "/usr/share/smm-appliance/grafana/dashboards", "http://localhost:9090/")
	require.NoError(t, err)
	require.Len(t, files, len(ds)+2)
	for name, got := range files {
		golden := filepath.Join("testdata", "grafana", filepath.FromSlash(name))
		if *update {
			require.NoError(t, os.MkdirAll(filepath.Dir(golden), 0o755))
			require.NoError(t, os.WriteFile(golden, got, 0o644))
			continue
		}
		want, err := os.ReadFile(golden)
		require.NoError(t, err, "%s: run with -update", golden)
		require.Equal(t, string(want), string(got), golden)
	}
}

// TestGrafanaShape: what Grafana needs of each exported dashboard — every
// target on the provisioned data source, panels inside the 24-column grid
// without overlap, variables as label_values queries with an All value.
func TestGrafanaShape(t *testing.T) {
	ds, err := ParseFS(configs.FS)
	require.NoError(t, err)
	for _, d := range ds {
		b, err := Grafana(d)
		require.NoError(t, err)
		var g struct {
			UID        string `json:"uid"`
			Templating struct {
				List []struct {
					Name       string `json:"name"`
					Definition string `json:"definition"`
					AllValue   string `json:"allValue"`
				} `json:"list"`
			} `json:"templating"`
			Panels []struct {
				Type       string                   `json:"type"`
				Datasource struct{ UID string }     `json:"datasource"`
				GridPos    struct{ X, Y, W, H int } `json:"gridPos"`
				Targets    []struct {
					Expr       string               `json:"expr"`
					Datasource struct{ UID string } `json:"datasource"`
				} `json:"targets"`
			} `json:"panels"`
		}
		require.NoError(t, json.Unmarshal(b, &g))
		require.Equal(t, d.UID, g.UID)
		require.Len(t, g.Templating.List, len(d.Variables))
		for _, v := range g.Templating.List {
			require.True(t, strings.HasPrefix(v.Definition, "label_values("), v.Definition)
			require.Equal(t, ".*", v.AllValue)
		}
		require.Len(t, g.Panels, len(d.Panels))
		used := map[[2]int]bool{}
		for i, p := range g.Panels {
			require.Equal(t, d.Panels[i].Type, p.Type)
			require.Equal(t, DatasourceUID, p.Datasource.UID)
			require.LessOrEqual(t, p.GridPos.X+p.GridPos.W, 24)
			require.Len(t, p.Targets, 1)
			require.Equal(t, DatasourceUID, p.Targets[0].Datasource.UID)
			require.Equal(t, d.Panels[i].Expr, p.Targets[0].Expr)
			for x := p.GridPos.X; x < p.GridPos.X+p.GridPos.W; x++ {
				for y := p.GridPos.Y; y < p.GridPos.Y+p.GridPos.H; y++ {
					require.False(t, used[[2]int{x, y}], "%s: panel %d overlaps", d.UID, i)
					used[[2]int{x, y}] = true
				}
			}
		}
	}
}
