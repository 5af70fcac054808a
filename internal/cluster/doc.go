// Package cluster coordinates several dnslb servers that share one etcd:
// who is alive, who decides lapses, and what the servers ask each other.
// The data itself (zones, record sets) is the store's (etcdstore), which
// every server watches; this package adds only what a single server
// never needed, under the store's prefix (PREFIX) + "cluster/".
//
// # The problem
//
// An agent renews its lease through any server. Renewals stay in the
// memory of the server that heard them (10,000 agents renewing every 5 s
// would be 2,000 etcd writes, 2,000 fsyncs, a second), so no server knows
// on its own whether a lease lapsed. Yet every server must give the same
// answer: a set renewed through any server stays in every server's
// answers, a lapse is decided once and takes the set out everywhere, and
// no server drops a set because *it* stopped hearing the agent.
//
// # Design
//
// Membership. Each server has an id (serve --server-id, default the host
// name) and, under an etcd session lease (concurrency.Session; its
// keepalives are not raft writes), the key PREFIX cluster/members/<id> holding
// its peer URL (its API URL) and start time. A member whose process or
// network dies vanishes with its lease, after the session TTL. Two live
// servers with one id are refused: the second waits until the first's
// key is gone.
//
// One decider. The members campaign in an etcd election (PREFIX cluster/leader).
// Only the leader's lease engine lapses leases (registry.SetLeading);
// followers never expire a set on their own: a lease past its deadline
// there is "not decided here". When a lease falls due on the leader, it
// asks every other live member when it last heard a renewal of that set:
// one POST /v1/cluster/renewals per member for all the leases due within
// 20 ms. A later renewal moves the leader's deadline, in memory: no
// write. A live member that does not answer (within AskTimeout) makes the
// lapse wait, logged and counted (registry.LapsesWaiting), because that
// member may be the one hearing the agent; it stops waiting when the
// member answers or its session ends. Only when every live member
// answered and none heard the agent does the lapse pass the mass-expiry
// brake and get written: the set's Lapsed time, conditioned on the set's
// revision being the one the leader looked at. Every server (the leader
// too) takes the set out of answers when the watch brings that, and puts
// it back when a renewal through any server clears it: a renewal of a
// lapsed set is a transition, written, as on a single server where such a
// renewal brings the set back at once. A server that heard a renewal after
// the leader asked clears the lapse as soon as it sees it. The leader
// alone deletes lapsed sets after the lease grace.
//
// A server cut off from etcd refuses renewals (503; heartbeats are told
// to renew over HTTP): the others cannot hear them, so the agent must
// renew through one they can.
//
// A new leader starts every lease afresh, a whole lease from its
// election (like a restart's grace), before it may lapse anything: it has
// heard no renewal of the sets renewed through others, and the followers
// kept them all.
//
// The brake. The leader's census of renewals counts deadlines that other
// members' answers moved; a set renewed only through others is fresh for
// a quarter to a half of the time on the leader, well above the brake's
// one in ten, so renewals through other servers never engage it; a
// collapse seen by every member does.
//
// The peer endpoint is served on the API listener and authenticated by
// the cluster secret, made once in etcd (PREFIX cluster/secret, a create-only
// transaction): each request carries an HMAC-SHA256 over its time,
// method, path and body, which must be within MaxSkew of the receiver's
// clock. Anything else is refused with 401; API tokens do not open it.
//
// What is written. Steady-state renewals write nothing to etcd. Lapses,
// revivals, registrations, drains and health transitions are written.
// Membership keys are written once per session, and session keepalives
// are lease renewals, which etcd does not replicate through raft.
//
// Quorum health. Every server probes the server-side checks (the first
// probe of each at a random point of its interval, so that N servers do
// not hit a backend in bursts) and writes only its verdict changes, and
// its presumption when a check starts, to PREFIX cluster/health/<set>/<id>
// under its session lease. Every server watches them all and answers from
// the same verdict: up when more than HealthQuorum of the live observers
// say so (serve --health-quorum; a majority by default; Route 53's rule,
// "healthy when more than 18% of checkers say so", is 0.18). A dead
// observer's votes vanish with its lease. A set no live server has a vote
// for is answered by the server's own verdict.
//
// Drains. safe_at is the latest moment any server's answers with the set
// may still be held. Each server, once its answers no longer carry the
// drained set, writes until when the answers it gave may be held (its last
// answer plus the TTL it served) to PREFIX cluster/served/<set>/<id> under
// its session lease; the leader finishes the drain at the latest of the
// live members' reports plus the margin, once every live member reported,
// and never later than the drain's own bound (start + TTL + margin), which
// is also the safe_at shown while reports are missing.
//
// Changes. A write answers once committed and in this server's answers,
// saying on how many live servers it already is (each asked for its
// applied revision, GET /v1/cluster/applied, within 250 ms);
// GET /v1/changes/{revision} is PENDING until every live member's answers
// carry the revision, then INSYNC.
//
// Visibility. GET /v1/cluster shows the members, the leader and the lapses
// waiting for a member that does not answer (with the reason); the
// dnslb_cluster_* metrics follow them.
package cluster
