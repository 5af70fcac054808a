package registry

import (
	"github.com/prometheus/client_golang/prometheus"
)

// metrics of the registry: leases, health, drains, the brake.
type metrics struct {
	leaseExpiries     prometheus.Counter
	leaseDeletes      prometheus.Counter
	healthTransitions *prometheus.CounterVec
	drains            prometheus.Gauge
	drainsDone        prometheus.Counter
	brake             *prometheus.GaugeVec
	beatsShed         prometheus.Counter
}

func newMetrics(reg prometheus.Registerer) *metrics {
	m := &metrics{
		leaseExpiries: prometheus.NewCounter(prometheus.CounterOpts{
			Name: "dnslb_lease_expiries_total", Help: "Record sets taken out of answers because their lease lapsed."}),
		leaseDeletes: prometheus.NewCounter(prometheus.CounterOpts{
			Name: "dnslb_lease_deletions_total", Help: "Record sets deleted after their lease lapsed and the grace period passed."}),
		healthTransitions: prometheus.NewCounterVec(prometheus.CounterOpts{
			Name: "dnslb_health_transitions_total", Help: "Health check status changes, by the new status."}, []string{"status"}),
		drains: prometheus.NewGauge(prometheus.GaugeOpts{
			Name: "dnslb_drains_in_progress", Help: "Record sets draining: out of new answers, waiting until no client can hold them."}),
		drainsDone: prometheus.NewCounter(prometheus.CounterOpts{
			Name: "dnslb_drains_completed_total", Help: "Drains completed (set removed or kept at weight 0)."}),
		brake: prometheus.NewGaugeVec(prometheus.GaugeOpts{
			Name: "dnslb_lease_brake_engaged", Help: "1 while the mass-expiry brake holds the leases of a name."}, []string{"zone", "name", "type"}),
		beatsShed: prometheus.NewCounter(prometheus.CounterOpts{
			Name: "dnslb_heartbeats_shed_total", Help: "Heartbeats refused because renewals queued faster than they were applied (the agents renew over HTTP instead)."}),
	}
	if reg != nil {
		reg.MustRegister(m.leaseExpiries, m.leaseDeletes, m.healthTransitions, m.drains, m.drainsDone, m.brake, m.beatsShed)
	}
	return m
}

// servedCollector exports the answers each record set was put in, read
// from the counters the DNS server bumps, so the query path pays no
// Prometheus cost per answer.
type servedCollector struct {
	live *live
	desc *prometheus.Desc
}

func newServedCollector(l *live) *servedCollector {
	return &servedCollector{live: l, desc: prometheus.NewDesc("dnslb_dns_answers_total",
		"Answers that held a record set, since the server started.", []string{"zone", "name", "type", "set_id"}, nil)}
}

// Describe implements prometheus.Collector.
func (c *servedCollector) Describe(ch chan<- *prometheus.Desc) { ch <- c.desc }

// Collect implements prometheus.Collector.
func (c *servedCollector) Collect(ch chan<- prometheus.Metric) {
	c.live.mu.Lock()
	defer c.live.mu.Unlock()
	for k, s := range c.live.sets {
		ch <- prometheus.MustNewConstMetric(c.desc, prometheus.CounterValue, float64(s.served.Count()),
			k.Zone, k.Name, string(k.Type), k.SetID)
	}
}
