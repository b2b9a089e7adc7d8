package main

import (
	"archive/zip"
	"encoding/json"
	"io"
	"io/fs"
	"os"
	"path"
	"path/filepath"
	"slices"
	"strings"
	"time"
)

// addToProxy writes the module in dir at version into the file-based module
// proxy rooted at proxy, in the layout GOPROXY expects:
// <escaped path>/@v/list, <version>.info, <version>.mod and <version>.zip.
// It returns the number of files in the zip and their total size.
func addToProxy(proxy, dir, modPath, version string, t time.Time) (files int, size int64, err error) {
	vdir := filepath.Join(proxy, filepath.FromSlash(escapePath(modPath)), "@v")
	if err := os.MkdirAll(vdir, 0o755); err != nil {
		return 0, 0, err
	}
	gomod, err := os.ReadFile(filepath.Join(dir, "go.mod"))
	if err != nil {
		return 0, 0, err
	}
	info, err := json.Marshal(struct {
		Version string
		Time    time.Time
	}{version, t.UTC().Truncate(time.Second)})
	if err != nil {
		return 0, 0, err
	}
	for name, data := range map[string][]byte{
		"list":            []byte(version + "\n"),
		version + ".info": info,
		version + ".mod":  gomod,
	} {
		if err := os.WriteFile(filepath.Join(vdir, name), data, 0o644); err != nil {
			return 0, 0, err
		}
	}
	names, err := moduleFiles(dir)
	if err != nil {
		return 0, 0, err
	}
	size, err = writeZip(filepath.Join(vdir, version+".zip"), dir, modPath+"@"+version, names)
	return len(names), size, err
}

// moduleFiles lists the files of the module rooted at dir that belong in its
// zip, slash-separated and sorted, as the go command's rules for a module in
// a directory choose them: version control folders, vendored code, folders
// that hold a module of their own (with everything under them) and files
// that are not regular (symbolic links) are left out. A worktree's .git
// file is left out too, as an archive of the tagged commit would. The go
// command checks the rest (file names, sizes, case collisions) when it
// extracts the zip, which the consumer's go get does.
func moduleFiles(dir string) ([]string, error) {
	var names []string
	err := filepath.WalkDir(dir, func(p string, d fs.DirEntry, err error) error {
		if err != nil {
			return err
		}
		if p == dir {
			return nil
		}
		switch d.Name() {
		case ".bzr", ".git", ".hg", ".svn":
			if d.IsDir() {
				return filepath.SkipDir
			}
			return nil
		}
		if d.IsDir() {
			if d.Name() == "vendor" {
				return filepath.SkipDir
			}
			if _, err := os.Lstat(filepath.Join(p, "go.mod")); err == nil {
				return filepath.SkipDir
			}
			return nil
		}
		if !d.Type().IsRegular() {
			return nil
		}
		rel, err := filepath.Rel(dir, p)
		if err != nil {
			return err
		}
		names = append(names, filepath.ToSlash(rel))
		return nil
	})
	slices.Sort(names)
	return names, err
}

// writeZip writes the files names of dir into a zip at name, each under
// prefix, and returns their total uncompressed size.
func writeZip(name, dir, prefix string, names []string) (size int64, err error) {
	f, err := os.Create(name)
	if err != nil {
		return 0, err
	}
	defer func() {
		if cerr := f.Close(); err == nil {
			err = cerr
		}
	}()
	zw := zip.NewWriter(f)
	for _, n := range names {
		w, err := zw.Create(path.Join(prefix, n))
		if err != nil {
			return 0, err
		}
		src, err := os.Open(filepath.Join(dir, filepath.FromSlash(n)))
		if err != nil {
			return 0, err
		}
		written, err := io.Copy(w, src)
		src.Close()
		if err != nil {
			return 0, err
		}
		size += written
	}
	return size, zw.Close()
}

// escapePath escapes a module path for the proxy's URLs and folders: each
// upper-case letter becomes an exclamation mark and the letter in lower
// case, so that case-insensitive file systems keep paths apart.
func escapePath(p string) string {
	var b strings.Builder
	for _, r := range p {
		if 'A' <= r && r <= 'Z' {
			b.WriteByte('!')
			r += 'a' - 'A'
		}
		b.WriteRune(r)
	}
	return b.String()
}
