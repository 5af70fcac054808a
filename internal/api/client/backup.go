package client

import (
	"context"
	"fmt"
	"io"
	"net/http"
	"strconv"
)

// RevisionHeader carries the store revision of a backup.
const RevisionHeader = "Dnslb-Revision"

// CodeStorageFull: the server's disk is full; writes fail until space is
// freed, reads and DNS go on.
const CodeStorageFull = "storage_full"

// Backup copies a consistent backup of the server's data file to w and
// returns its revision and length. A copy cut short is an error
// (io.ErrUnexpectedEOF), never a shorter file.
func (c *Client) Backup(ctx context.Context, w io.Writer) (rev, n int64, err error) {
	req, err := http.NewRequestWithContext(ctx, http.MethodGet, c.base.String()+"/v1/backup", nil)
	if err != nil {
		return 0, 0, err
	}
	resp, err := c.http.Do(req)
	if err != nil {
		return 0, 0, fmt.Errorf("GET %s: %w (is `dnslb serve` running there? set --server or DNSLB_SERVER)", c.base.Host, err)
	}
	defer resp.Body.Close()
	if resp.StatusCode != http.StatusOK {
		return 0, 0, decode(resp, nil)
	}
	rev, _ = strconv.ParseInt(resp.Header.Get(RevisionHeader), 10, 64)
	n, err = io.Copy(w, resp.Body)
	if err == nil && resp.ContentLength >= 0 && n != resp.ContentLength {
		err = io.ErrUnexpectedEOF
	}
	if err != nil {
		return rev, n, fmt.Errorf("backup cut short after %d bytes: %w", n, err)
	}
	return rev, n, nil
}
