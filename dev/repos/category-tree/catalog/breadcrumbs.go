package catalog

import "strings"

// Breadcrumbs maps every category's slug to the names on the way to it from the root, the root
// and the category itself included: "shovels" -> [Home Garden Tools Shovels].
func Breadcrumbs(root *Category) map[string][]string {
	trails := make(map[string][]string)
	var walk func(c *Category, parent []string)
	walk = func(c *Category, parent []string) {
		trail := append(parent, c.Name)
		trails[c.Slug] = trail
		for _, child := range c.Children {
			walk(child, trail)
		}
	}
	if root != nil {
		walk(root, nil)
	}
	return trails
}

// Render joins a trail the way category pages show it.
func Render(trail []string) string {
	return strings.Join(trail, " › ")
}
