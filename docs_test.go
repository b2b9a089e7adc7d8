package sessions_test

import (
	"bufio"
	"fmt"
	"go/ast"
	"go/parser"
	"go/token"
	"os"
	"path/filepath"
	"regexp"
	"strings"
	"testing"
	"unicode"
)

// docFiles returns the Markdown files of the repository that readers follow
// links in: those at the root, docs/ and the benchmarks' README.
func docFiles(t *testing.T) []string {
	t.Helper()
	var files []string
	for _, pattern := range []string{"*.md", "docs/*.md", "benchmarks/README.md"} {
		m, err := filepath.Glob(pattern)
		if err != nil {
			t.Fatal(err)
		}
		files = append(files, m...)
	}
	if len(files) == 0 {
		t.Fatal("no Markdown files found")
	}
	return files
}

var (
	// fence matches a fenced code block, whose text is not Markdown.
	fence = regexp.MustCompile("(?ms)^ *```.*?^ *```")
	// codeSpan matches inline code, which holds no links.
	codeSpan = regexp.MustCompile("`[^`\n]*`")
	// inlineLink matches [text](target) and ![alt](target).
	inlineLink = regexp.MustCompile(`\]\(([^)\s]+)(?:\s+"[^"]*")?\)`)
	// refLink matches a reference definition: [label]: target.
	refLink = regexp.MustCompile(`(?m)^ {0,3}\[[^\]]+\]:\s*(\S+)`)
	// heading matches an ATX heading outside code blocks.
	heading = regexp.MustCompile(`(?m)^#{1,6}\s+(.+?)\s*#*\s*$`)
)

// prose returns md without its code blocks and code spans.
func prose(md string) string {
	return codeSpan.ReplaceAllString(fence.ReplaceAllString(md, ""), "")
}

// links returns the targets of md's links, in order.
func links(md string) []string {
	text := prose(md)
	var out []string
	for _, m := range inlineLink.FindAllStringSubmatch(text, -1) {
		out = append(out, m[1])
	}
	for _, m := range refLink.FindAllStringSubmatch(text, -1) {
		out = append(out, m[1])
	}
	return out
}

// slug returns the anchor GitHub gives a heading: lower case, the text's
// formatting and punctuation removed except '-' and '_', spaces made '-'.
func slug(text string) string {
	// A link in a heading anchors on its text.
	text = regexp.MustCompile(`\[([^\]]*)\]\([^)]*\)`).ReplaceAllString(text, "$1")
	var b strings.Builder
	for _, r := range strings.ToLower(text) {
		switch {
		case r == ' ':
			b.WriteByte('-')
		case r == '-' || r == '_' || unicode.IsLetter(r) || unicode.IsDigit(r):
			b.WriteRune(r)
		}
	}
	return b.String()
}

// anchors returns the anchors of md's headings, numbered as GitHub numbers
// repeated ones (-1, -2, …).
func anchors(md string) map[string]bool {
	seen := map[string]int{}
	out := map[string]bool{}
	for _, m := range heading.FindAllStringSubmatch(fence.ReplaceAllString(md, ""), -1) {
		s := slug(m[1])
		if n := seen[s]; n > 0 {
			out[fmt.Sprintf("%s-%d", s, n)] = true
		} else {
			out[s] = true
		}
		seen[s]++
	}
	return out
}

// brokenLinks returns a line for every relative link of file that does not
// resolve: a missing file, or an anchor that no heading of the target has.
// External links are not fetched.
func brokenLinks(file string) ([]string, error) {
	src, err := os.ReadFile(file)
	if err != nil {
		return nil, err
	}
	var broken []string
	for _, target := range links(string(src)) {
		if strings.Contains(target, "://") || strings.HasPrefix(target, "mailto:") {
			continue
		}
		path, anchor, _ := strings.Cut(target, "#")
		resolved := file
		if path != "" {
			resolved = filepath.Join(filepath.Dir(file), filepath.FromSlash(path))
		}
		info, err := os.Stat(resolved)
		if err != nil {
			broken = append(broken, fmt.Sprintf("%s: %s: no such file", file, target))
			continue
		}
		if anchor == "" {
			continue
		}
		if info.IsDir() || !strings.HasSuffix(resolved, ".md") {
			broken = append(broken, fmt.Sprintf("%s: %s: an anchor into a file that is not Markdown", file, target))
			continue
		}
		md, err := os.ReadFile(resolved)
		if err != nil {
			return nil, err
		}
		if !anchors(string(md))[anchor] {
			broken = append(broken, fmt.Sprintf("%s: %s: no heading with that anchor", file, target))
		}
	}
	return broken, nil
}

// TestDocLinks checks that every relative link and anchor of the
// documentation resolves.
func TestDocLinks(t *testing.T) {
	for _, file := range docFiles(t) {
		broken, err := brokenLinks(file)
		if err != nil {
			t.Fatal(err)
		}
		for _, b := range broken {
			t.Error(b)
		}
	}
}

// TestDocLinksCatchBrokenOnes feeds the checker a page with good and broken
// links of every kind, and checks that it reports exactly the broken ones.
func TestDocLinksCatchBrokenOnes(t *testing.T) {
	dir := t.TempDir()
	write := func(name, text string) {
		t.Helper()
		path := filepath.Join(dir, filepath.FromSlash(name))
		if err := os.MkdirAll(filepath.Dir(path), 0o755); err != nil {
			t.Fatal(err)
		}
		if err := os.WriteFile(path, []byte(text), 0o644); err != nil {
			t.Fatal(err)
		}
	}
	write("docs/other.md", "# Other\n\n## When Redis is down\n\n## `Store`, the interface\n\n## Notes\n\n## Notes\n")
	write("README.md", strings.Join([]string{
		"# Title",
		"## A user's sessions",
		"[ok](#a-users-sessions) [ok](docs/other.md#when-redis-is-down) [ok](docs/other.md)",
		"[ok](docs/other.md#store-the-interface) [ok](docs/other.md#notes-1) [ok](https://example.com/#nowhere)",
		"[bad](#no-such-heading) [bad](docs/missing.md) [bad](docs/other.md#when-redis-is-up)",
		"[bad](docs/other.md#notes-2) ![bad](docs/missing.png)",
		"`[not a link](nowhere.md)`",
		"```",
		"[not a link](nowhere.md)",
		"```",
		"[label]: docs/gone.md",
	}, "\n"))
	broken, err := brokenLinks(filepath.Join(dir, "README.md"))
	if err != nil {
		t.Fatal(err)
	}
	want := []string{"#no-such-heading", "docs/missing.md", "docs/other.md#when-redis-is-up", "docs/other.md#notes-2", "docs/missing.png", "docs/gone.md"}
	if len(broken) != len(want) {
		t.Fatalf("reported %d broken links, want %d:\n%s", len(broken), len(want), strings.Join(broken, "\n"))
	}
	for i, w := range want {
		if !strings.Contains(broken[i], ": "+w+": ") {
			t.Errorf("report %d = %q, want one for %s", i, broken[i], w)
		}
	}
}

// TestReadmeIsAGuide keeps the README short, with a table of contents that
// lists each of its sections.
func TestReadmeIsAGuide(t *testing.T) {
	src, err := os.ReadFile("README.md")
	if err != nil {
		t.Fatal(err)
	}
	lines := strings.Count(string(src), "\n")
	if lines >= 450 {
		t.Errorf("README.md has %d lines: keep it under 450 and move reference material to docs/", lines)
	}
	var sections []string
	sc := bufio.NewScanner(strings.NewReader(fence.ReplaceAllString(string(src), "")))
	for sc.Scan() {
		if h, ok := strings.CutPrefix(sc.Text(), "## "); ok {
			sections = append(sections, strings.TrimSpace(h))
		}
	}
	if len(sections) == 0 || sections[0] != "Contents" {
		t.Fatalf("README.md's first section is %q, want Contents", sections)
	}
	_, rest, _ := strings.Cut(string(src), "## Contents\n")
	toc, _, _ := strings.Cut(rest, "\n## ")
	for _, s := range sections[1:] {
		if !strings.Contains(toc, "](#"+slug(s)+")") {
			t.Errorf("the table of contents does not list the section %q (#%s)", s, slug(s))
		}
	}
}

// snippetMarker matches a Go code block of the guides with the marker that
// names where it comes from: a file and, optionally, a function or type of
// it.
var snippetMarker = regexp.MustCompile("(?s)<!-- code: (\\S+)(?: (\\w+))? -->\n```go\n(.*?)\n```")

// TestDocSnippetsMatchCode keeps the README and docs/ honest, as
// TestMigratingGuideMatchesExamples does MIGRATING.md: every Go block is a
// verbatim part of the named function or type (indented as at the top
// level, or as inside a handler there), or of the named file, which make test compiles. A file shown
// whole is an example program: its package and Example function read as
// package main and func main.
func TestDocSnippetsMatchCode(t *testing.T) {
	files := []string{"README.md", "benchmarks/README.md"}
	docs, err := filepath.Glob("docs/*.md")
	if err != nil {
		t.Fatal(err)
	}
	for _, file := range append(files, docs...) {
		src, err := os.ReadFile(file)
		if err != nil {
			t.Fatal(err)
		}
		blocks := snippetMarker.FindAllStringSubmatch(string(src), -1)
		if n := strings.Count(string(src), "```go"); n != len(blocks) {
			t.Errorf("%s has %d Go blocks, %d of them with a <!-- code: file [function] --> marker: mark every one", file, n, len(blocks))
		}
		for _, b := range blocks {
			from, name, code := b[1], b[2], b[3]
			var where string
			if name == "" {
				where = programText(t, from)
			} else {
				body, ok := declarations(t, from)[name]
				if !ok {
					t.Errorf("%s shows %s from %s, which has no such function or type", file, name, from)
					continue
				}
				where = body
			}
			if !containsIndented(where, code) {
				t.Errorf("%s's block from %s %s is not in it:\n%s", file, from, name, code)
			}
		}
	}
}

// containsIndented reports whether text holds code, as it is or indented
// by a few tabs more (a part of a handler inside a function).
func containsIndented(text, code string) bool {
	for tabs := range 6 {
		lines := strings.Split(code, "\n")
		for i, l := range lines {
			if l != "" {
				lines[i] = strings.Repeat("\t", tabs) + l
			}
		}
		if strings.Contains(text, strings.Join(lines, "\n")) {
			return true
		}
	}
	return false
}

// programText returns file as the program it shows: package main, with its
// Example function named main.
func programText(t *testing.T, file string) string {
	t.Helper()
	src, err := os.ReadFile(filepath.FromSlash(file))
	if err != nil {
		t.Fatal(err)
	}
	text := regexp.MustCompile(`(?m)^package \w+$`).ReplaceAllString(string(src), "package main")
	return regexp.MustCompile(`(?m)^func Example\w*\(\) \{$`).ReplaceAllString(text, "func main() {")
}

// declarations returns the bodies of file's functions, as functionBodies
// does, and the text of its type declarations.
func declarations(t *testing.T, file string) map[string]string {
	t.Helper()
	decls := functionBodies(t, file)
	src, err := os.ReadFile(filepath.FromSlash(file))
	if err != nil {
		t.Fatal(err)
	}
	fset := token.NewFileSet()
	f, err := parser.ParseFile(fset, file, src, parser.ParseComments)
	if err != nil {
		t.Fatal(err)
	}
	for _, d := range f.Decls {
		gd, ok := d.(*ast.GenDecl)
		if !ok || gd.Tok != token.TYPE {
			continue
		}
		for _, spec := range gd.Specs {
			ts := spec.(*ast.TypeSpec)
			start, end := fset.Position(ts.Pos()).Offset, fset.Position(ts.End()).Offset
			decls[ts.Name.Name] = "type " + string(src[start:end])
		}
	}
	return decls
}
