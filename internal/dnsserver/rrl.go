package dnsserver

import (
	"encoding/binary"
	"errors"
	"fmt"
	"hash/maphash"
	"net"
	"net/netip"
	"sync/atomic"
	"time"

	"github.com/prometheus/client_golang/prometheus"
)

// Response rate limiting (RRL), as BIND, Knot and NSD have it: a UDP
// source can spoof its address, so without a limit every query for a big
// answer is a free amplifier aimed at whoever owns that address. Each UDP
// response is counted against a token bucket for (source prefix, response
// kind, name); a response over the rate is dropped, and every Slip-th
// dropped one is sent instead empty with TC set, so a real client whose
// address is being spoofed still gets its answer, over TCP. TCP is never
// limited: a handshake proves the source. Heartbeat answers (Config.
// Datagram) are not DNS responses and never larger than their request:
// they are not counted.
//
// The kinds follow BIND's categories: a positive answer counts per query
// name and type (a flood of one big answer is limited, a resolver asking
// many names is not), NXDOMAIN and NODATA per zone (the owner of the SOA
// in the authority), so random names under one zone share one bucket, and
// errors (REFUSED, FORMERR, SERVFAIL, NOTIMP, ...) per source prefix only.
// dnslb serves no delegations, so there is no referral kind.
//
// The buckets live in one fixed table of atomic words, as in Knot: the key
// is hashed with a per-process random seed to a slot; a slot packs the
// time it was last touched (ms) and its debt, so an update is one
// compare-and-swap and the zero value is a full bucket. Two keys that share
// a slot share a bucket; with the default 2^18 slots and a secret seed a
// collision is rare and cannot be aimed, and it costs at worst a truncated
// answer and a retry over TCP.

// RRL configures response rate limiting of UDP responses. A nil
// Config.RRL means DefaultRRL.
type RRL struct {
	Off bool // no limiting at all
	// Rate is the responses per second allowed per source prefix (/24 for
	// IPv4, /56 for IPv6), response kind and name; also the burst.
	Rate int
	// Slip: every Slip-th response over the rate is sent empty with TC set
	// instead of dropped; 0 drops them all, 1 truncates them all.
	Slip int
	// Window bounds how long an excess is remembered (BIND's window): the
	// debt of a flood grows up to Window's worth of the rate, so a source
	// that went over stays limited for up to Window after it slows down.
	Window time.Duration
	// Exempt lists sources that are always answered. They are still
	// counted (the cost of RRL is the same for them), only never limited.
	Exempt []netip.Prefix
	// Slots is the size of the bucket table, a power of two; 0: 2^18
	// (2 MiB).
	Slots int
	// Clock is a monotonic clock for the buckets; nil: the real one.
	Clock func() time.Duration
}

// Defaults of RRL. A resolver caches a positive answer for its TTL and a
// negative one for the SOA minimum, so even a farm of a hundred caches
// behind one /24 asks one name a few times a second; 100 per second per
// name, and per zone for NXDOMAIN/NODATA, is far above that (NSD's default
// is 200, BIND's documentation suggests 5 to 15) and still caps what one
// spoofed /24 can reflect at 100 answers a second per name. Slip 2 is
// Knot's and BIND's default. A 5 s window (BIND's example) keeps a flood
// from earning a fresh burst every second, and forgets it soon after.
const (
	DefaultRRLRate   = 100
	DefaultRRLSlip   = 2
	DefaultRRLWindow = 5 * time.Second
	defaultRRLSlots  = 1 << 18
)

// DefaultRRL is the RRL of a Config that sets none: on, nothing exempt
// (loopback neither).
func DefaultRRL() RRL {
	return RRL{Rate: DefaultRRLRate, Slip: DefaultRRLSlip, Window: DefaultRRLWindow}
}

// Limits of the RRL fields.
const (
	MaxRRLRate   = 1_000_000
	MaxRRLSlip   = 10
	MaxRRLWindow = time.Minute
)

// Validate reports the first field out of its range.
func (c RRL) Validate() error {
	switch {
	case c.Off:
		return nil
	case c.Rate < 1 || c.Rate > MaxRRLRate:
		return fmt.Errorf("rate %d: must be 1 to %d responses per second", c.Rate, MaxRRLRate)
	case c.Slip < 0 || c.Slip > MaxRRLSlip:
		return fmt.Errorf("slip %d: must be 0 (never) to %d", c.Slip, MaxRRLSlip)
	case c.Window < time.Second || c.Window > MaxRRLWindow:
		return fmt.Errorf("window %s: must be 1s to %s", c.Window, MaxRRLWindow)
	case c.Slots != 0 && (c.Slots < 0 || c.Slots&(c.Slots-1) != 0):
		return fmt.Errorf("slots %d: must be a power of two", c.Slots)
	}
	return nil
}

// rrlKind is a response's category; each has its own buckets.
type rrlKind uint8

const (
	kindAnswer rrlKind = iota
	kindNoData
	kindNXDomain
	kindError
	numKinds
)

var kindNames = [numKinds]string{"answer", "nodata", "nxdomain", "error"}

// cost is one response in the bucket's unit: a thousandth of a response,
// so that refilling rate responses a second is rate units a millisecond.
const cost = 1000

// limiter is the RRL of a server. A nil limiter limits nothing.
type limiter struct {
	rate    uint64 // units per ms
	burst   uint64 // the debt allowed: one second's worth
	maxDebt uint64 // burst + Window's worth, within 32 bits
	slip    uint32
	exempt  []netip.Prefix
	seed    maphash.Seed
	slots   []atomic.Uint64 // stamp (ms) << 32 | debt (units)
	mask    uint64
	clock   func() time.Duration

	dropped, slipped [numKinds]prometheus.Counter
}

// rrlState is one UDP loop's own RRL state.
type rrlState struct {
	now   uint32 // the clock (ms) when the loop's batch was read
	drops uint32 // responses over the rate so far, for slip
}

// rrlBatch reads the clock once for a batch of datagrams just read: the
// clock cost 30 ns a response on our test machine, a quarter of RRL's cost.
func (s *Server) rrlBatch(sc *scratch) {
	if s.rrl != nil {
		sc.rrl.now = s.rrl.now()
	}
}

// now is the limiter's clock in ms; it wraps after 49 days, which costs at
// worst one stale debt.
func (l *limiter) now() uint32 { return uint32(l.clock() / time.Millisecond) }

// newLimiter returns the limiter of c (nil when off); metrics go to reg.
func newLimiter(c RRL, reg prometheus.Registerer) (*limiter, error) {
	if err := c.Validate(); err != nil {
		return nil, fmt.Errorf("dnsserver: RRL %w", err)
	}
	if c.Off {
		return nil, nil
	}
	if c.Slots == 0 {
		c.Slots = defaultRRLSlots
	}
	l := &limiter{
		rate: uint64(c.Rate), burst: uint64(c.Rate) * cost, slip: uint32(c.Slip),
		exempt: unmapAll(c.Exempt), seed: maphash.MakeSeed(),
		slots: make([]atomic.Uint64, c.Slots), mask: uint64(c.Slots - 1), clock: c.Clock,
	}
	l.maxDebt = min(l.burst+uint64(c.Window/time.Millisecond)*l.rate, 1<<32-1)
	if l.clock == nil {
		start := time.Now()
		l.clock = func() time.Duration { return time.Since(start) }
	}
	l.register(reg)
	return l, nil
}

func unmapAll(ps []netip.Prefix) []netip.Prefix {
	out := make([]netip.Prefix, len(ps))
	for i, p := range ps {
		if p.Addr().Is4In6() {
			p = netip.PrefixFrom(p.Addr().Unmap(), max(p.Bits()-96, 0))
		}
		out[i] = p.Masked()
	}
	return out
}

func (l *limiter) register(reg prometheus.Registerer) {
	dropped := prometheus.NewCounterVec(prometheus.CounterOpts{
		Name: "dnslb_dns_rrl_dropped_total",
		Help: "UDP responses not sent because their source went over the response rate limit, by response kind.",
	}, []string{"kind"})
	slipped := prometheus.NewCounterVec(prometheus.CounterOpts{
		Name: "dnslb_dns_rrl_slipped_total",
		Help: "UDP responses over the response rate limit sent empty and truncated (TC) instead, by response kind.",
	}, []string{"kind"})
	if reg != nil {
		reg.MustRegister(dropped, slipped)
	}
	for k, name := range kindNames {
		l.dropped[k], l.slipped[k] = dropped.WithLabelValues(name), slipped.WithLabelValues(name)
	}
}

// limit applies RRL to resp, the UDP response to a query from src. It
// returns resp, resp cut down to an empty truncated reply (a slip), or nil
// (dropped).
func (l *limiter) limit(resp []byte, src netip.Addr, st *rrlState) []byte {
	if l == nil || resp == nil {
		return resp
	}
	var key [rrlKeyMax]byte
	k, n := rrlKey(&key, resp, src)
	if l.take(maphash.Bytes(l.seed, key[:n]), st.now) || l.isExempt(src) {
		return resp
	}
	st.drops++
	if l.slip == 0 || st.drops%l.slip != 0 {
		l.dropped[k].Inc()
		return nil
	}
	l.slipped[k].Inc()
	return slipReply(resp)
}

// take debits one response from the bucket of hash h at time now (ms)
// and reports whether it was within the rate.
func (l *limiter) take(h uint64, now uint32) bool {
	slot := &l.slots[h&l.mask]
	for {
		old := slot.Load()
		debt := uint64(uint32(old))
		if paid := uint64(now-uint32(old>>32)) * l.rate; paid < debt {
			debt -= paid
		} else {
			debt = 0
		}
		debt = min(debt+cost, l.maxDebt)
		if slot.CompareAndSwap(old, uint64(now)<<32|debt) {
			return debt <= l.burst
		}
	}
}

func (l *limiter) isExempt(src netip.Addr) bool {
	for _, p := range l.exempt {
		if p.Contains(src) {
			return true
		}
	}
	return false
}

// A bucket key is: kind, family, source prefix (7 bytes), query type, and
// the name (query name or zone) in lower case, wire form.
const (
	rrlKeyHead = 1 + 1 + 7 + 2
	rrlKeyMax  = rrlKeyHead + 255
)

// rrlKey writes the bucket key of resp from src into key and returns the
// response kind and the key's length. What it cannot parse counts as an
// error response without a name.
func rrlKey(key *[rrlKeyMax]byte, resp []byte, src netip.Addr) (rrlKind, int) {
	k, nameOff, qtype := classify(resp)
	key[0] = byte(k)
	putPrefix(key[1:9], src)
	if k != kindAnswer {
		qtype = 0
	}
	binary.BigEndian.PutUint16(key[9:], qtype)
	n := rrlKeyHead
	if nameOff > 0 {
		n += appendName(key[rrlKeyHead:], resp, nameOff)
	}
	return k, n
}

// putPrefix writes the family and the /24 or /56 of src into b (8 bytes).
func putPrefix(b []byte, src netip.Addr) {
	if src.Is4() {
		a := src.As4()
		b[0] = 4
		copy(b[1:], a[:3])
		return
	}
	a := src.As16()
	b[0] = 6
	copy(b[1:], a[:7])
}

// classify reads a response's kind, where its key name starts (0: none)
// and its query type.
func classify(resp []byte) (k rrlKind, nameOff int, qtype uint16) {
	if len(resp) < 12 || binary.BigEndian.Uint16(resp[4:]) != 1 {
		return kindError, 0, 0
	}
	qEnd := skipName(resp, 12) + 4
	if qEnd < 16 || qEnd > len(resp) {
		return kindError, 0, 0
	}
	qtype = binary.BigEndian.Uint16(resp[qEnd-4:])
	an, ns := binary.BigEndian.Uint16(resp[6:]), binary.BigEndian.Uint16(resp[8:])
	switch rcode := resp[3] & 0xF; {
	case rcode == 0 && (an > 0 || resp[2]&0x02 != 0): // an answer, or one too big (TC)
		return kindAnswer, 12, qtype
	case rcode == 0 && ns > 0:
		k = kindNoData
	case rcode == 3:
		k = kindNXDomain
	default:
		return kindError, 0, 0
	}
	if zone := authorityOwner(resp, qEnd, int(an), int(ns)); zone > 0 {
		return k, zone, qtype
	}
	return kindError, 0, 0
}

// authorityOwner returns the offset of the first authority record's owner
// (the zone of a negative answer), skipping an answer records from off;
// 0 when there is none.
func authorityOwner(resp []byte, off, an, ns int) int {
	for range an {
		if off = skipName(resp, off); off < 0 || off+10 > len(resp) {
			return 0
		}
		off += 10 + int(binary.BigEndian.Uint16(resp[off+8:]))
	}
	if ns == 0 || off >= len(resp) {
		return 0
	}
	return off
}

// skipName returns the offset after the name at off, or -1.
func skipName(b []byte, off int) int {
	for off < len(b) {
		l := int(b[off])
		switch {
		case l == 0:
			return off + 1
		case l&0xC0 == 0xC0:
			return off + 2
		case l&0xC0 != 0:
			return -1
		}
		off += 1 + l
	}
	return -1
}

// appendName writes the name at off in msg into dst, lower case,
// following compression pointers (a few: ours point once, into the
// question); it returns the bytes written, stopping at what does not
// parse.
func appendName(dst, msg []byte, off int) int {
	n := 0
	for hops := 0; off < len(msg) && hops < 8; {
		l := int(msg[off])
		switch {
		case l == 0:
			return n
		case l&0xC0 == 0xC0:
			if off+1 >= len(msg) {
				return n
			}
			off, hops = int(binary.BigEndian.Uint16(msg[off:])&0x3FFF), hops+1
			continue
		case l&0xC0 != 0 || off+1+l > len(msg) || n+1+l > len(dst):
			return n
		}
		dst[n] = byte(l)
		label := dst[n+1 : n+1+l]
		copy(label, msg[off+1:])
		for i, c := range label {
			if c-'A' < 26 {
				label[i] = c + 'a' - 'A'
			}
		}
		n, off = n+1+l, off+1+l
	}
	return n
}

// slipReply cuts resp, in place, to its header and question with TC set
// and no records: the client is to ask again over TCP.
func slipReply(resp []byte) []byte {
	end := 12
	if binary.BigEndian.Uint16(resp[4:]) == 1 {
		if q := skipName(resp, 12) + 4; q >= 16 && q <= len(resp) {
			end = q
		} else {
			binary.BigEndian.PutUint16(resp[4:], 0)
		}
	}
	resp[2] |= 0x02 // TC
	clear(resp[6:12])
	return resp[:end]
}

// errNotPrefix is the error of ParsePrefixes for an entry that is neither.
var errNotPrefix = errors.New("not an address or CIDR prefix")

// ParsePrefixes parses CIDR prefixes ("10.0.0.0/8", "2001:db8::/32") or
// single addresses (a /32 or /128) for RRL.Exempt.
func ParsePrefixes(ss []string) ([]netip.Prefix, error) {
	out := make([]netip.Prefix, 0, len(ss))
	for _, s := range ss {
		p, err := netip.ParsePrefix(s)
		if err != nil {
			a, aerr := netip.ParseAddr(s)
			if aerr != nil {
				return nil, fmt.Errorf("%q: %w (e.g. 192.0.2.0/24 or 2001:db8::/56)", s, errNotPrefix)
			}
			p = netip.PrefixFrom(a, a.BitLen())
		}
		out = append(out, p)
	}
	return out, nil
}

// addrOf is the IP address of a UDP peer (IPv4 unmapped).
func addrOf(a net.Addr) netip.Addr {
	if u, ok := a.(*net.UDPAddr); ok {
		return u.AddrPort().Addr().Unmap()
	}
	return netip.Addr{}
}

// newRRL makes the server's limiter from its config.
func (s *Server) newRRL() error {
	c := DefaultRRL()
	if s.cfg.RRL != nil {
		c = *s.cfg.RRL
	}
	l, err := newLimiter(c, s.cfg.Registerer)
	s.rrl = l
	return err
}
