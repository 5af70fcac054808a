package registry

import (
	"github.com/prometheus/client_golang/prometheus"

	"github.com/dnslb/dnslb/internal/record"
	"github.com/dnslb/dnslb/internal/zone"
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

// servedCollector exports the answers that held each record set, read
// from the counters the DNS server bumps, so the query path pays no
// Prometheus cost per answer. By default it sums them per name and type
// (dnslb_dns_name_answers_total): one series per set is a line per set in
// every scrape, 100,000 lines at 100,000 sets. With perSet it also exports
// dnslb_dns_answers_total per set. It holds the publisher's lock only to
// copy the counters' addresses, never while it writes series.
type servedCollector struct {
	pub      *publisher
	perSet   bool
	setDesc  *prometheus.Desc
	nameDesc *prometheus.Desc
}

func newServedCollector(p *publisher, perSet bool) *servedCollector {
	return &servedCollector{pub: p, perSet: perSet,
		setDesc: prometheus.NewDesc("dnslb_dns_answers_total",
			"Answers that held a record set, since the server started (serve --metrics-per-set).", []string{"zone", "name", "type", "set_id"}, nil),
		nameDesc: prometheus.NewDesc("dnslb_dns_name_answers_total",
			"Answers for a name and type, summed over its current record sets (a deleted set's answers leave the sum).", []string{"zone", "name", "type"}, nil)}
}

// Describe implements prometheus.Collector.
func (c *servedCollector) Describe(ch chan<- *prometheus.Desc) {
	ch <- c.nameDesc
	if c.perSet {
		ch <- c.setDesc
	}
}

// servedOf is one set's counter, copied out from under the lock.
type servedOf struct {
	key    record.Key
	served *zone.Served
}

// counters copies the addresses of the counters under the lock; the
// counters themselves are atomic and read later.
func (c *servedCollector) counters() []servedOf {
	c.pub.servedMu.RLock()
	defer c.pub.servedMu.RUnlock()
	out := make([]servedOf, 0, len(c.pub.served))
	for k, s := range c.pub.served {
		out = append(out, servedOf{k, s})
	}
	return out
}

// Collect implements prometheus.Collector.
func (c *servedCollector) Collect(ch chan<- prometheus.Metric) {
	type name struct {
		zone, name string
		typ        record.Type
	}
	sums := map[name]uint64{}
	for _, s := range c.counters() {
		n := s.served.Count()
		sums[name{s.key.Zone, s.key.Name, s.key.Type}] += n
		if c.perSet {
			ch <- prometheus.MustNewConstMetric(c.setDesc, prometheus.CounterValue, float64(n),
				s.key.Zone, s.key.Name, string(s.key.Type), s.key.SetID)
		}
	}
	for k, n := range sums {
		ch <- prometheus.MustNewConstMetric(c.nameDesc, prometheus.CounterValue, float64(n), k.zone, k.name, string(k.typ))
	}
}
