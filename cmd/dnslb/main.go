// Command dnslb is the dnslb server, agent and operator CLI in one binary.
package main

import (
	"os"

	"github.com/dnslb/dnslb/internal/cli"
)

func main() { os.Exit(cli.Main(os.Args[1:], os.Stdout, os.Stderr)) }
