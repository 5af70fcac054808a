// Package dnsserver is dnslb's authoritative DNS server: a miekg/dns
// handler that answers from the current zone.Snapshot, and its UDP and TCP
// listeners. It never touches the store: all it reads is the snapshot it is
// handed, which its owner swaps atomically.
//
// The protocol choices, where the RFCs leave one:
//
//   - Every answer from our zones has AA set and RA clear; RD and CD are
//     copied. REFUSED (outside our zones, other classes, zone transfers)
//     and BADVERS have AA clear.
//   - A positive answer carries the zone's NS in its authority section,
//     except an NS query at the apex and a CNAME chain that leaves our
//     zones. NXDOMAIN and NODATA carry the zone's SOA with the TTL
//     min(SOA TTL, SOA minimum) (RFC 2308).
//   - Query class IN is served and ANY is read as IN. CHAOS answers TXT
//     id.server. and hostname.bind. with Config.Identity.ID and
//     version.server. and version.bind. with its Version (TTL 0, AA set);
//     an empty one, any other name or type is REFUSED, as in Knot DNS
//     (identity.go). Every other class (HESIOD, ...) is REFUSED: there is
//     no data in it, and the opcode is implemented.
//   - NSID (RFC 5001): with Config.Identity.NSID set, a query whose OPT
//     carries the NSID option gets it back with our identifier; the fast
//     path leaves such queries to the full handler.
//   - An NS answer at the apex carries the zone's glue (the addresses of
//     its name servers inside it) in the additional section; a UDP reply
//     too big drops the glue, and only then sets TC.
//   - AXFR and IXFR are REFUSED.
//   - ANY is answered minimally (RFC 8482 §4.2): one synthesized
//     HINFO "RFC8482" record with the zone's SOA TTL at a name that
//     exists (an empty non-terminal and a dangling alias included);
//     NXDOMAIN and REFUSED as for any type.
//   - A CNAME is chased through our zones (at most 8 steps, stopping at a
//     loop); the rcode follows the last name looked up.
//   - The question's case is echoed in the question and in the owner
//     names at the query name (DNS 0x20); other owners are lower case.
//   - EDNS (RFC 6891): a query with an OPT gets one back, with our buffer
//     size (Config.MaxUDPSize) and the DO bit copied; the reply fits the
//     client's size, clamped to 512..MaxUDPSize. Version > 0 is BADVERS
//     with an OPT of version 0 and no answer. Without an OPT in the query
//     the reply has none and fits 512 bytes.
//   - A UDP reply too big drops the optional NS authority first; only when
//     the answer itself does not fit is it cut and TC set. TCP replies are
//     whole (cut with TC only beyond a message's 65,535 bytes).
//   - FORMERR for anything but exactly one question (and no answer or
//     authority records in a query) or a packet that does not parse;
//     NOTIMP for every opcode other than QUERY (NOTIFY, UPDATE, ...);
//     packets with QR set get no reply. A panic in the handler is logged
//     and answered SERVFAIL; so is a query before the first snapshot.
//   - UDP responses pass response rate limiting (rrl.go): per source
//     /24 or /56, response kind and name; over the rate dropped, every
//     Slip-th sent empty with TC. TCP is never limited.
//   - TCP connections take any number of queries (Config.TCPMaxQueries
//     sets a limit) and close gracefully, FIN after the last answer
//     (tcp.go).
//
// UDP is served by loops of our own (SO_REUSEPORT sockets, batched I/O, a
// fast path from wire bytes to wire bytes, see udp.go and fast.go); TCP by
// miekg/dns's server. Both end in ServeDNS for anything unusual, so one
// handler decides every reply.
package dnsserver
