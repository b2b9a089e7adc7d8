package sessions_test

import (
	"go/ast"
	"go/parser"
	"go/token"
	"os"
	"path/filepath"
	"regexp"
	"strings"
	"testing"
)

// guideBlock matches a code block of MIGRATING.md with the marker that names
// the function it comes from.
var guideBlock = regexp.MustCompile("(?s)<!-- code: (\\S+) (\\w+) -->\n```go\n(.*?)\n```")

// TestMigratingGuideMatchesExamples keeps MIGRATING.md honest: each of its
// code blocks is a verbatim part of the named function, which compiles and
// runs (in this module or in migrate/), and every program written for the
// guide is shown in it.
func TestMigratingGuideMatchesExamples(t *testing.T) {
	guide, err := os.ReadFile("MIGRATING.md")
	if err != nil {
		t.Fatal(err)
	}
	blocks := guideBlock.FindAllStringSubmatch(string(guide), -1)
	if n := strings.Count(string(guide), "```go"); n != len(blocks) {
		t.Fatalf("MIGRATING.md has %d Go blocks, %d of them with a <!-- code: file function --> marker: mark every one", n, len(blocks))
	}
	shown := map[string]bool{}
	for _, b := range blocks {
		file, fn, code := b[1], b[2], b[3]
		shown[file+" "+fn] = true
		body, ok := functionBodies(t, file)[fn]
		if !ok {
			t.Errorf("MIGRATING.md shows %s from %s, which has no such function", fn, file)
			continue
		}
		if !strings.Contains(body, code) {
			t.Errorf("MIGRATING.md's block from %s %s is not in that function:\n%s", file, fn, code)
		}
	}
	for _, file := range []string{"example_migrating_test.go", "example_migrating_scs_test.go", "migrating_redis_test.go", "migrate/before_test.go", "migrate/example_test.go"} {
		for fn := range functionBodies(t, file) {
			if isProgram(fn) && !shown[file+" "+fn] {
				t.Errorf("MIGRATING.md does not show %s from %s", fn, file)
			}
		}
	}
}

// isProgram reports whether a function of the guide's files is one of its
// programs rather than a helper.
func isProgram(name string) bool {
	for _, prefix := range []string{"Example", "TestMigrating", "before"} {
		if strings.HasPrefix(name, prefix) {
			return true
		}
	}
	return false
}

// functionBodies returns the bodies of file's functions, indented as at the
// top level: one tab less than in the file.
func functionBodies(t *testing.T, file string) map[string]string {
	t.Helper()
	src, err := os.ReadFile(filepath.FromSlash(file))
	if err != nil {
		t.Fatal(err)
	}
	fset := token.NewFileSet()
	f, err := parser.ParseFile(fset, file, src, parser.ParseComments)
	if err != nil {
		t.Fatal(err)
	}
	bodies := map[string]string{}
	for _, d := range f.Decls {
		fd, ok := d.(*ast.FuncDecl)
		if !ok || fd.Body == nil {
			continue
		}
		body := string(src[fset.Position(fd.Body.Lbrace).Offset+1 : fset.Position(fd.Body.Rbrace).Offset])
		lines := strings.Split(body, "\n")
		for i, l := range lines {
			lines[i] = strings.TrimPrefix(l, "\t")
		}
		bodies[fd.Name.Name] = strings.Join(lines, "\n")
	}
	return bodies
}
