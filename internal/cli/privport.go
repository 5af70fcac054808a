package cli

import (
	"errors"
	"fmt"
	"net"
	"strconv"
	"syscall"
)

// privilegedPorts is where Linux wants CAP_NET_BIND_SERVICE to bind (the
// default of net.ipv4.ip_unprivileged_port_start).
const privilegedPorts = 1024

// advisePort adds how to get the capability to an error binding addr
// that the kernel refused for want of it; other errors pass unchanged.
func advisePort(addr string, err error) error {
	if !errors.Is(err, syscall.EACCES) && !errors.Is(err, syscall.EPERM) {
		return err
	}
	_, p, splitErr := net.SplitHostPort(addr)
	port, convErr := strconv.Atoi(p)
	if splitErr != nil || convErr != nil || port <= 0 || port >= privilegedPorts {
		return err
	}
	return fmt.Errorf("%w\nBinding port %d needs CAP_NET_BIND_SERVICE: run as root, under the shipped dnslb.service "+
		"(AmbientCapabilities=CAP_NET_BIND_SERVICE), or `setcap cap_net_bind_service=+ep /usr/local/bin/dnslb`; "+
		"or choose a port ≥ %d", err, port, privilegedPorts)
}
