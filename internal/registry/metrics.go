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
	brake             prometheus.Gauge
	brakeHeld         prometheus.Gauge
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
		brake: prometheus.NewGauge(prometheus.GaugeOpts{
			Name: "dnslb_lease_brake_engaged", Help: "1 while the mass-expiry brake is on: renewals across the whole server stopped, and lapsed leases stay in answers (until --brake-max)."}),
		brakeHeld: prometheus.NewGauge(prometheus.GaugeOpts{
			Name: "dnslb_lease_brake_held", Help: "Record sets whose lease lapsed that the mass-expiry brake keeps in answers."}),
		beatsShed: prometheus.NewCounter(prometheus.CounterOpts{
			Name: "dnslb_heartbeats_shed_total", Help: "Heartbeats refused because renewals queued faster than they were applied (the agents renew over HTTP instead)."}),
	}
	if reg != nil {
		reg.MustRegister(m.leaseExpiries, m.leaseDeletes, m.healthTransitions, m.drains, m.drainsDone, m.brake, m.brakeHeld, m.beatsShed)
	}
	return m
}

// servedCollector exports the answers each record set was put in, read
// from the counters the DNS server bumps, so the query path pays no
// Prometheus cost per answer.
type servedCollector struct {
	pub  *publisher
	desc *prometheus.Desc
}

func newServedCollector(p *publisher) *servedCollector {
	return &servedCollector{pub: p, desc: prometheus.NewDesc("dnslb_dns_answers_total",
		"Answers that held a record set, since the server started.", []string{"zone", "name", "type", "set_id"}, nil)}
}

// Describe implements prometheus.Collector.
func (c *servedCollector) Describe(ch chan<- *prometheus.Desc) { ch <- c.desc }

// Collect implements prometheus.Collector.
func (c *servedCollector) Collect(ch chan<- prometheus.Metric) {
	c.pub.servedMu.RLock()
	defer c.pub.servedMu.RUnlock()
	for k, s := range c.pub.served {
		ch <- prometheus.MustNewConstMetric(c.desc, prometheus.CounterValue, float64(s.Count()),
			k.Zone, k.Name, string(k.Type), k.SetID)
	}
}
