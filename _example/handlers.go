package main

import (
	"fmt"
	"net/http"
	"strings"
	"time"

	"github.com/gin-gonic/gin"
	"github.com/ginsessions/sessions"
)

// The catalog is not the point of this site: its counts are fixed.
var catalog = gin.H{
	"num_books":               42,
	"num_instances":           97,
	"num_instances_available": 61,
	"num_authors":             18,
}

// index counts the visitor's visits, as MDN's Django tutorial does with
// request.session['num_visits']. The template reads the new count from
// .session.num_visits. It is the site's one GET that changes the session,
// and a harmless one: no CSRF defence stops a GET, so a link on another site
// can count a visit, and nothing that matters may change on a GET.
func index(c *gin.Context) {
	s := sessions.Default(c)
	visits, _ := s.Get("num_visits", 0).(int)
	s.Set("num_visits", visits+1)
	c.HTML(http.StatusOK, "index.html", gin.H{"title": "Home", "catalog": catalog})
}

// greeting shows {{ .session.greeting }}; the handler does nothing else.
func greeting(c *gin.Context) {
	c.HTML(http.StatusOK, "greeting.html", gin.H{"title": "Greeting"})
}

func greetingForm(c *gin.Context) {
	c.HTML(http.StatusOK, "greeting_set.html", gin.H{"title": "Set the greeting"})
}

func setGreeting(c *gin.Context) {
	sessions.Default(c).Set("greeting", "Hello, Gin Sessions!")
	c.Redirect(http.StatusSeeOther, "/greeting")
}

// methods shows the session's keys and, when asked with ?get=KEY&default=D,
// what Get returns for them. Reading changes nothing, so it is a GET form.
func methods(c *gin.Context) {
	s := sessions.Default(c)
	data := gin.H{"title": "Session methods", "keys": s.Keys()}
	if key, ok := c.GetQuery("get"); ok {
		def := c.Query("default")
		data["get"] = gin.H{"key": key, "default": def, "value": s.Get(key, def)}
	}
	c.HTML(http.StatusOK, "methods.html", data)
}

func methodSet(c *gin.Context) {
	key := c.PostForm("key")
	if !validKey(c, key) {
		return
	}
	sessions.Default(c).Set(key, c.PostForm("value"))
	backToMethods(c)
}

func methodPop(c *gin.Context) {
	key := c.PostForm("key")
	if !validKey(c, key) {
		return
	}
	s := sessions.Default(c)
	s.AddFlash("Popped " + key + ": " + fmt.Sprint(s.Pop(key, "(absent)")))
	backToMethods(c)
}

func methodClear(c *gin.Context) {
	s := sessions.Default(c)
	s.Clear()
	s.AddFlash("Session cleared")
	backToMethods(c)
}

// validKey refuses keys the session reserves for itself, with a message.
func validKey(c *gin.Context, key string) bool {
	if key != "" && !strings.HasPrefix(key, "_session_") {
		return true
	}
	sessions.Default(c).AddFlash("Choose a key that is not empty and does not start with _session_")
	backToMethods(c)
	return false
}

func backToMethods(c *gin.Context) {
	c.Redirect(http.StatusSeeOther, "/methods")
}

func loginForm(c *gin.Context) {
	c.HTML(http.StatusOK, "login.html", gin.H{"title": "Log in"})
}

// login has no passwords: it shows what a real login does to the session.
// Login gives the signed-in visitor a new token, so a token planted before
// login (session fixation) is worthless after it, and binds the session to
// the name, so that "Your sessions" can list and end the user's devices.
func login(c *gin.Context) {
	name := strings.TrimSpace(c.PostForm("name"))
	if name == "" {
		c.HTML(http.StatusUnprocessableEntity, "login.html", gin.H{"title": "Log in", "error": "Please enter a name."})
		return
	}
	s := sessions.Default(c)
	s.Login(name) // the templates show it as {{ .principal }}
	s.AddFlash("Welcome, " + name)
	c.Redirect(http.StatusSeeOther, "/")
}

// logout drops everything, visit counter included, and starts afresh.
func logout(c *gin.Context) {
	s := sessions.Default(c)
	s.Flush()
	s.AddFlash("Logged out")
	c.Redirect(http.StatusSeeOther, "/")
}

func expiry(c *gin.Context) {
	s := sessions.Default(c)
	c.HTML(http.StatusOK, "expiry.html", gin.H{
		"title":         "Session expiry",
		"expiry_date":   s.ExpiryDate().Format(time.RFC1123),
		"expiry_age":    s.ExpiryAge().String(),
		"browser_close": s.ExpiresAtBrowserClose(),
	})
}

// expiryChoices maps the form's choices to SetExpiry's argument.
var expiryChoices = map[string]time.Duration{
	"30m":     30 * time.Minute,
	"browser": 0,
	"default": -1,
}

func setExpiry(c *gin.Context) {
	d, ok := expiryChoices[c.PostForm("expiry")]
	if !ok {
		c.String(http.StatusBadRequest, "unknown expiry choice")
		return
	}
	s := sessions.Default(c)
	s.SetExpiry(d)
	s.AddFlash("Session expiry updated")
	c.Redirect(http.StatusSeeOther, "/expiry")
}
