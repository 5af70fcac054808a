package client

// ChangeStatus answers GET /v1/changes/{revision}: whether the change
// committed at Revision is in the answers of every live server.
type ChangeStatus struct {
	Revision  int64    `json:"revision"`
	Status    string   `json:"status"`  // StatusPending or StatusInSync
	Applied   int      `json:"applied"` // live servers whose answers carry it
	Live      int      `json:"live"`    // live servers
	PendingOn []string `json:"pending_on,omitempty"`
}

// StatusInSync is ChangeStatus.Status once every live server carries the
// change.
const StatusInSync = "INSYNC"
