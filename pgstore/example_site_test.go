package pgstore_test

import (
	"bufio"
	"context"
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

	"github.com/ginsessions/sessions/internal/pgtest"
)

// TestExampleSiteOnPostgres builds the repository's example site with the
// postgres tag, runs it with DATABASE_URL, and checks that a visit keeps its
// session in the table "sessions", that the counter counts across visits,
// and that a login shows on the user's sessions page.
func TestExampleSiteOnPostgres(t *testing.T) {
	if os.Getenv(pgtest.EnvURL) != "" {
		t.Skip("the example writes to the table \"sessions\"; it runs only on a throwaway server, without " + pgtest.EnvURL)
	}
	url := needServer(t)
	pool := newPool(t, url, nil)
	root, err := filepath.Abs("..")
	if err != nil {
		t.Fatal(err)
	}
	bin := filepath.Join(t.TempDir(), "example")
	build := exec.Command("go", "build", "-tags", "postgres", "-o", bin, "./_example")
	build.Dir = root
	build.Env = append(os.Environ(), "GOWORK="+filepath.Join(root, "pgstore", "example.work"))
	if out, err := build.CombinedOutput(); err != nil {
		t.Fatalf("building the example: %v\n%s", err, out)
	}

	site := exec.Command(bin)
	site.Env = append(os.Environ(), "DATABASE_URL="+url, "PORT=0", "REDIS_URL=", "GIN_MODE=release")
	logs, err := site.StderrPipe()
	if err != nil {
		t.Fatal(err)
	}
	if err := site.Start(); err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() {
		site.Process.Kill()
		site.Wait()
	})
	addr := listeningOn(t, logs)

	jar, _ := cookiejar.New(nil)
	client := &http.Client{Jar: jar, Timeout: 10 * time.Second}
	for visit := 1; visit <= 2; visit++ {
		resp, err := client.Get(addr + "/")
		if err != nil {
			t.Fatal(err)
		}
		resp.Body.Close()
		if resp.StatusCode != http.StatusOK {
			t.Fatalf("visit %d: status %d", visit, resp.StatusCode)
		}
	}
	var visits int
	if err := pool.QueryRow(context.Background(), `SELECT (data->'num_visits')::int FROM sessions ORDER BY saved DESC LIMIT 1`).Scan(&visits); err != nil {
		t.Fatalf("reading the session from the table sessions: %v", err)
	}
	if visits != 2 {
		t.Fatalf("num_visits = %d after two visits, want 2", visits)
	}

	// Logging in binds the session to the user, and the user's sessions
	// page lists it from the table.
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
	if err := pool.QueryRow(context.Background(), `SELECT count(*) FROM sessions WHERE principal = 'ann' AND expires > now()`).Scan(&principals); err != nil {
		t.Fatal(err)
	}
	if principals != 1 {
		t.Fatalf("%d live sessions of ann in the table, want 1", principals)
	}
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
	case <-time.After(30 * time.Second):
		t.Fatal("the example did not say where it listens within 30s")
		return ""
	}
}
