package cli

import (
	"fmt"
	"runtime/debug"
)

// Version, when set at build time (-ldflags "-X
// github.com/dnslb/dnslb/internal/cli.Version=v1.2.3"), is the version
// printed; otherwise the module version from the build information is.
var Version = ""

// Commit, when set at build time (-ldflags "-X
// github.com/dnslb/dnslb/internal/cli.Commit=94211c0…"), is the commit
// printed when the build information has none: a build with
// -buildvcs=false or from a source archive (make dist sets both).
var Commit = ""

// VersionCmd prints the version and the commit the binary was built from.
type VersionCmd struct{}

// versionInfo is what `dnslb version --json` prints.
type versionInfo struct {
	Version  string `json:"version"`  // module version, or "devel"
	Commit   string `json:"commit"`   // VCS revision, or "unknown"
	Modified bool   `json:"modified"` // built from a tree with uncommitted changes
	Go       string `json:"go"`       // Go version it was built with
}

// Run prints the version.
func (VersionCmd) Run(g *Globals) error {
	info := versionOf(readBuildInfo(), Version).withCommit(Commit)
	if g.JSON {
		return printJSON(g.stdout, info)
	}
	_, err := fmt.Fprintln(g.stdout, info.line())
	return err
}

func readBuildInfo() *debug.BuildInfo {
	bi, _ := debug.ReadBuildInfo() // nil without build information
	return bi
}

// versionLine is what `dnslb --version` prints.
func versionLine(bi *debug.BuildInfo) string { return versionOf(bi, Version).withCommit(Commit).line() }

// versionOf reads the version and the VCS commit from the build
// information. A binary built with -buildvcs=false, or outside a
// repository, has no commit: it says "unknown".
func versionOf(bi *debug.BuildInfo, set string) versionInfo {
	v := versionInfo{Version: set, Commit: "unknown"}
	if bi == nil {
		if v.Version == "" {
			v.Version = "devel"
		}
		return v
	}
	v.Go = bi.GoVersion
	if v.Version == "" && bi.Main.Version != "" && bi.Main.Version != "(devel)" {
		v.Version = bi.Main.Version
	}
	if v.Version == "" {
		v.Version = "devel"
	}
	for _, s := range bi.Settings {
		switch s.Key {
		case "vcs.revision":
			v.Commit = s.Value
		case "vcs.modified":
			v.Modified = s.Value == "true"
		}
	}
	return v
}

// withCommit is v with commit as its commit if the build information gave
// none.
func (v versionInfo) withCommit(commit string) versionInfo {
	if v.Commit == "unknown" && commit != "" {
		v.Commit = commit
	}
	return v
}

// line is the version for people: "dnslb v1.2.3 (commit 94211c0…, go1.26.8)".
func (v versionInfo) line() string {
	commit := v.Commit
	if v.Modified {
		commit += ", modified"
	}
	if v.Go == "" {
		return fmt.Sprintf("dnslb %s (commit %s)", v.Version, commit)
	}
	return fmt.Sprintf("dnslb %s (commit %s, %s)", v.Version, commit, v.Go)
}
