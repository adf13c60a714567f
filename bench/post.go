package bench

import (
	"bytes"
	"context"
	"encoding/json"
	"fmt"
	"io"
	"net/http"
	"time"
)

// postAlerts POSTs n distinct alerts to Alertmanager's v2 API in batches of 1000, as a
// fleet of Prometheus servers or a burst of integrations would. grouped alerts go to the
// route that groups them by storm_group, the others to one notification per alert.
func postAlerts(ctx context.Context, am string, n int, grouped bool) error {
	return postAlertsFrom(ctx, am, 0, n, grouped)
}

// postAlertsFrom posts the alerts with storm_id first … first+n-1.
func postAlertsFrom(ctx context.Context, am string, first0, n int, grouped bool) error {
	const batch = 1000
	type alert struct {
		Labels      map[string]string `json:"labels"`
		Annotations map[string]string `json:"annotations"`
		StartsAt    time.Time         `json:"startsAt"`
		EndsAt      time.Time         `json:"endsAt"`
	}
	bench := "api-storm"
	if grouped {
		bench = "api-grouped"
	}
	now := time.Now()
	for first := first0; first < first0+n; first += batch {
		var alerts []alert
		for i := first; i < min(first+batch, first0+n); i++ {
			alerts = append(alerts, alert{
				Labels: map[string]string{
					"alertname":   "SMMBenchAPIStorm",
					"bench":       bench,
					"severity":    "warning",
					"storm_id":    fmt.Sprintf("%06d", i),
					"storm_group": fmt.Sprintf("%03d", i%stormGroups),
				},
				Annotations: map[string]string{"summary": "API storm alert"},
				StartsAt:    now,
				EndsAt:      now.Add(time.Hour),
			})
		}
		b, err := json.Marshal(alerts)
		if err != nil {
			return err
		}
		req, err := http.NewRequestWithContext(ctx, http.MethodPost, am+"/api/v2/alerts", bytes.NewReader(b))
		if err != nil {
			return err
		}
		req.Header.Set("Content-Type", "application/json")
		resp, err := httpClient.Do(req)
		if err != nil {
			return fmt.Errorf("post alerts: %w", err)
		}
		body, _ := io.ReadAll(resp.Body)
		resp.Body.Close()
		if resp.StatusCode != http.StatusOK {
			return fmt.Errorf("post alerts: %d %s", resp.StatusCode, body)
		}
	}
	return nil
}
