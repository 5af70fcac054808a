// Command dist builds dnslb's release artefacts into dist/ (make dist):
// for each Linux architecture a static binary packed as
// dnslb_<version>_linux_<arch>.tar.gz (the binary, deploy/, LICENSE,
// README.md, the man page and shell completions at the top level), a
// .deb and an .rpm (built with nfpm), and SHA256SUMS over them all.
//
// The version is the git tag of HEAD (v1.2.3 gives 1.2.3), or
// 0.0.0~git<date>.<commit> between tags; the man page and completions are
// generated from the CLI's own command definitions.
package main

import (
	"flag"
	"fmt"
	"os"
	"strings"
)

// options say what to build, from where, into where.
type options struct {
	root       string   // the repository
	out        string   // where the artefacts go
	arches     []string // Linux architectures
	version    string   // package version; empty: from git
	maintainer string   // the packages' Maintainer
}

func main() { os.Exit(run(os.Args[1:])) }

// run parses the command line, builds, and returns the exit code.
func run(args []string) int {
	var o options
	var arches string
	fs := flag.NewFlagSet("dist", flag.ContinueOnError)
	fs.StringVar(&o.root, "root", ".", "the repository")
	fs.StringVar(&o.out, "out", "dist", "output directory")
	fs.StringVar(&arches, "arch", "amd64,arm64", "Linux architectures, comma-separated")
	fs.StringVar(&o.version, "version", "", "package version (default: the git tag, or 0.0.0~git<date>.<commit>)")
	fs.StringVar(&o.maintainer, "maintainer", "dnslb maintainers <dnslb@users.noreply.github.com>", "Maintainer of the packages")
	if err := fs.Parse(args); err != nil {
		return 2
	}
	o.arches = strings.Split(arches, ",")
	arts, err := build(o)
	if err != nil {
		fmt.Fprintln(os.Stderr, "dist:", err)
		return 1
	}
	for _, a := range arts {
		fmt.Printf("%10d  %s\n", a.size, a.path)
	}
	return 0
}
