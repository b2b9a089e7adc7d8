// Command releasecheck proves that the modules of this repository resolve
// once they are tagged, before anything is tagged: a user's go get must work
// without the replace directives that development relies on, because a
// dependency's replace directives are ignored.
//
// From the repository root (make release-check runs it):
//
//	go run ./internal/releasecheck [-version v0.1.0]
//
// It builds the module zip of the root and of every published sub-module at
// the version into a file-based module proxy in a temporary folder, then, in
// fresh consumer modules outside the repository, with that proxy in front of
// the usual one, runs go get of each published sub-module alone and of every
// published module together, and go build of a main package that imports
// their public packages. It also checks the go.mod of every
// module, test-only ones included: none may require the zero pseudo-version
// that a require line written for a replace directive carries, nor a
// pseudo-version of a module of this repository.
//
// The version defaults to the newest release in CHANGELOG.md. The check uses
// the network only through the module proxy (GOPROXY without "direct"), and
// the consumer has a module cache of its own, removed at the end, so that
// nothing of a previous run is reused and the shared cache never holds the
// untagged zips.
package main

import (
	"bufio"
	"bytes"
	"context"
	"encoding/json"
	"errors"
	"flag"
	"fmt"
	"os"
	"os/exec"
	"os/signal"
	"path"
	"path/filepath"
	"regexp"
	"slices"
	"strings"
	"syscall"
	"time"
)

// published lists the directories of the modules that are tagged and that
// users import, in the order they are tagged: the root first, since the
// others require it.
var published = []string{".", "pgstore", "migrate", "sqlstore", "otelsessions"}

// testOnly lists the directories of the modules that hold only tests,
// benchmarks or tools of this repository; they are never tagged.
var testOnly = []string{"benchmarks", "e2e", "websockettest"}

// zeroPseudo is the version that go mod tidy writes for a module that is
// only reachable through a replace directive. No proxy can serve it.
const zeroPseudo = "v0.0.0-00010101000000-000000000000"

// pseudoVersion matches every form of pseudo-version.
var pseudoVersion = regexp.MustCompile(`^v[0-9]+\.(0\.0-|\d+\.\d+-([^+]*\.)?0\.)\d{14}-[A-Za-z0-9]+(\+[0-9A-Za-z-]+)?$`)

// releaseHeading matches a release's heading in CHANGELOG.md.
var releaseHeading = regexp.MustCompile(`^## \[(\d+\.\d+\.\d+)\]`)

func main() {
	version := flag.String("version", "", "the version to check (default: the newest release in CHANGELOG.md)")
	keep := flag.Bool("keep", false, "keep the temporary folders and print where they are")
	flag.Parse()
	// An interrupt stops the go command that runs and lets run clean up.
	var stop context.CancelFunc
	cmdCtx, stop = signal.NotifyContext(context.Background(), os.Interrupt, syscall.SIGTERM)
	err := run(*version, *keep)
	stop()
	if err != nil {
		fmt.Fprintln(os.Stderr, "release-check: FAIL:", err)
		os.Exit(1)
	}
	fmt.Println("release-check: ok")
}

// module is one go.mod of the repository.
type module struct {
	dir       string // relative to the repository root, "." for the root
	path      string
	published bool
}

func run(version string, keep bool) error {
	root, err := os.Getwd()
	if err != nil {
		return err
	}
	if version == "" {
		if version, err = changelogVersion(filepath.Join(root, "CHANGELOG.md")); err != nil {
			return err
		}
	}
	if !semverTag.MatchString(version) {
		return fmt.Errorf("-version %q: want a release version such as v0.1.0", version)
	}
	mods, err := findModules(root)
	if err != nil {
		return err
	}
	fmt.Printf("release-check of %s in %s\n", version, root)
	for _, m := range mods {
		kind := "test-only, not published"
		if m.published {
			kind = "published"
		}
		fmt.Printf("  %-45s %-14s %s\n", m.path, m.dir, kind)
	}

	var failures []string
	fmt.Println("go.mod requirements:")
	if problems := checkRequirements(root, mods); len(problems) > 0 {
		for _, p := range problems {
			fmt.Println("  FAIL:", p)
		}
		failures = append(failures, fmt.Sprintf("%d go.mod problem(s) above", len(problems)))
	} else {
		fmt.Println("  ok: no zero pseudo-version, no pseudo-version of a module of this repository")
	}

	tmp, err := os.MkdirTemp("", "releasecheck-")
	if err != nil {
		return err
	}
	env, err := consumerEnv(tmp, mods[0].path)
	if err != nil {
		_ = os.RemoveAll(tmp)
		return err
	}
	defer func() {
		if keep {
			fmt.Println("kept", tmp)
			return
		}
		// The go command knows how to remove a module cache, read-only
		// folders included; it runs even after an interrupt.
		clean := exec.Command("go", "clean", "-modcache")
		clean.Dir, clean.Env = tmp, env
		_ = clean.Run()
		if err := os.RemoveAll(tmp); err != nil {
			fmt.Fprintln(os.Stderr, "release-check: removing", tmp+":", err)
		}
	}()

	if err := consume(root, tmp, env, version, mods); err != nil {
		failures = append(failures, err.Error())
	}
	if len(failures) > 0 {
		return errors.New(strings.Join(failures, "; "))
	}
	return nil
}

// semverTag matches the tag of a release: no pre-release, no build.
var semverTag = regexp.MustCompile(`^v\d+\.\d+\.\d+$`)

// changelogVersion returns the first release heading of the changelog,
// skipping [Unreleased].
func changelogVersion(name string) (string, error) {
	f, err := os.Open(name)
	if err != nil {
		return "", fmt.Errorf("no -version and %w", err)
	}
	defer f.Close()
	sc := bufio.NewScanner(f)
	for sc.Scan() {
		if m := releaseHeading.FindStringSubmatch(sc.Text()); m != nil {
			return "v" + m[1], nil
		}
	}
	if err := sc.Err(); err != nil {
		return "", err
	}
	return "", fmt.Errorf("no -version and no release heading such as \"## [0.1.0]\" in %s", name)
}

// findModules returns every module of the repository, the root first, and
// fails on a module that is neither published nor known to be test-only,
// so that a new module is a decision.
func findModules(root string) ([]module, error) {
	var mods []module
	err := filepath.WalkDir(root, func(p string, d os.DirEntry, err error) error {
		if err != nil {
			return err
		}
		if d.IsDir() && p != root && (strings.HasPrefix(d.Name(), ".") || d.Name() == "testdata" || d.Name() == "vendor") {
			return filepath.SkipDir
		}
		if d.IsDir() || d.Name() != "go.mod" {
			return nil
		}
		dir, err := filepath.Rel(root, filepath.Dir(p))
		if err != nil {
			return err
		}
		path, err := modulePath(p)
		if err != nil {
			return err
		}
		dir = filepath.ToSlash(dir)
		m := module{dir: dir, path: path, published: slices.Contains(published, dir)}
		if !m.published && !slices.Contains(testOnly, dir) {
			return fmt.Errorf("%s/go.mod: a module that is neither published nor test-only; add %q to one of the lists in internal/releasecheck and to CONTRIBUTING.md", dir, dir)
		}
		mods = append(mods, m)
		return nil
	})
	if err != nil {
		return nil, err
	}
	for _, dir := range published {
		if !slices.ContainsFunc(mods, func(m module) bool { return m.dir == dir }) {
			return nil, fmt.Errorf("the published module in %s has no go.mod", dir)
		}
	}
	// The published modules in their order, then the others as found.
	rank := func(m module) int {
		if i := slices.Index(published, m.dir); i >= 0 {
			return i
		}
		return len(published)
	}
	slices.SortStableFunc(mods, func(a, b module) int { return rank(a) - rank(b) })
	if mods[0].dir != "." {
		return nil, errors.New("run it from the repository root")
	}
	return mods, nil
}

// modulePath reads the module line of a go.mod.
func modulePath(gomod string) (string, error) {
	data, err := os.ReadFile(gomod)
	if err != nil {
		return "", err
	}
	for line := range strings.SplitSeq(string(data), "\n") {
		if rest, ok := strings.CutPrefix(strings.TrimSpace(line), "module "); ok {
			return strings.Trim(strings.TrimSpace(rest), `"`), nil
		}
	}
	return "", fmt.Errorf("%s: no module line", gomod)
}

// checkRequirements reads every go.mod through go mod edit -json and lists
// the requirements that cannot resolve once published.
func checkRequirements(root string, mods []module) []string {
	ours := func(path string) bool {
		return slices.ContainsFunc(mods, func(m module) bool { return m.path == path })
	}
	var problems []string
	for _, m := range mods {
		cmd := goCmd(filepath.Join(root, m.dir), repoEnv(), "mod", "edit", "-json")
		out, err := cmd.Output()
		if err != nil {
			problems = append(problems, fmt.Sprintf("%s/go.mod: go mod edit -json: %v", m.dir, commandError(err)))
			continue
		}
		var gm struct {
			Require []struct{ Path, Version string }
		}
		if err := json.Unmarshal(out, &gm); err != nil {
			problems = append(problems, fmt.Sprintf("%s/go.mod: %v", m.dir, err))
			continue
		}
		for _, r := range gm.Require {
			switch {
			case r.Version == zeroPseudo:
				problems = append(problems, fmt.Sprintf("%s/go.mod requires %s %s, a version no proxy serves: require the release (see CONTRIBUTING.md) and keep the replace directive", m.dir, r.Path, r.Version))
			case ours(r.Path) && pseudoVersion.MatchString(r.Version):
				problems = append(problems, fmt.Sprintf("%s/go.mod requires %s at the pseudo-version %s: require a tagged version", m.dir, r.Path, r.Version))
			}
		}
	}
	return problems
}

// consume builds the proxy in tmp, then the consumer modules: one for each
// published sub-module alone, as a user who needs only pgstore starts, so
// that the root is resolved through the sub-module's own requirement (a
// consumer that already requires the root would hide a requirement no
// proxy serves, since the higher version wins), then one for every module
// together. It returns the first failure.
func consume(root, tmp string, env []string, version string, mods []module) error {
	proxy := filepath.Join(tmp, "proxy")
	fmt.Println("module proxy", proxy+":")
	var pub []module
	imports := map[string][]string{}
	for _, m := range mods {
		if !m.published {
			continue
		}
		n, size, err := addToProxy(proxy, filepath.Join(root, m.dir), m.path, version, time.Now())
		if err != nil {
			return fmt.Errorf("%s: %w", m.path, err)
		}
		fmt.Printf("  %s@%s: list, .info, .mod, .zip (%d files, %d bytes)\n", m.path, version, n, size)
		if imports[m.path], err = publicPackages(filepath.Join(root, m.dir)); err != nil {
			return fmt.Errorf("%s: listing its packages: %w", m.path, err)
		}
		pub = append(pub, m)
	}
	fmt.Println("consumers, with GOPROXY=" + envValue(env, "GOPROXY"))

	for _, m := range pub[1:] {
		if err := consumer(filepath.Join(tmp, "consumer-"+path.Base(m.path)), env, version, pub[0].path, []module{m}, imports); err != nil {
			return err
		}
	}
	return consumer(filepath.Join(tmp, "consumer-all"), env, version, pub[0].path, pub, imports)
}

// consumer creates a fresh module in dir that gets mods at version, in
// order, and builds a main package that imports their packages; every
// module under rootPath in its build list must then be at version.
func consumer(dir string, env []string, version, rootPath string, mods []module, imports map[string][]string) error {
	if err := os.MkdirAll(dir, 0o755); err != nil {
		return err
	}
	fmt.Println("consumer module", dir+":")
	steps := [][]string{{"mod", "init", "example.com/consumer"}}
	var pkgs []string
	for _, m := range mods {
		steps = append(steps, []string{"get", m.path + "@" + version})
		pkgs = append(pkgs, imports[m.path]...)
	}
	for _, args := range steps {
		if err := runStep(dir, env, args...); err != nil {
			return err
		}
	}
	if err := writeMain(dir, pkgs); err != nil {
		return err
	}
	fmt.Printf("  main.go imports %s\n", strings.Join(pkgs, ", "))
	if err := runStep(dir, env, "build", "-o", os.DevNull, "."); err != nil {
		return err
	}
	out, err := goCmd(dir, env, "list", "-m", "all").Output()
	if err != nil {
		return fmt.Errorf("go list -m all: %v", commandError(err))
	}
	for line := range strings.SplitSeq(strings.TrimSpace(string(out)), "\n") {
		p, v, _ := strings.Cut(line, " ")
		if p == rootPath || strings.HasPrefix(p, rootPath+"/") {
			fmt.Printf("  resolved %s %s\n", p, v)
			if v != version {
				return fmt.Errorf("the consumer resolved %s at %s, not %s", p, v, version)
			}
		}
	}
	return nil
}

// runStep runs one go command in the consumer and prints it with its
// outcome; on failure the command's output is printed in full.
func runStep(dir string, env []string, args ...string) error {
	line := "go " + strings.Join(args, " ")
	out, err := goCmd(dir, env, args...).CombinedOutput()
	if err != nil {
		fmt.Printf("  FAIL: %s\n", line)
		for l := range strings.SplitSeq(strings.TrimRight(string(out), "\n"), "\n") {
			fmt.Println("    " + l)
		}
		return fmt.Errorf("%s in the consumer module: %v", line, err)
	}
	fmt.Printf("  ok: %s\n", line)
	return nil
}

// publicPackages lists the importable packages of the module in dir: not
// internal, not a command.
func publicPackages(dir string) ([]string, error) {
	out, err := goCmd(dir, repoEnv(), "list", "-f", "{{.Name}} {{.ImportPath}}", "./...").Output()
	if err != nil {
		return nil, commandError(err)
	}
	var pkgs []string
	for line := range strings.SplitSeq(strings.TrimSpace(string(out)), "\n") {
		name, path, _ := strings.Cut(line, " ")
		if name == "main" || strings.Contains(path+"/", "/internal/") {
			continue
		}
		pkgs = append(pkgs, path)
	}
	if len(pkgs) == 0 {
		return nil, errors.New("no package to import")
	}
	return pkgs, nil
}

// writeMain writes the consumer's main package: a blank import of each
// package, so that the build compiles all of them.
func writeMain(dir string, imports []string) error {
	var b bytes.Buffer
	b.WriteString("// Package main imports every published package, to build them as a user would.\npackage main\n\nimport (\n")
	for _, p := range imports {
		fmt.Fprintf(&b, "\t_ %q\n", p)
	}
	b.WriteString(")\n\nfunc main() {}\n")
	return os.WriteFile(filepath.Join(dir, "main.go"), b.Bytes(), 0o644)
}

// consumerEnv is the environment of the go commands run in the consumer:
// the proxy in front, then the local module cache's downloads (itself a
// file proxy, which spares the network what it already holds), then the
// usual proxies without "direct" and "off", so that the network is reached
// through a module proxy only. The modules under rootPath are not in the
// checksum database before they are published: GONOSUMDB skips it for
// them.
//
// GOENV=off and the removal of GOPRIVATE and GONOPROXY leave GONOPROXY
// empty, as a user's usually is: when it is set, the go command first asks
// its cache, where the root module it already holds answers a query for
// github.com/ginsessions/sessions/pgstore with "module
// github.com/ginsessions/sessions@v0.1.0 found, but does not contain
// package", and the proxy that holds the sub-module is never asked.
// -trimpath keeps the module cache's folder out of the build cache's keys,
// so that a later run reuses what this one compiled.
func consumerEnv(tmp, rootPath string) ([]string, error) {
	proxies := []string{fileURL(filepath.Join(tmp, "proxy"))}
	settings := map[string]string{}
	for _, name := range []string{"GOMODCACHE", "GOPROXY", "GOSUMDB"} {
		v, err := goEnv(name)
		if err != nil {
			return nil, err
		}
		settings[name] = v
	}
	if cache := settings["GOMODCACHE"]; cache != "" {
		proxies = append(proxies, fileURL(filepath.Join(cache, "cache", "download")))
	}
	for _, p := range strings.FieldsFunc(settings["GOPROXY"], func(r rune) bool { return r == ',' || r == '|' }) {
		if p != "direct" && p != "off" {
			proxies = append(proxies, p)
		}
	}
	var env []string
	for _, kv := range os.Environ() {
		name, _, _ := strings.Cut(kv, "=")
		switch name {
		case "GOPRIVATE", "GONOPROXY", "GONOSUMDB", "GOPROXY", "GOSUMDB", "GOFLAGS", "GOMODCACHE", "GOWORK", "GOTOOLCHAIN", "GOENV":
			continue
		}
		env = append(env, kv)
	}
	return append(env,
		"GOENV=off",
		"GOPROXY="+strings.Join(proxies, ","),
		"GOSUMDB="+settings["GOSUMDB"],
		"GONOSUMDB="+rootPath,
		"GOFLAGS=-mod=mod -modcacherw -trimpath",
		"GOMODCACHE="+filepath.Join(tmp, "modcache"),
		"GOWORK=off",
		"GOTOOLCHAIN=local",
	), nil
}

// repoEnv is the environment of the go commands run in the repository.
func repoEnv() []string {
	return append(os.Environ(), "GOWORK=off", "GOTOOLCHAIN=local")
}

func fileURL(dir string) string {
	return "file://" + filepath.ToSlash(dir)
}

func goEnv(name string) (string, error) {
	out, err := exec.CommandContext(cmdCtx, "go", "env", name).Output()
	return strings.TrimSpace(string(out)), err
}

// cmdCtx ends the go commands on an interrupt.
var cmdCtx = context.Background()

func goCmd(dir string, env []string, args ...string) *exec.Cmd {
	cmd := exec.CommandContext(cmdCtx, "go", args...)
	cmd.Dir = dir
	cmd.Env = env
	return cmd
}

// envValue returns the last value of name in env, as exec does.
func envValue(env []string, name string) string {
	v := ""
	for _, kv := range env {
		if rest, ok := strings.CutPrefix(kv, name+"="); ok {
			v = rest
		}
	}
	return v
}

// commandError adds a failed command's standard error to its error.
func commandError(err error) error {
	var ee *exec.ExitError
	if errors.As(err, &ee) && len(ee.Stderr) > 0 {
		return fmt.Errorf("%v: %s", err, strings.TrimSpace(string(ee.Stderr)))
	}
	return err
}
