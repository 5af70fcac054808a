package dnsserver

import "net"

// UDPConns exposes the server's UDP sockets, so a test can break one
// under it.
func (s *Server) UDPConns() []*net.UDPConn { return s.udp }

// Transient exposes transient to tests.
var Transient = transient
