package sessions_test

import (
	"encoding/json"
	"errors"
	"html/template"
	"net/http"
	"strings"
	"testing"
	"time"

	"github.com/gin-gonic/gin"
	"github.com/redis/go-redis/v9"

	"github.com/ginsessions/sessions"
	"github.com/ginsessions/sessions/internal/redistest"
)

// Types whose JSON would drop content, and types that keep it.
type (
	prefs       struct{ theme string }
	hiddenPrefs struct {
		Theme string `json:"-"`
		size  int
	}
	shownPrefs  struct{ Theme string }
	taggedPrefs struct {
		Theme string `json:"theme"`
		size  int
	}
	emptyStruct  struct{}
	marshalPrefs struct{ theme string }
	textPrefs    struct{ theme string }
	cartLine     struct {
		SKU  string `json:"sku"`
		Opts prefs  `json:"opts"`
	}
	wrapped  struct{ V any }
	cartItem struct {
		SKU   string `json:"sku"`
		Count int    `json:"count"`
	}
)

func (p marshalPrefs) MarshalJSON() ([]byte, error) { return json.Marshal(p.theme) }
func (p textPrefs) MarshalText() ([]byte, error)    { return []byte(p.theme), nil }

// TestSetRefusesValuesJSONWouldEmpty: a struct with fields but none that
// JSON writes, at any depth, fails the request as an unencodable value
// does: 500, nothing saved, the key, the type and the reason in the error.
// Structs with exported fields, marshalers and empty structs are stored.
func TestSetRefusesValuesJSONWouldEmpty(t *testing.T) {
	tests := []struct {
		name     string
		value    any
		wantType string // "" when the value is stored
	}{
		{"unexported fields", prefs{theme: "dark"}, "sessions_test.prefs"},
		{"fields tagged -", hiddenPrefs{Theme: "dark"}, "sessions_test.hiddenPrefs"},
		{"pointer", &prefs{theme: "dark"}, "sessions_test.prefs"},
		{"in a slice", []prefs{{theme: "dark"}}, "sessions_test.prefs"},
		{"in a map", map[string]prefs{"home": {theme: "dark"}}, "sessions_test.prefs"},
		{"in a field", cartLine{SKU: "b-1", Opts: prefs{theme: "dark"}}, "sessions_test.prefs"},
		{"in a map[string]any", map[string]any{"list": []any{1, prefs{theme: "dark"}}}, "sessions_test.prefs"},
		{"behind an interface field", wrapped{V: prefs{theme: "dark"}}, "sessions_test.prefs"},
		{"exported fields", shownPrefs{Theme: "dark"}, ""},
		{"tagged and unexported fields", taggedPrefs{Theme: "dark", size: 2}, ""},
		{"empty struct", emptyStruct{}, ""},
		{"json.Marshaler", marshalPrefs{theme: "dark"}, ""},
		{"encoding.TextMarshaler", textPrefs{theme: "dark"}, ""},
		{"time.Time", time.Date(2026, 1, 2, 3, 4, 5, 0, time.UTC), ""},
		{"interface field holding an int", wrapped{V: 3}, ""},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			st := &countingStore{Store: newMemoryStore(t)}
			var errs []string
			r := gin.New()
			r.Use(errorsOf(&errs))
			r.Use(sessions.Middleware(st))
			kvRoutes(r)
			r.GET("/prefs", func(c *gin.Context) {
				s := sessions.Default(c)
				s.Set("ok", "kept?")
				s.Set("prefs", tt.value)
				c.String(http.StatusOK, "saved")
			})
			cl := newClient(t, r)
			rec := cl.get("/prefs")
			_, saves, _, _ := st.calls()
			if tt.wantType == "" {
				if rec.Code != http.StatusOK || saves != 1 {
					t.Fatalf("status %d, %d saves; want 200 and the value saved (errors %q)", rec.Code, saves, errs)
				}
				return
			}
			if rec.Code != http.StatusInternalServerError || saves != 0 || len(setCookies(rec)) != 0 {
				t.Fatalf("status %d, %d saves, cookies %q; want 500, nothing saved", rec.Code, saves, setCookies(rec))
			}
			if len(errs) != 1 {
				t.Fatalf("c.Errors = %q, want one", errs)
			}
			for _, want := range []string{`key "prefs"`, tt.wantType, "none that JSON encodes", "{}"} {
				if !strings.Contains(errs[0], want) {
					t.Errorf("error %q does not say %q", errs[0], want)
				}
			}
		})
	}
}

// TestFailedSaveSetsErr: a Save that fails (a new visitor's change after
// the headers, which only a new cookie could carry) is in Err at once.
func TestFailedSaveSetsErr(t *testing.T) {
	var saveErr, errAfter error
	r := newEngine(newMemoryStore(t), nil, func(r *gin.Engine) {
		r.GET("/late", func(c *gin.Context) {
			c.JSON(http.StatusOK, gin.H{"ok": true})
			s := sessions.Default(c)
			s.Set("cart", "1 book")
			saveErr = s.Save()
			errAfter = s.Err()
		})
	})
	newClient(t, r).get("/late")
	if saveErr == nil {
		t.Fatal("Save of a new session after the headers: nil error")
	}
	if !errors.Is(errAfter, saveErr) {
		t.Fatalf("Err right after the failed Save = %v, want %v", errAfter, saveErr)
	}
}

// TestRevokeOwnSession: revoking the request's own session from the
// devices page is a logout, not a 400, and a flash added afterwards shows
// on the next page; revoking another device ends that one alone. On the
// memory store and on Redis.
func TestRevokeOwnSession(t *testing.T) {
	for _, st := range []struct {
		name string
		open func(t *testing.T) sessions.Store
	}{
		{"memory", func(t *testing.T) sessions.Store { return newMemoryStore(t) }},
		{"redis", func(t *testing.T) sessions.Store {
			_, store := testStore(t, func(t *testing.T) redis.UniversalClient {
				return closeAtEnd(t, redis.NewClient(&redis.Options{Addr: redistest.Addr(t)}))
			})
			return store
		}},
	} {
		t.Run(st.name, func(t *testing.T) {
			var errs []string
			r := gin.New()
			r.Use(errorsOf(&errs))
			r.Use(sessions.Middleware(st.open(t)))
			r.GET("/login", func(c *gin.Context) {
				sessions.Default(c).Login("ann")
				c.String(http.StatusOK, "in")
			})
			r.GET("/uuid", func(c *gin.Context) { c.String(http.StatusOK, sessions.Default(c).UUID()) })
			r.GET("/revoke", func(c *gin.Context) {
				s := sessions.Default(c)
				if err := s.RevokeSession(c.Query("uuid")); err != nil {
					c.String(http.StatusServiceUnavailable, err.Error())
					return
				}
				s.AddFlash("Logged out that device")
				c.Redirect(http.StatusSeeOther, "/")
			})
			r.GET("/whoami", func(c *gin.Context) {
				s := sessions.Default(c)
				c.String(http.StatusOK, "%q %v", s.Principal(), s.Flashes())
			})

			laptop, phone := newClient(t, r), newClient(t, r)
			laptop.get("/login")
			phone.get("/login")
			phoneUUID := phone.get("/uuid").Body.String()

			// Another device: it is logged out, this one stays in.
			if rec := laptop.get("/revoke?uuid=" + phoneUUID); rec.Code != http.StatusSeeOther {
				t.Fatalf("revoking the phone: %d %q", rec.Code, rec.Body.String())
			}
			if got := phone.get("/whoami").Body.String(); got != `"" []` {
				t.Fatalf("the revoked phone reads %s", got)
			}
			if got := laptop.get("/whoami").Body.String(); got != `"ann" [Logged out that device]` {
				t.Fatalf("the laptop reads %s", got)
			}

			// This device: a logout, and the flash survives it.
			own := laptop.get("/uuid").Body.String()
			rec := laptop.get("/revoke?uuid=" + own)
			if rec.Code != http.StatusSeeOther || len(errs) != 0 {
				t.Fatalf("revoking the own session: %d %q, errors %q", rec.Code, rec.Body.String(), errs)
			}
			if got := laptop.get("/whoami").Body.String(); got != `"" [Logged out that device]` {
				t.Fatalf("after revoking its own session the laptop reads %s", got)
			}

			// Unknown UUIDs and anonymous sessions: nothing to do.
			if rec := laptop.get("/revoke?uuid=00000000-0000-4000-8000-000000000000"); rec.Code != http.StatusSeeOther {
				t.Fatalf("an anonymous session revoking: %d %q", rec.Code, rec.Body.String())
			}
			phone.get("/login")
			if rec := phone.get("/revoke?uuid=00000000-0000-4000-8000-000000000000"); rec.Code != http.StatusSeeOther {
				t.Fatalf("revoking an unknown UUID: %d %q", rec.Code, rec.Body.String())
			}
		})
	}
}

// TestTemplatesShowThePrincipal: after Login, a template reads who is
// logged in from .principal, with H and with HTMLRender, with no copy of
// it in the session; a struct value reads by its JSON names.
func TestTemplatesShowThePrincipal(t *testing.T) {
	tmpl := template.Must(template.New("page").Parse(
		`{{ with .principal }}Signed in as {{ . }}{{ else }}Anonymous{{ end }}; cart: {{ .session.cart.sku }}; keys: {{ len .session }}`))
	r := gin.New()
	r.Use(sessions.Middleware(newMemoryStore(t)))
	r.SetHTMLTemplate(tmpl)
	r.HTMLRender = sessions.HTMLRender(r.HTMLRender)
	r.GET("/login", func(c *gin.Context) {
		s := sessions.Default(c)
		s.Login("ann")
		s.Set("cart", cartItem{SKU: "b-1", Count: 2})
		c.String(http.StatusOK, "in")
	})
	r.GET("/logout", func(c *gin.Context) {
		sessions.Default(c).Flush()
		c.String(http.StatusOK, "out")
	})
	r.GET("/render", func(c *gin.Context) { c.HTML(http.StatusOK, "page", nil) })
	r.GET("/h", func(c *gin.Context) {
		_ = tmpl.Execute(c.Writer, sessions.H(c, nil))
	})
	cl := newClient(t, r)
	if got := cl.get("/render").Body.String(); !strings.HasPrefix(got, "Anonymous") {
		t.Fatalf("before login: %q", got)
	}
	cl.get("/login")
	want := "Signed in as ann; cart: b-1; keys: 1"
	for _, path := range []string{"/render", "/h"} {
		if got := cl.get(path).Body.String(); got != want {
			t.Fatalf("%s after login: %q, want %q", path, got, want)
		}
	}
	cl.get("/logout")
	if got := cl.get("/render").Body.String(); !strings.HasPrefix(got, "Anonymous") {
		t.Fatalf("after logout: %q", got)
	}
}

// TestErrorStatus: the default error handler's choice, for custom ones,
// through a real engine: a custom handler that answers with ErrorStatus
// gets the default's status for each kind of failure.
func TestErrorStatus(t *testing.T) {
	tests := []struct {
		name string
		err  error
		want int
	}{
		{"store down", errInjected, http.StatusServiceUnavailable},
		{"deleted meanwhile", sessions.ErrInterrupted, http.StatusBadRequest},
		{"not an integer", sessions.ErrNotInteger, http.StatusInternalServerError},
		{"anything else", errors.New("boom"), http.StatusInternalServerError},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			if got := sessions.ErrorStatus(tt.err); got != tt.want {
				t.Fatalf("ErrorStatus = %d, want %d", got, tt.want)
			}
			for _, custom := range []bool{false, true} {
				opts := []sessions.Option{}
				if custom {
					opts = append(opts, sessions.WithErrorHandler(func(c *gin.Context, err error) {
						c.String(sessions.ErrorStatus(err), "<p>Sorry</p>")
					}))
				}
				st := &failingStore{Store: newMemoryStore(t), saveErr: tt.err}
				r := newEngine(st, opts, kvRoutes)
				if rec := newClient(t, r).get("/set?k=a&v=1"); rec.Code != tt.want {
					t.Fatalf("custom handler %v: status %d, want %d", custom, rec.Code, tt.want)
				}
			}
		})
	}
}
