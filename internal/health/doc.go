// Package health runs health checks: probers that test a target once
// (http, https, tcp and, on the instance, exec:COMMAND) and a Checker that
// probes on a jittered interval and turns the results into a Status through
// rise/fall hysteresis.
//
// The shapes follow blackbox_exporter and Consul's checks: a Prober is one
// function taking a context and a logger; the Hysteresis that counts passes
// and failures is kept apart from the probe, so a flapping target does not
// flap the status; New starts nothing and Run(ctx) owns the loop, so tests can
// drive one Step at a time.
//
// A new check starts Up (healthy until its first results arrive, as in
// Route 53) unless record.Check.StartUnhealthy is set, in which case it starts
// Down.
//
// Server-side checks (NewServerProber, CheckerOptions.Rules) connect only to
// the addresses record.CheckRules allow for their set, checked on the address
// dialed; agent-side ones probe their own instance and are not restricted.
package health
