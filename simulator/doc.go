// Package simulator plays the SMM Architect platform for the appliance: one process that
// serves every metric of the spec's metric contract, one Prometheus job per port, with
// healthy dynamics by default and named scenarios that push chosen alerts over their
// thresholds and back.
//
// The model is a pure function of a simulated clock: every tick advances each job's model
// by Options.Step of simulated time under the currently active scenarios, and the models
// write into one prometheus.Registry per job. The ticker is only one driver of that clock.
// Long alert windows (24 h publishing success, 6 h budget pace) cannot be watched live in a
// demo; a backfill would build a Simulator with Options.Start in the past, call Advance in a
// loop and ship Gatherer(job) snapshots through remote write, without touching the models.
package simulator
