package sessions_test

import (
	"errors"
	"fmt"
	"net/http"
	"net/http/httptest"

	"github.com/gin-gonic/gin"

	"github.com/ginsessions/sessions"
)

// A cart that concurrent requests add to without losing an item: Update
// saves the new cart only if the stored one is still the one the function
// read, and otherwise runs the function again on the newer cart. The
// function is pure: it may run more than once. Its error leaves the cart
// as it was.
func ExampleUpdate() {
	store := sessions.NewMemoryStore()
	defer store.Close()

	r := gin.New()
	r.Use(sessions.Middleware(store))
	r.POST("/cart", func(c *gin.Context) {
		item := c.Query("item")
		cart, err := sessions.Update(sessions.Default(c), "cart", func(cart []string, _ bool) ([]string, error) {
			if len(cart) == 3 {
				return cart, errors.New("the cart is full")
			}
			return append(cart, item), nil
		})
		if err != nil {
			c.String(http.StatusUnprocessableEntity, err.Error())
			return
		}
		c.String(http.StatusOK, "%v", cart)
	})

	var cookie string
	for _, item := range []string{"book", "pen", "lamp", "mug"} {
		req := httptest.NewRequest(http.MethodPost, "/cart?item="+item, nil)
		if cookie != "" {
			req.Header.Set("Cookie", cookie)
		}
		rec := httptest.NewRecorder()
		r.ServeHTTP(rec, req)
		if sc := rec.Result().Cookies(); len(sc) > 0 {
			cookie = sc[0].Name + "=" + sc[0].Value
		}
		fmt.Println(rec.Code, rec.Body.String())
	}
	// Output:
	// 200 [book]
	// 200 [book pen]
	// 200 [book pen lamp]
	// 422 the cart is full
}
