package zone

import (
	"sort"
	"strings"

	"github.com/miekg/dns"

	"github.com/dnslb/dnslb/internal/record"
)

// nodeShards splits a zone's names so that a change copies one shard, not
// the zone: a snapshot after one change costs time in proportion to the
// change (plus a fixed 1,024-pointer copy), not to the zone.
const nodeShards = 1024

type shards [nodeShards]map[string]*node

func shardOf(name string) int {
	h := uint32(2166136261) // FNV-1a, inline: no allocation on the query path
	for i := 0; i < len(name); i++ {
		h ^= uint32(name[i])
		h *= 16777619
	}
	return int(h & (nodeShards - 1))
}

// node returns the node of name, or nil.
func (z *Zone) node(name string) *node {
	if m := z.shards[shardOf(name)]; m != nil {
		return m[name]
	}
	return nil
}

// Hooks are the registry's view of sets, consulted when a set's answers are
// (re)built; see Input.
type Hooks struct {
	Eligible func(*record.Set) bool
	Gone     func(*record.Set) bool
	Served   func(record.Key) *Served
}

// Builder keeps what snapshots are built from and makes each new snapshot
// share every shard of names that the changes since the last one did not
// touch. Not safe for concurrent use: one goroutine owns it.
type Builder struct {
	zones      map[string]*source
	prev       *Snapshot
	dirtyZones map[string]bool
	dirtyNames map[string]map[string]bool // zone -> names
}

// source is one zone's record sets, by name, and the reference counts that
// tell which names exist.
type source struct {
	zone  record.Zone
	names map[string]map[record.Key]record.Set
	// refs counts, for every name, the names at or below it that have
	// content (sets, or a policy entry): a name exists while its count is
	// above zero, so empty non-terminals come and go with their children.
	refs map[string]int
}

// NewBuilder returns an empty Builder.
func NewBuilder() *Builder {
	return &Builder{zones: map[string]*source{}, dirtyZones: map[string]bool{}, dirtyNames: map[string]map[string]bool{}}
}

// PutZone adds or replaces a zone (its SOA, NS, policies); the zone is
// rebuilt whole in the next snapshot. A zone being deleted (Deleting) is
// removed at once, with its sets.
func (b *Builder) PutZone(z record.Zone) {
	if z.Deleting {
		b.DeleteZone(z.Name)
		return
	}
	src := b.zones[z.Name]
	if src == nil {
		src = &source{names: map[string]map[record.Key]record.Set{}}
		b.zones[z.Name] = src
	}
	src.zone = z
	src.recount()
	b.dirtyZones[z.Name] = true
}

// DeleteZone removes a zone and its sets.
func (b *Builder) DeleteZone(name string) {
	delete(b.zones, name)
	delete(b.dirtyNames, name)
	b.dirtyZones[name] = true
}

// PutSet adds or replaces a record set. Sets of unknown zones are ignored.
func (b *Builder) PutSet(s record.Set) {
	src := b.zones[s.Zone]
	if src == nil {
		return
	}
	had := src.hasContent(s.Name)
	if src.names[s.Name] == nil {
		src.names[s.Name] = map[record.Key]record.Set{}
	}
	src.names[s.Name][s.Key] = s
	if !had {
		src.ref(s.Name, 1)
	}
	b.dirty(s.Zone, s.Name)
}

// Set returns the record set with key k as last put, and whether there is
// one (the registry reads what a write changed from it, keeping no copy of
// its own).
func (b *Builder) Set(k record.Key) (record.Set, bool) {
	src := b.zones[k.Zone]
	if src == nil {
		return record.Set{}, false
	}
	s, ok := src.names[k.Name][k]
	return s, ok
}

// DeleteSet removes a record set.
func (b *Builder) DeleteSet(k record.Key) {
	src := b.zones[k.Zone]
	if src == nil || src.names[k.Name] == nil {
		return
	}
	delete(src.names[k.Name], k)
	if len(src.names[k.Name]) == 0 {
		delete(src.names, k.Name)
		if !src.hasContent(k.Name) {
			src.ref(k.Name, -1)
		}
	}
	b.dirty(k.Zone, k.Name)
}

// Touch marks a set whose eligibility (health, lease) changed: its name's
// answers are rebuilt in the next snapshot.
func (b *Builder) Touch(k record.Key) {
	if b.zones[k.Zone] != nil {
		b.dirty(k.Zone, k.Name)
	}
}

func (b *Builder) dirty(zone, name string) {
	if b.dirtyNames[zone] == nil {
		b.dirtyNames[zone] = map[string]bool{}
	}
	b.dirtyNames[zone][name] = true
}

func (src *source) hasContent(name string) bool {
	_, policy := src.zone.Policies[name]
	_, ns := src.zone.NSAddresses[name]
	return len(src.names[name]) > 0 || policy || ns
}

// ref adds d to the count of name and of each of its ancestors up to the
// origin.
func (src *source) ref(name string, d int) {
	for p := name; ; {
		src.refs[p] += d
		if src.refs[p] <= 0 {
			delete(src.refs, p)
		}
		if p == src.zone.Name {
			return
		}
		i := strings.IndexByte(p, '.')
		if i < 0 || i == len(p)-1 {
			return
		}
		p = p[i+1:]
	}
}

// recount rebuilds refs from scratch (after the zone's policies changed).
func (src *source) recount() {
	src.refs = map[string]int{}
	seen := map[string]bool{}
	for name := range src.names {
		seen[name] = true
	}
	for name := range src.zone.Policies {
		if record.InZone(name, src.zone.Name) {
			seen[name] = true
		}
	}
	for name := range src.zone.NSAddresses {
		if record.InZone(name, src.zone.Name) {
			seen[name] = true
		}
	}
	for name := range seen {
		src.ref(name, 1)
	}
}

// Snapshot returns a snapshot at revision rev that reflects every change
// since the previous one, sharing what they did not touch.
func (b *Builder) Snapshot(rev int64, h Hooks) *Snapshot {
	snap := &Snapshot{Rev: rev, zones: make(map[string]*Zone, len(b.zones))}
	for name, src := range b.zones {
		var old *Zone
		if b.prev != nil {
			old = b.prev.zones[name]
		}
		switch dn := b.dirtyNames[name]; {
		case old == nil || b.dirtyZones[name]:
			snap.zones[name] = src.build(rev, h)
		case len(dn) > 0:
			snap.zones[name] = src.patch(old, dn, rev, h)
		default:
			snap.zones[name] = old
		}
	}
	clear(b.dirtyZones)
	clear(b.dirtyNames)
	b.prev = snap
	return snap
}

// build makes the zone whole.
func (src *source) build(rev int64, h Hooks) *Zone {
	z := newZone(&src.zone, rev)
	z.shards = new(shards)
	for name := range src.refs {
		z.setNode(name, src.node(name, h))
	}
	z.setApex()
	return z
}

// patch makes a copy of old with the names in dirty (and their ancestors,
// whose existence may have changed) rebuilt; every other shard is shared.
func (src *source) patch(old *Zone, dirty map[string]bool, rev int64, h Hooks) *Zone {
	z := newZone(&src.zone, rev)
	sh := *old.shards // copies 1,024 map pointers, not the maps
	z.shards = &sh
	copied := map[int]bool{}
	for name := range dirty {
		for p := name; ; {
			z.cow(copied, p)
			if src.refs[p] > 0 {
				n := z.node(p)
				if p == name || n == nil {
					n = src.node(p, h)
				}
				z.setNode(p, n)
			} else {
				delete(z.shards[shardOf(p)], p)
			}
			if p == src.zone.Name {
				break
			}
			i := strings.IndexByte(p, '.')
			if i < 0 || i == len(p)-1 {
				break
			}
			p = p[i+1:]
		}
	}
	z.cow(copied, z.Origin)
	z.setApex()
	return z
}

// cow gives the shard of name its own copy of the map, once per patch.
func (z *Zone) cow(copied map[int]bool, name string) {
	i := shardOf(name)
	if copied[i] {
		return
	}
	copied[i] = true
	m := make(map[string]*node, len(z.shards[i])+1)
	for k, v := range z.shards[i] {
		m[k] = v
	}
	z.shards[i] = m
}

func (z *Zone) setNode(name string, n *node) {
	i := shardOf(name)
	if z.shards[i] == nil {
		z.shards[i] = map[string]*node{}
	}
	z.shards[i][name] = n
}

// setApex gives the apex node this zone's SOA and NS (which change with
// the serial), keeping its other record sets.
func (z *Zone) setApex() {
	apex := &node{rrsets: map[uint16]*rrset{}}
	if old := z.node(z.Origin); old != nil {
		for t, rs := range old.rrsets {
			apex.rrsets[t] = rs
		}
	}
	apex.rrsets[dns.TypeSOA] = &rrset{fixed: []dns.RR{z.SOA}}
	apex.rrsets[dns.TypeNS] = &rrset{fixed: z.NS}
	z.setNode(z.Origin, apex)
}

// node builds the node of name from its sets: one rrset per type of the
// sets that may be answered (not draining, not gone).
func (src *source) node(name string, h Hooks) *node {
	n := &node{rrsets: map[uint16]*rrset{}}
	byType := map[uint16][]*record.Set{}
	for _, s := range src.names[name] {
		if s.State == record.Draining || h.Gone != nil && h.Gone(&s) {
			continue
		}
		byType[qtypes[s.Type]] = append(byType[qtypes[s.Type]], &s)
	}
	for t, sets := range byType {
		sort.Slice(sets, func(i, j int) bool { return sets[i].SetID < sets[j].SetID })
		n.rrsets[t] = newRRSet(sets, src.zone.Policy(name), h)
	}
	src.addNameServer(n, name)
	return n
}
