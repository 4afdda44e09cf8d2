// Package catalog holds the shop's category tree.
package catalog

import "fmt"

// Category is a node of the category tree. Slugs are unique across the whole tree.
type Category struct {
	Slug     string
	Name     string
	Children []*Category
}

// Find returns the category with the given slug, or nil.
func (c *Category) Find(slug string) *Category {
	if c == nil {
		return nil
	}
	if c.Slug == slug {
		return c
	}
	for _, child := range c.Children {
		if found := child.Find(slug); found != nil {
			return found
		}
	}
	return nil
}

// Validate reports the first slug that occurs twice.
func (c *Category) Validate() error {
	seen := map[string]bool{}
	var walk func(*Category) error
	walk = func(n *Category) error {
		if seen[n.Slug] {
			return fmt.Errorf("duplicate category slug %q", n.Slug)
		}
		seen[n.Slug] = true
		for _, child := range n.Children {
			if err := walk(child); err != nil {
				return err
			}
		}
		return nil
	}
	return walk(c)
}
