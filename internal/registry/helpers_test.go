package registry

import (
	"time"

	"github.com/dnslb/dnslb/internal/record"
)

// hasState reports whether the registry holds runtime state for k.
func (h *harness) hasState(k record.Key) bool {
	h.reg.leases.mu.Lock()
	_, leased := h.reg.leases.byKey[k]
	h.reg.leases.mu.Unlock()
	h.reg.checks.mu.Lock()
	_, checked := h.reg.checks.byKey[k]
	h.reg.checks.mu.Unlock()
	return leased || checked || h.reg.pub.servedOf(k) != nil
}

// recordServed notes that k was put in an answer at t, with a 60 s TTL.
func (h *harness) recordServed(k record.Key, t time.Time) { h.reg.pub.servedOf(k).Record(t, 60) }
