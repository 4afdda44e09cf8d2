// Hidden acceptance test: never part of the repository the agent gets. The eval harness copies it
// to <checkout>/_hidden_acceptance/ on the host (the go tool's ./... skips folders starting with
// "_") and runs that package alone.
package acceptance_test

import (
	"fmt"
	"testing"

	"example.com/storefront/catalog"
	"github.com/google/go-cmp/cmp"
)

// wide builds a tree `depth` levels deep under the root with `fanout` children per category.
func wide(depth, fanout int) (*catalog.Category, map[string][]string) {
	want := map[string][]string{"root": {"Root"}}
	var grow func(c *catalog.Category, trail []string, level int)
	grow = func(c *catalog.Category, trail []string, level int) {
		if level == depth {
			return
		}
		for i := 0; i < fanout; i++ {
			slug := fmt.Sprintf("%s-%d", c.Slug, i)
			child := &catalog.Category{Slug: slug, Name: fmt.Sprintf("N%d.%d", level, i)}
			c.Children = append(c.Children, child)
			t := append(append([]string{}, trail...), child.Name)
			want[slug] = t
			grow(child, t, level+1)
		}
	}
	root := &catalog.Category{Slug: "root", Name: "Root"}
	grow(root, []string{"Root"}, 0)
	return root, want
}

func TestEveryTrailOfDeepWideTrees(t *testing.T) {
	for depth := 1; depth <= 7; depth++ {
		root, want := wide(depth, 3)
		if diff := cmp.Diff(want, catalog.Breadcrumbs(root)); diff != "" {
			t.Fatalf("depth %d: Breadcrumbs() mismatch (-want +got):\n%s", depth, diff)
		}
	}
}

func TestSiblingsUnderADeepCategory(t *testing.T) {
	root := &catalog.Category{Slug: "home", Name: "Home", Children: []*catalog.Category{
		{Slug: "garden", Name: "Garden", Children: []*catalog.Category{
			{Slug: "tools", Name: "Tools", Children: []*catalog.Category{
				{Slug: "shovels", Name: "Shovels"},
				{Slug: "rakes", Name: "Rakes"},
				{Slug: "hoes", Name: "Hoes"},
			}},
		}},
	}}
	got := catalog.Breadcrumbs(root)
	for slug, name := range map[string]string{"shovels": "Shovels", "rakes": "Rakes", "hoes": "Hoes"} {
		if diff := cmp.Diff([]string{"Home", "Garden", "Tools", name}, got[slug]); diff != "" {
			t.Errorf("Breadcrumbs()[%q] mismatch (-want +got):\n%s", slug, diff)
		}
	}
}

func TestTrailsDoNotChangeLater(t *testing.T) {
	root := &catalog.Category{Slug: "a", Name: "A", Children: []*catalog.Category{
		{Slug: "b", Name: "B", Children: []*catalog.Category{{Slug: "c", Name: "C", Children: []*catalog.Category{{Slug: "d", Name: "D"}, {Slug: "e", Name: "E"}}}}},
	}}
	got := catalog.Breadcrumbs(root)
	if r := catalog.Render(got["d"]); r != "A › B › C › D" {
		t.Errorf("trail of d renders as %q", r)
	}
	if got := catalog.Breadcrumbs(nil); len(got) != 0 {
		t.Errorf("Breadcrumbs(nil) = %v", got)
	}
}
