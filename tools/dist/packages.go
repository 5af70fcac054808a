package main

import (
	"bytes"
	"embed"
	"os"
	"path/filepath"
	"strings"

	"github.com/goreleaser/nfpm/v2"
	_ "github.com/goreleaser/nfpm/v2/deb" // registers the deb packager
	"github.com/goreleaser/nfpm/v2/files"
	_ "github.com/goreleaser/nfpm/v2/rpm" // registers the rpm packager
)

// scripts are the maintainer scripts, shared by deb and rpm (they read
// both conventions of their first argument).
//
//go:embed scripts/*.sh
var scripts embed.FS

// description is the packages' description: a summary line, then the rest.
const description = `weighted DNS load balancing with leases, health checks and drains
dnslb is an authoritative DNS server with Route 53 weighted-routing
semantics, leases, health checks and TTL-aware draining, an HTTP API, an
on-instance agent and a CLI, in one static binary. Instances register
weighted records under one name and leave DNS gracefully on shutdown.`

// content is one file of the packages: destination, source, mode, and an
// nfpm type (config files, licence) or a packager it is for.
type content struct {
	dst, src      string
	mode          os.FileMode
	typ, packager string
}

// packageContents are the files of the packages, from the binary, the
// generated documents (docs) and the repository (root).
func packageContents(root, bin, docs string) []content {
	return []content{
		{"/usr/bin/dnslb", bin, 0o755, "", ""},
		{"/usr/lib/systemd/system/dnslb.service", filepath.Join(docs, "dnslb.service"), 0o644, "", ""},
		{"/usr/lib/systemd/system/dnslb-agent.service", filepath.Join(docs, "dnslb-agent.service"), 0o644, "", ""},
		{"/etc/default/dnslb", filepath.Join(root, "deploy/systemd/dnslb.default"), 0o644, files.TypeConfigNoReplace, ""},
		{"/etc/default/dnslb-agent", filepath.Join(root, "deploy/systemd/dnslb-agent.default"), 0o644, files.TypeConfigNoReplace, ""},
		{"/usr/share/man/man1/dnslb.1.gz", filepath.Join(docs, "dnslb.1.gz"), 0o644, "", ""},
		{"/usr/share/bash-completion/completions/dnslb", filepath.Join(docs, "dnslb.bash"), 0o644, "", ""},
		{"/usr/share/zsh/vendor-completions/_dnslb", filepath.Join(docs, "_dnslb"), 0o644, "", ""},
		{"/usr/share/fish/vendor_completions.d/dnslb.fish", filepath.Join(docs, "dnslb.fish"), 0o644, "", ""},
		{"/usr/share/doc/dnslb/README.md", filepath.Join(root, "README.md"), 0o644, "", ""},
		{"/usr/share/doc/dnslb/dnslb-agent.service.d/app.conf.example",
			filepath.Join(root, "deploy/systemd/dnslb-agent.service.d/app.conf.example"), 0o644, "", ""},
		{"/usr/share/doc/dnslb/examples/dnslb.yaml", filepath.Join(root, "deploy/dnslb.yaml"), 0o644, "", ""},
		{"/usr/share/doc/dnslb/examples/dnslb-agent.yaml", filepath.Join(root, "deploy/dnslb-agent.yaml"), 0o644, "", ""},
		{"/usr/share/doc/dnslb/copyright", filepath.Join(root, "LICENSE"), 0o644, "", "deb"},
		{"/usr/share/licenses/dnslb/LICENSE", filepath.Join(root, "LICENSE"), 0o644, files.TypeRPMLicense, "rpm"},
	}
}

// packageInfo is nfpm's description of the package of arch.
func packageInfo(o options, rel release, arch, bin, docs, scriptDir string) *nfpm.Info {
	var cs files.Contents
	for _, c := range packageContents(o.root, bin, docs) {
		cs = append(cs, &files.Content{Source: c.src, Destination: c.dst, Type: c.typ, Packager: c.packager,
			FileInfo: &files.ContentFileInfo{Mode: c.mode, MTime: rel.time, Owner: "root", Group: "root"}})
	}
	info := &nfpm.Info{
		Name: "dnslb", Arch: arch, Platform: "linux", Version: rel.version, VersionSchema: "none",
		Section: "net", Priority: "optional", Maintainer: o.maintainer, Description: description,
		Homepage: "https://github.com/dnslb/dnslb", License: "Apache-2.0", MTime: rel.time,
		Overridables: nfpm.Overridables{
			Contents: cs, // Depends: none, the binary is static
			Scripts: nfpm.Scripts{
				PostInstall: filepath.Join(scriptDir, "postinstall.sh"),
				PreRemove:   filepath.Join(scriptDir, "preremove.sh"),
				PostRemove:  filepath.Join(scriptDir, "postremove.sh"),
			},
			RPM: nfpm.RPM{Summary: "Weighted DNS load balancing with leases, health checks and drains",
				Group: "System Environment/Daemons", BuildHost: "dnslb-dist"},
		},
	}
	return nfpm.WithDefaults(info)
}

// writePackage writes the deb or rpm package of arch into o.out.
func writePackage(o options, rel release, arch, format, bin, docs string) (artefact, error) {
	scriptDir := filepath.Join(docs, "scripts")
	if err := writeScripts(scriptDir); err != nil {
		return artefact{}, err
	}
	info := packageInfo(o, rel, arch, bin, docs, scriptDir)
	if format == "rpm" { // rpm has the summary line apart
		_, info.Description, _ = strings.Cut(description, "\n")
		info.Release = "1"
	}
	pkger, err := nfpm.Get(format)
	if err != nil {
		return artefact{}, err
	}
	var b bytes.Buffer
	if err := pkger.Package(info, &b); err != nil {
		return artefact{}, err
	}
	path := filepath.Join(o.out, pkger.ConventionalFileName(info))
	return artefact{path, int64(b.Len())}, os.WriteFile(path, b.Bytes(), 0o644)
}

// writeScripts writes the embedded maintainer scripts into dir.
func writeScripts(dir string) error {
	if err := os.MkdirAll(dir, 0o755); err != nil {
		return err
	}
	names, _ := scripts.ReadDir("scripts")
	for _, n := range names {
		data, _ := scripts.ReadFile("scripts/" + n.Name())
		if err := os.WriteFile(filepath.Join(dir, n.Name()), data, 0o755); err != nil {
			return err
		}
	}
	return nil
}
