package main

import (
	"archive/tar"
	"bytes"
	"compress/gzip"
	"crypto/sha256"
	"fmt"
	"io/fs"
	"os"
	"path/filepath"
	"sort"
)

// entry is one file of the archive: its name there, where it comes from,
// its mode.
type entry struct {
	name, src string
	mode      int64
}

// archiveEntries are the files of the archive. dnslb and deploy/ stay at
// the top level: deploy/ec2/user-data.sh unpacks them from there.
func archiveEntries(root, bin, docs string) ([]entry, error) {
	entries := []entry{
		{"dnslb", bin, 0o755},
		{"LICENSE", filepath.Join(root, "LICENSE"), 0o644},
		{"README.md", filepath.Join(root, "README.md"), 0o644},
		{"man/dnslb.1", filepath.Join(docs, "dnslb.1"), 0o644},
		{"completions/dnslb.bash", filepath.Join(docs, "dnslb.bash"), 0o644},
		{"completions/_dnslb", filepath.Join(docs, "_dnslb"), 0o644},
		{"completions/dnslb.fish", filepath.Join(docs, "dnslb.fish"), 0o644},
	}
	deploy := filepath.Join(root, "deploy")
	err := filepath.WalkDir(deploy, func(path string, d fs.DirEntry, err error) error {
		if err != nil || d.IsDir() {
			return err
		}
		info, err := d.Info()
		if err != nil {
			return err
		}
		rel, _ := filepath.Rel(root, path)
		mode := int64(0o644)
		if info.Mode()&0o111 != 0 {
			mode = 0o755
		}
		entries = append(entries, entry{filepath.ToSlash(rel), path, mode})
		return nil
	})
	sort.Slice(entries, func(i, j int) bool { return entries[i].name < entries[j].name })
	return entries, err
}

// writeArchive writes dnslb_<version>_linux_<arch>.tar.gz: files owned by
// root, dated at the commit, in name order, so that it repeats bit for bit.
func writeArchive(out, root string, rel release, arch, bin, docs string) (artefact, error) {
	entries, err := archiveEntries(root, bin, docs)
	if err != nil {
		return artefact{}, err
	}
	var b bytes.Buffer
	zw, _ := gzip.NewWriterLevel(&b, gzip.BestCompression)
	tw := tar.NewWriter(zw)
	for _, e := range entries {
		data, err := os.ReadFile(e.src)
		if err != nil {
			return artefact{}, err
		}
		hdr := &tar.Header{Name: e.name, Mode: e.mode, Size: int64(len(data)), ModTime: rel.time,
			Uname: "root", Gname: "root", Typeflag: tar.TypeReg}
		if err := tw.WriteHeader(hdr); err != nil {
			return artefact{}, err
		}
		if _, err := tw.Write(data); err != nil {
			return artefact{}, err
		}
	}
	if err := tw.Close(); err != nil {
		return artefact{}, err
	}
	if err := zw.Close(); err != nil {
		return artefact{}, err
	}
	path := filepath.Join(out, fmt.Sprintf("dnslb_%s_linux_%s.tar.gz", rel.version, arch))
	return artefact{path, int64(b.Len())}, os.WriteFile(path, b.Bytes(), 0o644)
}

// writeSums writes SHA256SUMS over arts, in the format sha256sum -c reads.
func writeSums(out string, arts []artefact) (artefact, error) {
	var b bytes.Buffer
	for _, a := range arts {
		data, err := os.ReadFile(a.path)
		if err != nil {
			return artefact{}, err
		}
		fmt.Fprintf(&b, "%x  %s\n", sha256.Sum256(data), filepath.Base(a.path))
	}
	path := filepath.Join(out, "SHA256SUMS")
	return artefact{path, int64(b.Len())}, os.WriteFile(path, b.Bytes(), 0o644)
}
