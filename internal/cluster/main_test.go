package cluster_test

import (
	"testing"

	"go.uber.org/goleak"
)

// TestMain fails the package when a test leaves goroutines behind (a
// node, a watch, a session keepalive not stopped).
func TestMain(m *testing.M) { goleak.VerifyTestMain(m) }
