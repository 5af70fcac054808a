package cli

import (
	"runtime/debug"
	"testing"
)

func TestVersionOf(t *testing.T) {
	vcs := []debug.BuildSetting{{Key: "vcs.revision", Value: "94211c0aa"}, {Key: "vcs.modified", Value: "true"}}
	for _, tc := range []struct {
		name string
		bi   *debug.BuildInfo
		set  string
		want string
	}{
		{"no build info", nil, "", "dnslb devel (commit unknown)"},
		{"go install", &debug.BuildInfo{GoVersion: "go1.26.8", Main: debug.Module{Version: "v1.2.3"}}, "",
			"dnslb v1.2.3 (commit unknown, go1.26.8)"},
		{"built in a work tree", &debug.BuildInfo{GoVersion: "go1.26.8", Main: debug.Module{Version: "(devel)"}, Settings: vcs}, "",
			"dnslb devel (commit 94211c0aa, modified, go1.26.8)"},
		{"-buildvcs=false", &debug.BuildInfo{GoVersion: "go1.26.8", Main: debug.Module{Version: "(devel)"}}, "",
			"dnslb devel (commit unknown, go1.26.8)"},
		{"ldflags", &debug.BuildInfo{GoVersion: "go1.26.8", Main: debug.Module{Version: "(devel)"}, Settings: vcs[:1]}, "v2.0.0",
			"dnslb v2.0.0 (commit 94211c0aa, go1.26.8)"},
	} {
		if got := versionOf(tc.bi, tc.set).line(); got != tc.want {
			t.Errorf("%s: %q, want %q", tc.name, got, tc.want)
		}
	}
}

// TestVersionCommitFromLdflags: a release build without VCS information
// (-buildvcs=false, a source archive) names the commit make dist gave it;
// the build information's own commit wins over it.
func TestVersionCommitFromLdflags(t *testing.T) {
	bi := &debug.BuildInfo{GoVersion: "go1.26.8", Main: debug.Module{Version: "(devel)"}}
	if got, want := versionOf(bi, "v2.0.0").withCommit("abc123").line(), "dnslb v2.0.0 (commit abc123, go1.26.8)"; got != want {
		t.Errorf("no VCS information: %q, want %q", got, want)
	}
	bi.Settings = []debug.BuildSetting{{Key: "vcs.revision", Value: "94211c0aa"}}
	if got, want := versionOf(bi, "v2.0.0").withCommit("abc123").line(), "dnslb v2.0.0 (commit 94211c0aa, go1.26.8)"; got != want {
		t.Errorf("with VCS information: %q, want %q", got, want)
	}
}
