package catalog

import (
	"testing"

	"github.com/google/go-cmp/cmp"
)

func shop() *Category {
	return &Category{Slug: "home", Name: "Home", Children: []*Category{
		{Slug: "garden", Name: "Garden", Children: []*Category{
			{Slug: "tools", Name: "Tools", Children: []*Category{
				{Slug: "shovels", Name: "Shovels"},
				{Slug: "rakes", Name: "Rakes"},
			}},
			{Slug: "plants", Name: "Plants"},
		}},
		{Slug: "kitchen", Name: "Kitchen", Children: []*Category{
			{Slug: "pans", Name: "Pans"},
		}},
	}}
}

func TestBreadcrumbsOfTopLevelCategories(t *testing.T) {
	got := Breadcrumbs(shop())
	want := map[string][]string{
		"home":    {"Home"},
		"garden":  {"Home", "Garden"},
		"kitchen": {"Home", "Kitchen"},
		"pans":    {"Home", "Kitchen", "Pans"},
		"plants":  {"Home", "Garden", "Plants"},
	}
	for slug, trail := range want {
		if diff := cmp.Diff(trail, got[slug]); diff != "" {
			t.Errorf("Breadcrumbs()[%q] mismatch (-want +got):\n%s", slug, diff)
		}
	}
}

func TestBreadcrumbsOfEveryCategory(t *testing.T) {
	want := map[string][]string{
		"home":    {"Home"},
		"garden":  {"Home", "Garden"},
		"tools":   {"Home", "Garden", "Tools"},
		"shovels": {"Home", "Garden", "Tools", "Shovels"},
		"rakes":   {"Home", "Garden", "Tools", "Rakes"},
		"plants":  {"Home", "Garden", "Plants"},
		"kitchen": {"Home", "Kitchen"},
		"pans":    {"Home", "Kitchen", "Pans"},
	}
	if diff := cmp.Diff(want, Breadcrumbs(shop())); diff != "" {
		t.Errorf("Breadcrumbs() mismatch (-want +got):\n%s", diff)
	}
}

func TestRender(t *testing.T) {
	if got := Render([]string{"Home", "Garden"}); got != "Home › Garden" {
		t.Errorf("Render() = %q", got)
	}
}

func TestFindAndValidate(t *testing.T) {
	root := shop()
	if got := root.Find("rakes"); got == nil || got.Name != "Rakes" {
		t.Fatalf("Find(rakes) = %v", got)
	}
	if err := root.Validate(); err != nil {
		t.Fatal(err)
	}
	root.Children[1].Children = append(root.Children[1].Children, &Category{Slug: "tools", Name: "Tools"})
	if err := root.Validate(); err == nil {
		t.Fatal("a duplicate slug passed validation")
	}
}
