package main

import (
	"bytes"
	"compress/gzip"
	"fmt"
	"os"
	"os/exec"
	"path/filepath"
	"strconv"
	"strings"
	"time"

	"github.com/dnslb/dnslb/internal/cli"
)

// release is what the artefacts are built from.
type release struct {
	version string    // 1.2.3, or 0.0.0~git20261201.968433e
	commit  string    // the full commit hash
	time    time.Time // the commit's time: dates and mtimes, so builds repeat
}

// artefact is one file written to the output directory.
type artefact struct {
	path string
	size int64
}

// build writes every artefact of o into o.out, and SHA256SUMS last.
func build(o options) ([]artefact, error) {
	rel, err := releaseOf(o.root, o.version)
	if err != nil {
		return nil, err
	}
	stage, err := os.MkdirTemp("", "dnslb-dist-")
	if err != nil {
		return nil, err
	}
	defer os.RemoveAll(stage)
	if err := os.MkdirAll(o.out, 0o755); err != nil {
		return nil, err
	}
	if err := writeDocs(filepath.Join(stage, "doc"), o.root, rel); err != nil {
		return nil, err
	}
	var arts []artefact
	for _, arch := range o.arches {
		a, err := buildArch(o, rel, stage, arch)
		if err != nil {
			return nil, fmt.Errorf("linux/%s: %w", arch, err)
		}
		arts = append(arts, a...)
	}
	sums, err := writeSums(o.out, arts)
	if err != nil {
		return nil, err
	}
	return append(arts, sums), nil
}

// buildArch builds the binary for arch, then its archive and packages.
func buildArch(o options, rel release, stage, arch string) ([]artefact, error) {
	bin := filepath.Join(stage, arch, "dnslb")
	if err := goBuild(o.root, rel, arch, bin); err != nil {
		return nil, err
	}
	docs := filepath.Join(stage, "doc")
	tgz, err := writeArchive(o.out, o.root, rel, arch, bin, docs)
	if err != nil {
		return nil, err
	}
	arts := []artefact{tgz}
	for _, format := range []string{"deb", "rpm"} {
		a, err := writePackage(o, rel, arch, format, bin, docs)
		if err != nil {
			return nil, fmt.Errorf("%s: %w", format, err)
		}
		arts = append(arts, a)
	}
	return arts, nil
}

// releaseOf reads the version, commit and commit time from git; version,
// if given, replaces the one git gives.
func releaseOf(root, version string) (release, error) {
	out, err := git(root, "log", "-1", "--format=%H %ct")
	if err != nil {
		return release{}, err
	}
	hash, ct, _ := strings.Cut(out, " ")
	secs, err := strconv.ParseInt(ct, 10, 64)
	if err != nil {
		return release{}, fmt.Errorf("git log: commit time %q: %w", ct, err)
	}
	rel := release{version: version, commit: hash, time: time.Unix(secs, 0).UTC()}
	if rel.version == "" {
		rel.version = versionOf(root, rel)
	}
	return rel, nil
}

// versionOf is the tag of HEAD without its v, or 0.0.0~git<date>.<commit>
// ("~" sorts before any release in dpkg and rpm alike).
func versionOf(root string, rel release) string {
	if tag, err := git(root, "describe", "--tags", "--exact-match", "--match", "v[0-9]*", "HEAD"); err == nil {
		return strings.TrimPrefix(tag, "v")
	}
	return fmt.Sprintf("0.0.0~git%s.%s", rel.time.Format("20060102"), rel.commit[:7])
}

// git runs git in root and returns its output, trimmed.
func git(root string, args ...string) (string, error) {
	cmd := exec.Command("git", args...)
	cmd.Dir = root
	out, err := cmd.Output()
	if err != nil {
		return "", fmt.Errorf("git %s: %w", strings.Join(args, " "), err)
	}
	return strings.TrimSpace(string(out)), nil
}

// goBuild builds the release binary as the README documents it: static,
// trimmed paths, the version and the commit stamped in.
func goBuild(root string, rel release, arch, out string) error {
	ldflags := fmt.Sprintf("-s -w -X github.com/dnslb/dnslb/internal/cli.Version=%s -X github.com/dnslb/dnslb/internal/cli.Commit=%s",
		rel.version, rel.commit)
	cmd := exec.Command("go", "build", "-trimpath", "-ldflags", ldflags, "-o", out, "./cmd/dnslb")
	cmd.Dir = root
	cmd.Env = append(os.Environ(), "CGO_ENABLED=0", "GOOS=linux", "GOARCH="+arch)
	if msg, err := cmd.CombinedOutput(); err != nil {
		return fmt.Errorf("go build: %w\n%s", err, msg)
	}
	return nil
}

// docFiles are the generated documents: file name in the stage, and the
// dnslb command that prints it.
var docFiles = []struct{ name, what string }{
	{"dnslb.1", "man"},
	{"dnslb.bash", "completion bash"},
	{"_dnslb", "completion zsh"},
	{"dnslb.fish", "completion fish"},
}

// writeDocs generates the man page and the completions into dir (by the
// CLI itself, stamped with rel), the man page gzipped too, and the systemd
// units with the packages' binary path.
func writeDocs(dir, root string, rel release) error {
	if err := os.MkdirAll(dir, 0o755); err != nil {
		return err
	}
	cli.Version, cli.Commit = rel.version, rel.commit
	for _, d := range docFiles {
		args := strings.Fields(d.what)
		if d.what == "man" {
			args = append(args, "--date", rel.time.Format("2006-01-02"))
		}
		var out, errOut bytes.Buffer
		if code := cli.Main(args, &out, &errOut); code != 0 {
			return fmt.Errorf("dnslb %s: exit %d: %s", d.what, code, errOut.String())
		}
		if err := os.WriteFile(filepath.Join(dir, d.name), out.Bytes(), 0o644); err != nil {
			return err
		}
	}
	if err := gzipFile(filepath.Join(dir, "dnslb.1"), filepath.Join(dir, "dnslb.1.gz")); err != nil {
		return err
	}
	return writeUnits(dir, root)
}

// gzipFile compresses src into dst as Debian wants man pages: best
// compression, no name, no time.
func gzipFile(src, dst string) error {
	data, err := os.ReadFile(src)
	if err != nil {
		return err
	}
	var b bytes.Buffer
	zw, _ := gzip.NewWriterLevel(&b, gzip.BestCompression)
	if _, err := zw.Write(data); err != nil {
		return err
	}
	if err := zw.Close(); err != nil {
		return err
	}
	return os.WriteFile(dst, b.Bytes(), 0o644)
}

// writeUnits copies the systemd units into dir with ExecStart at
// /usr/bin/dnslb, where the packages put the binary (deploy/ installs it
// in /usr/local/bin by hand).
func writeUnits(dir, root string) error {
	for _, unit := range []string{"dnslb.service", "dnslb-agent.service"} {
		data, err := os.ReadFile(filepath.Join(root, "deploy", "systemd", unit))
		if err != nil {
			return err
		}
		if !bytes.Contains(data, []byte("ExecStart=/usr/local/bin/dnslb ")) {
			return fmt.Errorf("deploy/systemd/%s: no ExecStart=/usr/local/bin/dnslb to point at /usr/bin/dnslb", unit)
		}
		data = bytes.ReplaceAll(data, []byte("/usr/local/bin/dnslb"), []byte("/usr/bin/dnslb"))
		if err := os.WriteFile(filepath.Join(dir, unit), data, 0o644); err != nil {
			return err
		}
	}
	return nil
}
