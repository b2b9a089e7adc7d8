package sessions_test

import (
	"encoding/json"
	"html/template"
	"io"
	"net/http"
	"net/http/cookiejar"
	"net/http/httptest"
	"net/url"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/gin-gonic/gin"
	"github.com/ginsessions/sessions"
)

func TestPluralize(t *testing.T) {
	var decoded any
	if err := json.Unmarshal([]byte(`1`), &decoded); err != nil {
		t.Fatal(err)
	}
	one := 1
	const (
		singular = "[][][y]"
		plural   = "[s][es][ies]"
		none     = "[][][]"
	)
	tests := []struct {
		name  string
		value any
		want  string // the three forms: [pluralize][pluralize "es"][pluralize "y,ies"]
	}{
		{"int 0", 0, plural},
		{"int 1", 1, singular},
		{"int 2", 2, plural},
		{"int -1", -1, plural},
		{"int8", int8(1), singular},
		{"int16", int16(2), plural},
		{"int32", int32(1), singular},
		{"int64", int64(1), singular},
		{"int64 large", int64(1 << 62), plural},
		{"uint", uint(1), singular},
		{"uint8", uint8(0), plural},
		{"uint16", uint16(1), singular},
		{"uint32", uint32(1), singular},
		{"uint64", uint64(1), singular},
		{"uint64 max", ^uint64(0), plural},
		{"float32 1", float32(1), singular},
		{"float64 1.0", 1.0, singular},
		{"float64 1.5", 1.5, plural},
		{"float64 0.5", 0.5, plural},
		{"float64 0", 0.0, plural},
		{"json-decoded", decoded, singular},
		{"json.Number 1", json.Number("1"), singular},
		{"json.Number 2", json.Number("2"), plural},
		{"string 1", "1", singular},
		{"string 1.0", "1.0", singular},
		{"string padded", " 1 ", singular},
		{"string 3", "3", plural},
		{"string huge", "1e999", plural},
		{"string not a number", "one", none},
		{"string hexadecimal", "0x1p0", none},
		{"empty string", "", none},
		{"pointer", &one, singular},
		{"slice of one", []string{"a"}, singular},
		{"empty slice", []string{}, plural},
		{"map of two", map[string]int{"a": 1, "b": 2}, plural},
		{"bool true", true, singular},
		{"nil", nil, none},
		{"struct", struct{}{}, none},
	}
	tmpl := template.Must(template.New("").Funcs(sessions.FuncMap()).Parse(
		`[{{ .n | pluralize }}][{{ .n | pluralize "es" }}][{{ .n | pluralize "y,ies" }}]`))
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			var b strings.Builder
			if err := tmpl.Execute(&b, map[string]any{"n": tt.value}); err != nil {
				t.Fatal(err)
			}
			if got := b.String(); got != tt.want {
				t.Errorf("got %q, want %q", got, tt.want)
			}
		})
	}
}

func TestPluralizeArguments(t *testing.T) {
	tests := []struct {
		name    string
		tmpl    string
		want    string
		wantErr bool
	}{
		{"called as a function", `{{ pluralize .n }}`, "s", false},
		{"suffix then value", `{{ pluralize "es" .n }}`, "es", false},
		{"more than one comma", `{{ .n | pluralize "y,ies,x" }}`, "", false},
		{"empty plural", `{{ .n | pluralize "y," }}`, "", false},
		{"suffix not a string", `{{ .n | pluralize 3 }}`, "", true},
		{"too many arguments", `{{ .n | pluralize "a" "b" }}`, "", true},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			tmpl := template.Must(template.New("").Funcs(sessions.FuncMap()).Parse(tt.tmpl))
			var b strings.Builder
			err := tmpl.Execute(&b, map[string]any{"n": 2})
			if (err != nil) != tt.wantErr {
				t.Fatalf("error = %v, want error: %v", err, tt.wantErr)
			}
			if !tt.wantErr && b.String() != tt.want {
				t.Errorf("got %q, want %q", b.String(), tt.want)
			}
		})
	}
}

func TestFuncMapIsFresh(t *testing.T) {
	m := sessions.FuncMap()
	m["extra"] = func() string { return "" }
	if _, ok := sessions.FuncMap()["extra"]; ok {
		t.Fatal("FuncMap returned a shared map: a caller's addition leaked into the next call")
	}
}

// The templates the renderer tests load from disk, as an application does.
var testTemplates = map[string]string{
	"page.html": `title={{ .title }}|greeting={{ .session.greeting }}|n={{ .session.n }}|` +
		`visit{{ .session.n | pluralize }}|flashes={{ range .flashes }}[{{ . }}]{{ end }}|`,
	"struct.html": `struct={{ .Title }}`,
}

func writeTemplates(t *testing.T) string {
	t.Helper()
	dir := t.TempDir()
	for name, text := range testTemplates {
		if err := os.WriteFile(filepath.Join(dir, name), []byte(text), 0o600); err != nil {
			t.Fatal(err)
		}
	}
	return dir
}

// pageClient is a browser stand-in for the template tests: it keeps cookies
// in a real cookie jar and sends requests straight to the engine.
type pageClient struct {
	t   *testing.T
	h   http.Handler
	jar *cookiejar.Jar
}

var pageURL, _ = url.Parse("http://library.example/")

func newPageClient(t *testing.T, h http.Handler) *pageClient {
	t.Helper()
	jar, err := cookiejar.New(nil)
	if err != nil {
		t.Fatal(err)
	}
	return &pageClient{t: t, h: h, jar: jar}
}

func (c *pageClient) get(path string) *http.Response {
	c.t.Helper()
	req := httptest.NewRequest(http.MethodGet, pageURL.ResolveReference(&url.URL{Path: path}).String(), nil)
	for _, ck := range c.jar.Cookies(pageURL) {
		req.AddCookie(ck)
	}
	rec := httptest.NewRecorder()
	c.h.ServeHTTP(rec, req)
	resp := rec.Result()
	c.jar.SetCookies(pageURL, resp.Cookies())
	return resp
}

// body GETs path and returns the body of its 200 response.
func (c *pageClient) body(path string) string {
	c.t.Helper()
	resp := c.get(path)
	b, err := io.ReadAll(resp.Body)
	if err != nil {
		c.t.Fatal(err)
	}
	if resp.StatusCode != http.StatusOK {
		c.t.Fatalf("GET %s: status %d, body %q", path, resp.StatusCode, b)
	}
	return string(b)
}

// renderEngine builds an engine whose templates are loaded the way
// docs/templates.md shows, in the current gin mode, with routes that fill the session
// and render it.
func renderEngine(t *testing.T, load func(r *gin.Engine, dir string)) (*gin.Engine, *gin.H) {
	t.Helper()
	store := sessions.NewMemoryStore()
	t.Cleanup(func() { store.Close() })

	r := gin.New()
	r.SetFuncMap(sessions.FuncMap())
	load(r, writeTemplates(t))
	r.HTMLRender = sessions.HTMLRender(r.HTMLRender)

	// Routes outside the session middleware still render.
	r.GET("/plain", func(c *gin.Context) {
		c.HTML(http.StatusOK, "page.html", gin.H{"title": "plain"})
	})

	handlerData := new(gin.H)
	g := r.Group("/", sessions.Middleware(store))
	g.GET("/fill", func(c *gin.Context) {
		s := sessions.Default(c)
		s.Set("greeting", "<script>alert(1)</script>")
		s.Set("n", 3)
		s.AddFlash("saved")
		c.String(http.StatusOK, "ok")
	})
	g.GET("/page", func(c *gin.Context) {
		*handlerData = gin.H{"title": "Home"}
		c.HTML(http.StatusOK, "page.html", *handlerData)
	})
	g.GET("/nil", func(c *gin.Context) {
		c.HTML(http.StatusOK, "page.html", nil)
	})
	g.GET("/map", func(c *gin.Context) {
		c.HTML(http.StatusOK, "page.html", map[string]any{"title": "map"})
	})
	g.GET("/struct", func(c *gin.Context) {
		c.HTML(http.StatusOK, "struct.html", struct{ Title string }{"a struct"})
	})
	g.GET("/now", func(c *gin.Context) {
		s := sessions.Default(c)
		s.Set("n", 1)
		s.AddFlash("just now")
		c.HTML(http.StatusOK, "page.html", gin.H{"title": "now"})
	})
	g.GET("/own-flashes", func(c *gin.Context) {
		c.HTML(http.StatusOK, "page.html", gin.H{"title": "own", "flashes": []string{"mine"}})
	})
	g.GET("/nobody", func(c *gin.Context) {
		c.HTML(http.StatusNoContent, "page.html", gin.H{})
	})
	return r, handlerData
}

func TestHTMLRender(t *testing.T) {
	loaders := map[string]func(r *gin.Engine, dir string){
		"LoadHTMLGlob": func(r *gin.Engine, dir string) { r.LoadHTMLGlob(filepath.Join(dir, "*.html")) },
		"LoadHTMLFiles": func(r *gin.Engine, dir string) {
			r.LoadHTMLFiles(filepath.Join(dir, "page.html"), filepath.Join(dir, "struct.html"))
		},
	}
	for _, mode := range []string{gin.ReleaseMode, gin.DebugMode} {
		for loader, load := range loaders {
			t.Run(mode+"/"+loader, func(t *testing.T) {
				defer func(mode string, w io.Writer) {
					gin.SetMode(mode)
					gin.DefaultWriter = w
				}(gin.Mode(), gin.DefaultWriter)
				gin.SetMode(mode)
				gin.DefaultWriter = io.Discard // debug mode lists every route
				r, handlerData := renderEngine(t, load)
				testHTMLRender(t, r, handlerData)
			})
		}
	}
}

func testHTMLRender(t *testing.T, r *gin.Engine, handlerData *gin.H) {
	t.Run("a new visitor sees an empty session", func(t *testing.T) {
		c := newPageClient(t, r)
		want := "title=Home|greeting=|n=|visit|flashes=|"
		if got := c.body("/page"); got != want {
			t.Errorf("got %q, want %q", got, want)
		}
	})

	t.Run("values, escaping, flashes consumed and saved", func(t *testing.T) {
		c := newPageClient(t, r)
		c.body("/fill")
		want := "title=Home|greeting=&lt;script&gt;alert(1)&lt;/script&gt;|n=3|visits|flashes=[saved]|"
		if got := c.body("/page"); got != want {
			t.Errorf("first render: got %q, want %q", got, want)
		}
		// The flash was shown: the next request must not see it again.
		want = "title=Home|greeting=&lt;script&gt;alert(1)&lt;/script&gt;|n=3|visits|flashes=|"
		if got := c.body("/page"); got != want {
			t.Errorf("second render: got %q, want %q", got, want)
		}
		if len(*handlerData) != 1 {
			t.Errorf("the handler's map was modified: %v", *handlerData)
		}
	})

	t.Run("nil data", func(t *testing.T) {
		c := newPageClient(t, r)
		c.body("/fill")
		want := "title=|greeting=&lt;script&gt;alert(1)&lt;/script&gt;|n=3|visits|flashes=[saved]|"
		if got := c.body("/nil"); got != want {
			t.Errorf("got %q, want %q", got, want)
		}
	})

	t.Run("map[string]any data", func(t *testing.T) {
		c := newPageClient(t, r)
		c.body("/fill")
		if got, want := c.body("/map"), "title=map|greeting=&lt;script&gt;alert(1)&lt;/script&gt;|n=3|"; !strings.HasPrefix(got, want) {
			t.Errorf("got %q, want it to start with %q", got, want)
		}
	})

	t.Run("struct data renders unchanged", func(t *testing.T) {
		c := newPageClient(t, r)
		c.body("/fill")
		if got, want := c.body("/struct"), "struct=a struct"; got != want {
			t.Errorf("got %q, want %q", got, want)
		}
		// The struct page showed no flash, so it is still there.
		if got := c.body("/page"); !strings.Contains(got, "flashes=[saved]|") {
			t.Errorf("a page that shows no flashes consumed them: %q", got)
		}
	})

	t.Run("changes made by the handler are rendered and saved", func(t *testing.T) {
		c := newPageClient(t, r)
		if got, want := c.body("/now"), "title=now|greeting=|n=1|visit|flashes=[just now]|"; got != want {
			t.Errorf("got %q, want %q", got, want)
		}
		if got, want := c.body("/page"), "title=Home|greeting=|n=1|visit|flashes=|"; got != want {
			t.Errorf("next request: got %q, want %q", got, want)
		}
	})

	t.Run("the handler's own flashes win and the session's stay", func(t *testing.T) {
		c := newPageClient(t, r)
		c.body("/fill")
		if got := c.body("/own-flashes"); !strings.Contains(got, "flashes=[mine]|") {
			t.Errorf("got %q, want the handler's flashes", got)
		}
		if got := c.body("/page"); !strings.Contains(got, "flashes=[saved]|") {
			t.Errorf("the session's flashes were consumed unseen: %q", got)
		}
	})

	t.Run("a route without the middleware", func(t *testing.T) {
		c := newPageClient(t, r)
		if got, want := c.body("/plain"), "title=plain|greeting=|n=|visit|flashes=|"; got != want {
			t.Errorf("got %q, want %q", got, want)
		}
	})

	t.Run("a response without a body keeps its content type", func(t *testing.T) {
		c := newPageClient(t, r)
		resp := c.get("/nobody")
		if body, _ := io.ReadAll(resp.Body); resp.StatusCode != http.StatusNoContent || len(body) != 0 {
			t.Fatalf("status %d, body %q", resp.StatusCode, body)
		}
		if got, want := resp.Header.Get("Content-Type"), "text/html; charset=utf-8"; got != want {
			t.Errorf("Content-Type %q, want %q", got, want)
		}
	})
}

func TestHTMLRenderNeedsTemplates(t *testing.T) {
	defer func() {
		if recover() == nil {
			t.Fatal("wrapping a nil renderer did not panic")
		}
	}()
	sessions.HTMLRender(nil)
}

func TestH(t *testing.T) {
	store := sessions.NewMemoryStore()
	t.Cleanup(func() { store.Close() })

	r := gin.New()
	tmpl := template.Must(template.New("page.html").Funcs(sessions.FuncMap()).Parse(testTemplates["page.html"]))
	r.SetHTMLTemplate(tmpl) // not wrapped: H does the work

	var given, got gin.H
	r.Use(sessions.Middleware(store))
	r.GET("/fill", func(c *gin.Context) {
		s := sessions.Default(c)
		s.Set("greeting", "hi")
		s.Set("n", 3)
		s.AddFlash("one")
		s.AddFlash("two")
		c.String(http.StatusOK, "ok")
	})
	r.GET("/h", func(c *gin.Context) {
		given = gin.H{"title": "T"}
		got = sessions.H(c, given)
		c.HTML(http.StatusOK, "page.html", got)
	})
	r.GET("/h-nil", func(c *gin.Context) {
		got = sessions.H(c, nil)
		c.JSON(http.StatusOK, got)
	})
	r.GET("/h-own", func(c *gin.Context) {
		got = sessions.H(c, gin.H{"session": "mine", "flashes": "mine"})
		c.JSON(http.StatusOK, got)
	})

	c := newPageClient(t, r)
	c.body("/fill")
	c.body("/h-own")
	if got["session"] != "mine" || got["flashes"] != "mine" {
		t.Errorf("H replaced the caller's entries: %v", got)
	}
	if body, want := c.body("/h"), "title=T|greeting=hi|n=3|visits|flashes=[one][two]|"; body != want {
		t.Errorf("render with H: got %q, want %q", body, want)
	}
	if len(given) != 1 {
		t.Errorf("H modified its argument: %v", given)
	}
	if n, ok := got["session"].(map[string]any)["n"].(int); !ok || n != 3 {
		t.Errorf(`H's "session" has n = %#v, want the int 3`, got["session"].(map[string]any)["n"])
	}
	c.body("/h-nil")
	if f := got["flashes"]; f != nil && len(f.([]any)) != 0 {
		t.Errorf("flashes shown by H were not consumed: %v", f)
	}
	if s, ok := got["session"].(map[string]any); !ok || s["greeting"] != "hi" {
		t.Errorf(`H(c, nil)["session"] = %#v`, got["session"])
	}
}

func TestFlashesConsumedOnlyWhenATemplateReadsThem(t *testing.T) {
	templates := map[string]string{
		"fragment.html": `fragment n={{ .session.n }}`,
		"shows.html":    `{{ range .flashes }}[{{ . }}]{{ end }}`,
		"calls.html":    `calls:{{ template "shows.html" . }}`,
		"index.html":    `index:{{ index . "flashes" }}`,
	}
	for _, mode := range []string{gin.ReleaseMode, gin.DebugMode} {
		t.Run(mode, func(t *testing.T) {
			defer func(mode string, w io.Writer) {
				gin.SetMode(mode)
				gin.DefaultWriter = w
			}(gin.Mode(), gin.DefaultWriter)
			gin.SetMode(mode)
			gin.DefaultWriter = io.Discard
			dir := t.TempDir()
			for name, text := range templates {
				if err := os.WriteFile(filepath.Join(dir, name), []byte(text), 0o600); err != nil {
					t.Fatal(err)
				}
			}
			r := newEngine(newMemoryStore(t), nil, func(r *gin.Engine) {
				r.LoadHTMLGlob(filepath.Join(dir, "*.html"))
				r.HTMLRender = sessions.HTMLRender(r.HTMLRender)
				r.GET("/flash", func(c *gin.Context) {
					sessions.Default(c).AddFlash("hello")
					c.String(http.StatusOK, "ok")
				})
				r.GET("/render/:name", func(c *gin.Context) {
					c.HTML(http.StatusOK, c.Param("name"), gin.H{})
				})
			})
			cl := newClient(t, r)
			for _, step := range []struct{ path, body string }{
				{"/flash", "ok"},
				{"/render/fragment.html", "fragment n="},
				{"/render/missing.html", ""},
				{"/render/calls.html", "calls:[hello]"}, // reads them through shows.html
				{"/render/shows.html", ""},
				{"/flash", "ok"},
				{"/render/index.html", "index:[hello]"},
				{"/render/shows.html", ""},
			} {
				if got := cl.get(step.path).Body.String(); got != step.body {
					t.Fatalf("GET %s: %q, want %q", step.path, got, step.body)
				}
			}
		})
	}
}
