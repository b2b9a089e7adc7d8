package main

import (
	"context"
	"os"
	"os/exec"
	"strings"
	"testing"
	"time"

	"github.com/gin-gonic/gin"
)

// runMainEnv makes the test binary run the site itself, so that a test can
// start it as a process of its own and see how it ends.
const runMainEnv = "EXAMPLE_RUN_MAIN"

func TestMain(m *testing.M) {
	if os.Getenv(runMainEnv) == "1" {
		main()
		return
	}
	gin.SetMode(gin.TestMode)
	os.Exit(m.Run())
}

// A malformed trusted origin stops the site before it listens, with the
// reason, rather than starting a site that trusts something else.
func TestBadTrustedOriginStopsTheSite(t *testing.T) {
	// The bound only keeps a site that started anyway from hanging the test.
	ctx, cancel := context.WithTimeout(context.Background(), time.Minute)
	defer cancel()
	cmd := exec.CommandContext(ctx, os.Args[0], "-test.run=^$")
	cmd.Env = append(os.Environ(), runMainEnv+"=1", "CSRF_TRUSTED_ORIGINS=https://app.example.com app.example.com",
		"HOST=127.0.0.1", "PORT=0", "REDIS_URL=", "GIN_MODE=release")
	out, err := cmd.CombinedOutput()
	want := `CSRF_TRUSTED_ORIGINS: invalid origin "app.example.com": scheme is required`
	if cmd.ProcessState == nil || cmd.ProcessState.ExitCode() != 1 || !strings.Contains(string(out), want) {
		t.Fatalf("the site ended with %v and said:\n%s\nwant exit status 1 and %q", err, out, want)
	}
	if strings.Contains(string(out), "listening on") {
		t.Errorf("the site listened before it stopped:\n%s", out)
	}
}
