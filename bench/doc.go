// Package bench measures the smm-appliance against the two-process stack it replaces,
// Prometheus + Alertmanager, on the same machine in the same run (issue 9).
//
// For every run of a profile it starts one smm-simulator in scale mode, then, one system
// after another, the appliance and each peer on configurations generated from the shipped
// SMM files: the same scrape jobs, targets and intervals, the same rules (the shipped SMM
// rules plus the benchmark's latency and storm rules), the same routing tree with every
// receiver replaced by a webhook served by the harness. Figures come from the processes
// themselves: /proc/PID/status (VmHWM, VmRSS), /proc/PID/stat (utime+stime), the systems'
// /metrics (prometheus_tsdb_head_samples_appended_total, prometheus_tsdb_head_series),
// /api/v1/rules (evaluationTime) and wall-clock times taken by the harness (notifications
// at its webhook, queries, readiness after kill -9).
//
// Figures are compared as appliance/peer ratios only: absolute numbers depend on the
// machine and on whatever else runs on it.
package bench
