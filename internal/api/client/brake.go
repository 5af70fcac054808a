package client

import (
	"context"
	"net/http"

	"github.com/dnslb/dnslb/internal/record"
)

// Brake reports the server's mass-expiry brake.
func (c *Client) Brake(ctx context.Context) (record.BrakeStatus, error) {
	var out record.BrakeStatus
	return out, c.do(ctx, http.MethodGet, "/v1/brake", nil, nil, &out)
}

// ReleaseBrake releases the brake: the sets it holds expire now.
func (c *Client) ReleaseBrake(ctx context.Context) (record.BrakeStatus, error) {
	var out record.BrakeStatus
	return out, c.do(ctx, http.MethodPost, "/v1/brake/release", nil, nil, &out)
}
