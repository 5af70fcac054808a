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

// Servers says, in the answer to a write in a cluster, on how many of the
// live servers DNS answers carry it already (GET /v1/changes/{revision}
// follows it until every one does).
type Servers struct {
	Applied int `json:"applied"`
	Live    int `json:"live"`
}
