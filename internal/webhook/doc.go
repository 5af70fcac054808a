// Package webhook serves external-dns's webhook provider protocol
// (provider/webhook/api in sigs.k8s.io/external-dns, media type
// application/external.dns.webhook+json;version=1) over dnslb's registry,
// so that Kubernetes Services and Ingresses published by external-dns
// become dnslb record sets: the same objects as /v1 and the CLI.
//
// # Routes
//
//	GET  /                      negotiation: the domain filter (the zones served)
//	GET  /records               the writer's record sets, as endpoints
//	POST /adjustendpoints       endpoints as dnslb will store them (unsupported ones dropped)
//	POST /records               plan.Changes: create, updateOld, updateNew, delete
//	GET  /healthz               ok
//
// The same routes are served under /owner/NAME/ (negotiation at
// /owner/NAME as well, since external-dns GETs its --webhook-provider-url
// itself and joins the others to it).
//
// # Ownership: one writer per set
//
// Every external-dns instance (typically one per cluster) is a writer,
// named by the URL it is given: --webhook-provider-url
// http://dnslb:8888/owner/cluster-a makes the writer "cluster-a"; the
// bare URL is the writer named by serve's --external-dns-owner. A set
// written through the webhook carries Owner "external-dns/WRITER"
// (record.Set.Owner). A writer sees, in GET /records, only the sets it
// owns, and a change to a set owned by anyone else (another writer, an
// agent, an operator) is skipped and logged, never applied. Several
// clusters therefore publish one name side by side, each under its own
// set identifier (annotation external-dns.kubernetes.io/set-identifier),
// and none of them plans to delete the others' sets: dnslb itself keeps
// ownership, so external-dns needs no TXT ownership records
// (--registry=noop works; the default txt registry works too, its TXT
// sets being owned like any other).
//
// # Mapping
//
// An endpoint is one record set: dnsName in the longest served zone that
// contains it, recordType (A, AAAA, CNAME, TXT, MX, SRV), targets as
// values, recordTTL (300 when not given), and setIdentifier. An endpoint
// with a set identifier is weighted; its weight is the provider-specific
// property aws/weight (annotation external-dns.kubernetes.io/aws-weight,
// as for external-dns's AWS provider) or webhook/weight, 0..255, 10 when
// neither is given. Endpoints are answered with exactly one provider-specific
// property, aws/weight, on weighted sets and none on simple ones:
// AdjustEndpoints puts the desired endpoints in that same form, so that
// external-dns's planner, which compares them property by property, sees
// no change where there is none.
package webhook
