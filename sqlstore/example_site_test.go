package sqlstore_test

import (
	"bufio"
	"io"
	"net/http"
	"net/http/cookiejar"
	neturl "net/url"
	"os"
	"os/exec"
	"path/filepath"
	"regexp"
	"strings"
	"testing"
	"time"

	"github.com/ginsessions/sessions/sqlstore/sqlite"
)

// TestExampleSiteOnSQLite builds the repository's example site with the
// sqlite tag, runs it with SQLITE_PATH, and checks that a visit keeps its
// session in the file, that the counter counts across visits and across a
// restart of the site, and that a login shows on the user's sessions page.
func TestExampleSiteOnSQLite(t *testing.T) {
	if testing.Short() {
		t.Skip("builds the example site")
	}
	root, err := filepath.Abs("..")
	if err != nil {
		t.Fatal(err)
	}
	bin := filepath.Join(t.TempDir(), "example")
	build := exec.Command("go", "build", "-tags", "sqlite", "-o", bin, "./_example")
	build.Dir = root
	build.Env = append(os.Environ(), "GOWORK="+filepath.Join(root, "sqlstore", "example.work"))
	if out, err := build.CombinedOutput(); err != nil {
		t.Fatalf("building the example: %v\n%s", err, out)
	}
	path := filepath.Join(t.TempDir(), "sessions.db")
	jar, _ := cookiejar.New(nil)
	client := &http.Client{Jar: jar, Timeout: 10 * time.Second}

	// Two visits, the site restarted between them: the session survives.
	for visit := 1; visit <= 2; visit++ {
		addr, stop := startSite(t, bin, path)
		resp, err := client.Get(addr + "/")
		if err != nil {
			t.Fatal(err)
		}
		resp.Body.Close()
		if resp.StatusCode != http.StatusOK {
			t.Fatalf("visit %d: status %d", visit, resp.StatusCode)
		}
		if visit == 1 {
			stop()
		}
	}
	db, err := sqlite.Open(path)
	if err != nil {
		t.Fatal(err)
	}
	defer db.Close()
	var visits int
	if err := db.QueryRow(`SELECT data ->> '$.num_visits' FROM sessions ORDER BY saved DESC LIMIT 1`).Scan(&visits); err != nil {
		t.Fatalf("reading the session from the table sessions: %v", err)
	}
	if visits != 2 {
		t.Fatalf("num_visits = %d after two visits, want 2", visits)
	}

	addr, _ := startSite(t, bin, path)
	resp, err := client.PostForm(addr+"/login", neturl.Values{"name": {"ann"}})
	if err != nil {
		t.Fatal(err)
	}
	resp.Body.Close()
	resp, err = client.Get(addr + "/sessions")
	if err != nil {
		t.Fatal(err)
	}
	page, _ := io.ReadAll(resp.Body)
	resp.Body.Close()
	if resp.StatusCode != http.StatusOK || !strings.Contains(string(page), "ann") {
		t.Fatalf("the sessions page: status %d, no mention of ann:\n%s", resp.StatusCode, page)
	}
	var principals int
	if err := db.QueryRow(`SELECT count(*) FROM sessions WHERE principal = 'ann'`).Scan(&principals); err != nil {
		t.Fatal(err)
	}
	if principals != 1 {
		t.Fatalf("%d sessions of ann in the table, want 1", principals)
	}
}

// startSite runs the example binary on the SQLite file at path and returns
// its address and a function that stops it (also called when t ends).
func startSite(t *testing.T, bin, path string) (string, func()) {
	t.Helper()
	site := exec.Command(bin)
	site.Env = append(os.Environ(), "SQLITE_PATH="+path, "PORT=0", "REDIS_URL=", "DATABASE_URL=", "GIN_MODE=release")
	logs, err := site.StderrPipe()
	if err != nil {
		t.Fatal(err)
	}
	if err := site.Start(); err != nil {
		t.Fatal(err)
	}
	stop := func() {
		site.Process.Kill()
		site.Wait()
	}
	t.Cleanup(stop)
	return listeningOn(t, logs), stop
}

// listeningOn reads the site's log until it says where it listens, and
// drains the rest so the site never blocks on it.
func listeningOn(t *testing.T, logs io.Reader) string {
	t.Helper()
	found := make(chan string, 1)
	go func() {
		sc := bufio.NewScanner(logs)
		re := regexp.MustCompile(`listening on (http://\S+)`)
		var seen []string
		for sc.Scan() {
			if m := re.FindStringSubmatch(sc.Text()); m != nil {
				found <- m[1]
				io.Copy(io.Discard, logs)
				return
			}
			seen = append(seen, sc.Text())
		}
		found <- "exited: " + strings.Join(seen, "\n")
	}()
	select {
	case got := <-found:
		if !strings.HasPrefix(got, "http://") {
			t.Fatalf("the example did not start: %s", got)
		}
		return got
	case <-time.After(60 * time.Second):
		t.Fatal("the example did not say where it listens within 60s")
		return ""
	}
}
