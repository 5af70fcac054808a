package registry

import "github.com/dnslb/dnslb/internal/record"

// hasState reports whether the registry holds runtime state for k.
func (h *harness) hasState(k record.Key) bool {
	h.reg.live.mu.Lock()
	defer h.reg.live.mu.Unlock()
	_, ok := h.reg.live.sets[k]
	return ok
}
