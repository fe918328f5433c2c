package spec

import (
	"fmt"
	"slices"
	"strings"
)

// PassNames lists the normalize passes in the order archive applies them.
// It mirrors archive.Passes (a test holds them equal); the spec package
// keeps its own copy so that it imports nothing of reproof.
var PassNames = []string{
	"tar-order", "tar-mtime", "tar-owner", "tar-mode", "tar-pax", "tar-xattr", "tar-devices",
	"gzip-header", "zip-order", "zip-time", "zip-extra", "ar-header",
}

// checkPasses checks compare.passes: a non-empty list of "all", "none",
// pass names and "-name" removals, as archive.ParsePasses reads them.
func checkPasses(items []string) error {
	if len(items) == 0 {
		return fmt.Errorf(`empty list; use ["none"] to allow no normalization, ["all"] for every pass`)
	}
	for _, item := range items {
		name := strings.TrimPrefix(item, "-")
		if item == "all" || item == "none" || slices.Contains(PassNames, name) {
			continue
		}
		if item == "" {
			return fmt.Errorf("empty pass name")
		}
		return fmt.Errorf("unknown pass %s (want all, none, or %s; -name removes one)", quote(item), strings.Join(PassNames, ", "))
	}
	return nil
}

// EnabledPasses resolves Passes to the passes allowed, in application
// order, the way archive.ParsePasses does: items apply left to right,
// "all" and "none" reset the set, "-name" removes a pass (from every pass
// when the list starts with a removal).
func (c Compare) EnabledPasses() []string {
	on := map[string]bool{}
	for i, item := range c.Passes {
		switch {
		case item == "all":
			for _, p := range PassNames {
				on[p] = true
			}
		case item == "none":
			clear(on)
		case strings.HasPrefix(item, "-"):
			if i == 0 {
				for _, p := range PassNames {
					on[p] = true
				}
			}
			delete(on, item[1:])
		default:
			on[item] = true
		}
	}
	var names []string
	for _, p := range PassNames {
		if on[p] {
			names = append(names, p)
		}
	}
	return names
}

// PassList is EnabledPasses as one archive.ParsePasses value: the names
// joined with commas, or "none" when no pass is allowed (ParsePasses
// refuses an empty list).
func (c Compare) PassList() string {
	if names := c.EnabledPasses(); len(names) > 0 {
		return strings.Join(names, ",")
	}
	return "none"
}
