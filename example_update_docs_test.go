package sessions_test

import (
	"errors"
	"net/http"

	"github.com/gin-gonic/gin"

	"github.com/ginsessions/sessions"
)

// shopItem is a line of the cart in docs/update.md's examples.
type shopItem struct {
	SKU string `json:"sku"`
}

// addShopItem is Update's fn that appends item.
func addShopItem(item shopItem) func([]shopItem, bool) ([]shopItem, error) {
	return func(cart []shopItem, _ bool) ([]shopItem, error) { return append(cart, item), nil }
}

// errProfileStale is the version key's refusal in docs/update.md.
var errProfileStale = errors.New("the profile changed since it was read")

// The lost update that Update prevents, and the same handler with Update.
// Shown in docs/update.md; compiled, not run.
func ExampleUpdate_cart() {
	r := gin.New()
	r.POST("/cart/set", func(c *gin.Context) {
		s := sessions.Default(c)
		item := shopItem{SKU: c.PostForm("sku")}
		// Loses items: both requests read the same cart and each writes back its own copy.
		cart, _ := sessions.Value[[]shopItem](s, "cart")
		s.Set("cart", append(cart, item))
	})
	r.POST("/cart", func(c *gin.Context) {
		s := sessions.Default(c)
		item := shopItem{SKU: c.PostForm("sku")}
		cart, err := sessions.Update(s, "cart", func(cart []shopItem, _ bool) ([]shopItem, error) {
			return append(cart, item), nil
		})
		if err != nil {
			c.String(http.StatusUnprocessableEntity, err.Error())
			return
		}
		c.JSON(http.StatusOK, cart)
	})
}

// A response that shows what was saved: Save() before rendering runs the
// retries, if any, before the page is computed. Compiled, not run.
func ExampleUpdate_saveBeforeRendering() {
	r := gin.New()
	r.POST("/cart", func(c *gin.Context) {
		s := sessions.Default(c)
		item := shopItem{SKU: c.PostForm("sku")}
		if _, err := sessions.Update(s, "cart", addShopItem(item)); err != nil {
			c.String(http.StatusUnprocessableEntity, err.Error())
			return
		}
		if err := s.Save(); err != nil {
			return // the error handler answers: 409 for ErrConflict after five tries
		}
		cart, _ := sessions.Value[[]shopItem](s, "cart") // the cart as saved
		c.HTML(http.StatusOK, "cart.html", cart)
	})
}

// A version key: a form of several keys is saved only if no other request
// changed the profile since this one read it. Compiled, not run.
func ExampleUpdate_versionKey() {
	r := gin.New()
	r.POST("/profile", func(c *gin.Context) {
		s := sessions.Default(c)
		var form struct{ Name, Email string }
		_ = c.ShouldBind(&form)
		read := s.GetInt("profile_version")
		s.Set("name", form.Name)
		s.Set("email", form.Email)
		_, err := sessions.Update(s, "profile_version", func(v int, _ bool) (int, error) {
			if v != read {
				return v, errProfileStale
			}
			return v + 1, nil
		})
		if err != nil {
			return // the request fails: nothing of it is saved
		}
		c.Status(http.StatusNoContent)
	})
}
