package release

import (
	"bytes"
	"fmt"
	"html"
	"net/url"
	"regexp"
	"strconv"
	"strings"
)

// maxListingPage caps a directory listing page, like an API answer.
const maxListingPage = maxAPIAnswer

// htmlListing is what a web server's directory listing page names.
type htmlListing struct {
	// Kind is the server that made the page: "nginx autoindex",
	// "Apache autoindex", "lighttpd dir-listing", "Python http.server" or
	// "autoindex" for another "Index of" page.
	Kind string
	// Files are the regular files of the directory: percent-decoded
	// names, in page order, each once. Size is -1 unless the page gives
	// an exact byte count (nginx's default).
	Files []Asset
	// Dirs counts the sub-directories the page links to; reproof does not
	// descend into them.
	Dirs int
}

var (
	reTitle = regexp.MustCompile(`(?is)<title>\s*(.*?)\s*</title>`)
	// reLink matches an <a> tag's quoted href and what follows the tag up
	// to the end of the line (where nginx puts the date and size).
	reLink = regexp.MustCompile(`(?is)<a\s[^>]*?\bhref\s*=\s*(?:"([^"]*)"|'([^']*)')[^>]*>(?:[^<\n]*</a>)?([^<\n]*)`)
	// reNginxTail is the rest of an nginx autoindex line: date, time and
	// size ("-" for a directory).
	reNginxTail = regexp.MustCompile(`^\s+\d{2}-[A-Za-z]{3}-\d{4} \d{2}:\d{2}\s+(\d+|-)\s*$`)
)

// parseHTMLListing reads a directory listing page served for a directory.
// ok is false when the page is not a listing reproof knows: no "Index of"
// or "Directory listing for" title. Only links to files of the same
// directory count: relative references without a "/", a query or a
// fragment; links to parent or sub-directories, other hosts, absolute
// paths and sort links ("?C=N;O=D") are not files. A name that fails the
// asset-name checks (control characters, a "/" or "\" once decoded) is an
// error: the page is not a listing reproof can trust.
func parseHTMLListing(page []byte) (l *htmlListing, ok bool, err error) {
	m := reTitle.FindSubmatch(page)
	if m == nil {
		return nil, false, nil
	}
	title := html.UnescapeString(string(m[1]))
	l = &htmlListing{}
	switch {
	case strings.HasPrefix(title, "Directory listing for "):
		l.Kind = "Python http.server"
	case strings.HasPrefix(title, "Index of "):
		switch {
		case bytes.Contains(page, []byte("<h1>Index of ")) && bytes.Contains(page, []byte("<hr><pre>")):
			l.Kind = "nginx autoindex"
		case bytes.Contains(page, []byte("Parent Directory")) || bytes.Contains(page, []byte("?C=N;O=")):
			l.Kind = "Apache autoindex"
		case bytes.Contains(page, []byte(`<div class="list">`)) || bytes.Contains(page, []byte("lighttpd")):
			l.Kind = "lighttpd dir-listing"
		default:
			l.Kind = "autoindex"
		}
	default:
		return nil, false, nil
	}
	seen := map[string]bool{}
	for _, m := range reLink.FindAllSubmatch(page, -1) {
		href := string(m[1])
		if m[1] == nil {
			href = string(m[2])
		}
		name, dir, ok := sameDirLink(html.UnescapeString(href))
		if !ok {
			continue
		}
		if dir {
			if !seen[name+"/"] {
				seen[name+"/"] = true
				l.Dirs++
			}
			continue
		}
		if seen[name] {
			continue // Apache links a file's icon and its name
		}
		seen[name] = true
		if err := checkAssetName(name); err != nil {
			return l, true, err
		}
		if strings.ContainsAny(name, `/\`) {
			return l, true, fmt.Errorf("asset name %q is not a name in the directory", name)
		}
		size := int64(-1)
		if l.Kind == "nginx autoindex" {
			if t := reNginxTail.FindSubmatch(m[3]); t != nil {
				if n, err := strconv.ParseInt(string(t[1]), 10, 64); err == nil {
					size = n
				}
			}
		}
		l.Files = append(l.Files, Asset{Name: name, Size: size})
		if len(l.Files) > maxListedAssets {
			return l, true, fmt.Errorf("the listing names more than the %d files reproof downloads", maxListedAssets)
		}
	}
	return l, true, nil
}

// kindOr is the listing's kind, or what for a nil listing.
func (l *htmlListing) kindOr(what string) string {
	if l == nil || l.Kind == "" {
		return what
	}
	return l.Kind
}

// sameDirLink reads an href of a listing: the percent-decoded name of a
// file (or, with dir, a sub-directory) of the page's own directory, or
// ok false for any other link.
func sameDirLink(href string) (name string, dir, ok bool) {
	if href == "" || strings.ContainsAny(href, "?#") {
		return "", false, false
	}
	u, err := url.Parse(href)
	if err != nil || u.Scheme != "" || u.Host != "" || u.User != nil || u.Opaque != "" {
		return "", false, false
	}
	p := u.Path
	// Decoding may make a "/" of "%2F": look at the raw form for the
	// structure.
	raw := u.EscapedPath()
	if strings.HasPrefix(raw, "./") {
		// Apache writes "./a:b" so that "a:" is not read as a scheme.
		raw, p = raw[2:], strings.TrimPrefix(p, "./")
	}
	if strings.HasPrefix(raw, "/") {
		return "", false, false
	}
	if strings.HasSuffix(raw, "/") {
		raw, p = strings.TrimSuffix(raw, "/"), strings.TrimSuffix(p, "/")
		dir = true
	}
	if raw == "" || strings.Contains(raw, "/") || p == "." || p == ".." {
		return "", false, false
	}
	return p, dir, true
}
