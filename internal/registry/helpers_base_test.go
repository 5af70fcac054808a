package registry

import "github.com/dnslb/dnslb/internal/record"

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
