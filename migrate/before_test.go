package migrate_test

// The "before" programs of MIGRATING.md, as gin-contrib/sessions and scs
// users write them. Each block the guide shows is a verbatim part of one of
// these functions; TestBeforePrograms runs them, so that the guide's
// "before" is what those libraries really do.

import (
	"encoding/gob"
	"fmt"
	"io"
	"log"
	"net/http"
	"time"

	"github.com/alexedwards/scs/v2"
	"github.com/gin-contrib/sessions"
	"github.com/gin-contrib/sessions/cookie"
	"github.com/gin-contrib/sessions/memstore"
	"github.com/gin-contrib/sessions/redis"
	"github.com/gin-gonic/gin"
)

func beforeGinContribMemstore() http.Handler {
	store := memstore.NewStore([]byte("secret"))
	r := gin.New()
	r.Use(sessions.Sessions("mysession", store))

	r.GET("/incr", func(c *gin.Context) {
		session := sessions.Default(c)
		var count int
		v := session.Get("count")
		if v == nil {
			count = 0
		} else {
			count = v.(int)
			count++
		}
		session.Set("count", count)
		session.Save()
		c.JSON(200, gin.H{"count": count})
	})
	return r
}

func beforeGinContribCookie() http.Handler {
	store := cookie.NewStore([]byte("secret"))
	r := gin.New()
	r.Use(sessions.Sessions("mysession", store))

	r.GET("/hello", func(c *gin.Context) {
		session := sessions.Default(c)
		if session.Get("hello") != "world" {
			session.Set("hello", "world")
			session.Save()
		}
		c.JSON(200, gin.H{"hello": session.Get("hello")})
	})
	return r
}

func beforeGinContribRedis(addr string) http.Handler {
	// v1.0.4 takes a username before the password; its README shows the
	// older call without it.
	store, _ := redis.NewStore(10, "tcp", addr, "", "", []byte("secret"))
	r := gin.New()
	r.Use(sessions.Sessions("mysession", store))

	r.GET("/incr", func(c *gin.Context) {
		session := sessions.Default(c)
		var count int
		v := session.Get("count")
		if v == nil {
			count = 0
		} else {
			count = v.(int)
			count++
		}
		session.Set("count", count)
		session.Save()
		c.JSON(200, gin.H{"count": count})
	})
	return r
}

func beforeGinContribMany() http.Handler {
	store := cookie.NewStore([]byte("secret"))
	r := gin.New()
	r.Use(sessions.SessionsMany([]string{"a", "b"}, store))

	r.GET("/hello", func(c *gin.Context) {
		sessionA := sessions.DefaultMany(c, "a")
		sessionB := sessions.DefaultMany(c, "b")
		sessionA.Set("hello", "world!")
		sessionA.Save()
		sessionB.Set("hello", "world?")
		sessionB.Save()
		c.JSON(200, gin.H{"a": sessionA.Get("hello"), "b": sessionB.Get("hello")})
	})
	return r
}

// Account is a struct a gin-contrib/sessions user keeps in the session.
type Account struct {
	Name  string
	Admin bool
}

func beforeGinContribTypes() http.Handler {
	gob.Register(Account{})
	gob.Register(time.Time{}) // without it, Save fails and no cookie is set
	store := cookie.NewStore([]byte("secret"))
	r := gin.New()
	r.Use(sessions.Sessions("mysession", store))

	r.GET("/set", func(c *gin.Context) {
		session := sessions.Default(c)
		session.Set("user", Account{Name: "ada", Admin: true})
		session.Set("id", int64(42))
		session.Set("since", time.Date(2026, 1, 2, 3, 4, 5, 0, time.UTC))
		session.Set("tags", []string{"a", "b"})
		session.Save()
	})
	r.GET("/get", func(c *gin.Context) {
		session := sessions.Default(c)
		user := session.Get("user").(Account)
		id := session.Get("id").(int64)
		since := session.Get("since").(time.Time)
		tags := session.Get("tags").([]string)
		c.String(200, "%s %v %d %d %v", user.Name, user.Admin, id, since.Year(), tags)
	})
	return r
}

func beforeGinContribLogout() http.Handler {
	store := memstore.NewStore([]byte("secret"))
	r := gin.New()
	r.Use(sessions.Sessions("mysession", store))

	r.POST("/login", func(c *gin.Context) {
		session := sessions.Default(c)
		session.Set("user", c.PostForm("name"))
		session.Save()
		c.Redirect(http.StatusSeeOther, "/")
	})
	r.GET("/", func(c *gin.Context) {
		session := sessions.Default(c)
		log.Printf("session %s: user %v", session.ID(), session.Get("user"))
		c.String(200, "user %v", session.Get("user"))
	})
	r.POST("/logout", func(c *gin.Context) {
		session := sessions.Default(c)
		session.Clear()
		session.Options(sessions.Options{MaxAge: -1})
		session.Save()
		c.Redirect(http.StatusSeeOther, "/")
	})
	return r
}

func beforeGinContribOptions() http.Handler {
	store := memstore.NewStore([]byte("secret"))
	store.Options(sessions.Options{Path: "/", MaxAge: 86400 * 30, HttpOnly: true, SameSite: http.SameSiteLaxMode})
	r := gin.New()
	r.Use(sessions.Sessions("mysession", store))

	r.GET("/remember", func(c *gin.Context) {
		session := sessions.Default(c)
		session.Set("user", "ada")
		if c.Query("short") != "" {
			session.Options(sessions.Options{Path: "/", MaxAge: 3600, HttpOnly: true, SameSite: http.SameSiteLaxMode})
		}
		session.Save()
		c.Status(204)
	})
	return r
}

func beforeGinContribClear() http.Handler {
	store := memstore.NewStore([]byte("secret"))
	r := gin.New()
	r.Use(sessions.Sessions("mysession", store))
	r.GET("/set", func(c *gin.Context) {
		session := sessions.Default(c)
		session.Set("k", "v")
		session.Save()
	})
	r.GET("/clear", func(c *gin.Context) {
		session := sessions.Default(c)
		session.Clear()
		session.Save()
	})
	return r
}

func beforeSCS() http.Handler {
	sessionManager := scs.New()
	sessionManager.Lifetime = 24 * time.Hour

	putHandler := func(w http.ResponseWriter, r *http.Request) {
		sessionManager.Put(r.Context(), "message", "Hello from a session!")
	}
	getHandler := func(w http.ResponseWriter, r *http.Request) {
		msg := sessionManager.GetString(r.Context(), "message")
		io.WriteString(w, msg)
	}
	mux := http.NewServeMux()
	mux.HandleFunc("/put", putHandler)
	mux.HandleFunc("/get", getHandler)
	return sessionManager.LoadAndSave(mux)
}

func beforeSCSLogin() http.Handler {
	sessionManager := scs.New()
	sessionManager.Cookie.Persist = false
	sessionManager.IdleTimeout = 20 * time.Minute

	mux := http.NewServeMux()
	mux.HandleFunc("POST /login", func(w http.ResponseWriter, r *http.Request) {
		ctx := r.Context()
		if err := sessionManager.RenewToken(ctx); err != nil {
			http.Error(w, err.Error(), 500)
			return
		}
		sessionManager.Put(ctx, "userID", 7)
		if r.PostFormValue("remember") == "on" {
			sessionManager.RememberMe(ctx, true)
		}
		sessionManager.Put(ctx, "flash", "Welcome back!")
		http.Redirect(w, r, "/", http.StatusSeeOther)
	})
	mux.HandleFunc("GET /{$}", func(w http.ResponseWriter, r *http.Request) {
		ctx := r.Context()
		flash := sessionManager.PopString(ctx, "flash")
		fmt.Fprintf(w, "user %d %s", sessionManager.GetInt(ctx, "userID"), flash)
	})
	mux.HandleFunc("POST /logout", func(w http.ResponseWriter, r *http.Request) {
		if err := sessionManager.Destroy(r.Context()); err != nil {
			http.Error(w, err.Error(), 500)
			return
		}
		http.Redirect(w, r, "/", http.StatusSeeOther)
	})
	return sessionManager.LoadAndSave(mux)
}
