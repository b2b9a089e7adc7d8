package main

import (
	"archive/zip"
	"os"
	"path/filepath"
	"slices"
	"testing"
	"time"
)

func TestModuleFiles(t *testing.T) {
	dir := t.TempDir()
	for name, body := range map[string]string{
		"go.mod":                "module example.com/m\n",
		"a.go":                  "package m\n",
		"sub/b.go":              "package sub\n",
		"sub/testdata/x.txt":    "x",
		".git":                  "gitdir: elsewhere\n", // a worktree's
		".hg/store":             "",
		"vendor/v/v.go":         "package v\n",
		"nested/go.mod":         "module example.com/m/nested\n",
		"nested/c.go":           "package nested\n",
		"nested/deep/d.go":      "package deep\n",
		"_example/main.go":      "package main\n",
		".ci/run":               "#!/bin/sh\n",
		"docs/guide/readme.txt": "",
	} {
		p := filepath.Join(dir, filepath.FromSlash(name))
		if err := os.MkdirAll(filepath.Dir(p), 0o755); err != nil {
			t.Fatal(err)
		}
		if err := os.WriteFile(p, []byte(body), 0o644); err != nil {
			t.Fatal(err)
		}
	}
	if err := os.Symlink("a.go", filepath.Join(dir, "link.go")); err != nil {
		t.Fatal(err)
	}
	got, err := moduleFiles(dir)
	if err != nil {
		t.Fatal(err)
	}
	want := []string{".ci/run", "_example/main.go", "a.go", "docs/guide/readme.txt", "go.mod", "sub/b.go", "sub/testdata/x.txt"}
	if !slices.Equal(got, want) {
		t.Fatalf("moduleFiles = %q, want %q", got, want)
	}

	proxy := t.TempDir()
	n, _, err := addToProxy(proxy, dir, "example.com/Upper/m", "v1.2.3", time.Unix(0, 0))
	if err != nil || n != len(want) {
		t.Fatalf("addToProxy = %d, %v", n, err)
	}
	vdir := filepath.Join(proxy, "example.com", "!upper", "m", "@v")
	for _, name := range []string{"list", "v1.2.3.info", "v1.2.3.mod"} {
		if _, err := os.Stat(filepath.Join(vdir, name)); err != nil {
			t.Error(err)
		}
	}
	zr, err := zip.OpenReader(filepath.Join(vdir, "v1.2.3.zip"))
	if err != nil {
		t.Fatal(err)
	}
	defer zr.Close()
	if len(zr.File) != len(want) || zr.File[0].Name != "example.com/Upper/m@v1.2.3/.ci/run" {
		t.Fatalf("zip holds %d files, the first %q", len(zr.File), zr.File[0].Name)
	}
}

func TestChangelogVersion(t *testing.T) {
	name := filepath.Join(t.TempDir(), "CHANGELOG.md")
	text := "# Changelog\n\n## [Unreleased]\n\n## [0.2.0] - 2027-01-01\n\n## [0.1.0]\n"
	if err := os.WriteFile(name, []byte(text), 0o644); err != nil {
		t.Fatal(err)
	}
	if v, err := changelogVersion(name); v != "v0.2.0" || err != nil {
		t.Fatalf("changelogVersion = %q, %v", v, err)
	}
}
