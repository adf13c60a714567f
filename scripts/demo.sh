#!/usr/bin/env bash
# The demo behind `make run`: the appliance on its embedded SMM defaults, with
# smm-simulator playing the SMM platform on the ports the embedded targets
# name (127.0.0.1:9101-9111) and rotating through failure scenarios so alerts
# fire and resolve by themselves. Everything binds to 127.0.0.1 only.
set -euo pipefail
cd "$(dirname "$0")/.."
BIN=${BIN:-bin}
DATA=${DATA:-data}
WEB=${WEB:-127.0.0.1:9090}
AM=${AM:-127.0.0.1:9093}
CONTROL=${CONTROL:-127.0.0.1:9099}
# History written before the first start, so the 6-hour and 24-hour rules and
# the graphs have data at once; 0 disables it. Skipped when $DATA holds data.
BACKFILL=${BACKFILL:-24h}

"$BIN/smm-simulator" --demo --control.listen-address "$CONTROL" \
  --backfill.tsdb-path "$DATA/tsdb" --backfill.duration "$BACKFILL" &
sim=$!
app=
# Both children go when the script goes, however it is stopped.
trap 'kill $sim $app 2>/dev/null || true; wait' EXIT
trap 'exit 130' INT TERM

# The simulator serves (its control API answers) once the backfill is on
# disk; the appliance must not open the TSDB before.
for _ in $(seq 1 1200); do
  if (exec 3<>"/dev/tcp/${CONTROL%:*}/${CONTROL##*:}") 2>/dev/null; then break; fi
  kill -0 "$sim" 2>/dev/null || { echo "smm-simulator exited" >&2; exit 1; }
  sleep 0.1
done

cat <<BANNER

  SMM Monitoring Appliance — demo
  -------------------------------
  Console          http://$WEB/   (alerts, ack, silences, rules, targets, query, notifications)
  Prometheus API   http://$WEB/api/v1/alerts   (rules, targets, query: /api/v1/...)
  Alertmanager API http://$AM/api/v2/alerts    (silences: /api/v2/silences; v1 reads too)
  Status           http://$WEB/api/v1/appliance/status   (disabled channels, reload)
  Metrics          http://$WEB/metrics
  Scenarios        curl -s http://$CONTROL/scenarios
                   curl -X POST http://$CONTROL/scenario/database-down
                   curl -X DELETE http://$CONTROL/scenario/database-down
  No Slack/PagerDuty/SMTP secrets are set, so every notification is logged
  below as: msg=notification receiver=... alert=... severity=... team=...
  Acknowledge      open the ack_link=http://$WEB/ack?... of a firing notification line: the
                   page shows the alerts; its button acknowledges them (with a reason), as the
                   Acknowledge link in a Slack message or e-mail does (docs/acknowledging.md).
  Data in $DATA. Stop with Ctrl-C.

BANNER

"$BIN/smm-appliance" --storage.path "$DATA" --web.listen-address "$WEB" \
  --alertmanager.listen-address "$AM" --web.external-url "http://$WEB" --environment demo &
app=$!
wait $app
