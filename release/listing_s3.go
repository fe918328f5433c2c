package release

import (
	"context"
	"encoding/xml"
	"errors"
	"fmt"
	"net/http"
	"net/url"
	"strings"
)

// maxS3Pages bounds the pages of one S3 listing: 100 pages of S3's
// 1,000 keys are ten times the assets a release may have.
const maxS3Pages = 100

// s3Page is one page of an S3 ListObjectsV2 answer (the fields reproof
// reads; ListObjects V1 answers have the same shape without the token).
type s3Page struct {
	XMLName               xml.Name `xml:"ListBucketResult"`
	Name                  string   `xml:"Name"`
	Prefix                string   `xml:"Prefix"`
	IsTruncated           bool     `xml:"IsTruncated"`
	NextContinuationToken string   `xml:"NextContinuationToken"`
	Contents              []struct {
		Key  string `xml:"Key"`
		Size int64  `xml:"Size"`
	} `xml:"Contents"`
	CommonPrefixes []struct {
		Prefix string `xml:"Prefix"`
	} `xml:"CommonPrefixes"`
}

// s3Bucket is where an S3 listing is asked for: the bucket's URL (path
// style, https://host/bucket, or virtual-host style, https://bucket.host)
// and the key prefix of the release's directory, "" or ending in "/".
type s3Bucket struct {
	root   string // no trailing "/"
	prefix string
}

// listURL is the ListObjectsV2 request for one page.
func (b s3Bucket) listURL(token string) string {
	q := url.Values{"list-type": {"2"}, "delimiter": {"/"}, "prefix": {b.prefix}}
	if token != "" {
		q.Set("continuation-token", token)
	}
	u := b.root
	if u, err := url.Parse(b.root); err == nil && u.Path == "" {
		return b.root + "/?" + q.Encode()
	}
	return u + "?" + q.Encode()
}

// objectURL is the URL of the object called key.
func (b s3Bucket) objectURL(key string) string {
	elems := strings.Split(key, "/")
	for i, e := range elems {
		elems[i] = url.PathEscape(e)
	}
	return b.root + "/" + strings.Join(elems, "/")
}

// s3Candidates are the buckets a directory URL may be a prefix of, most
// likely first: path style (the first path element is the bucket), then
// virtual-host style (the host names the bucket).
func s3Candidates(dirURL string) []s3Bucket {
	u, err := url.Parse(dirURL)
	if err != nil {
		return nil
	}
	p := strings.TrimPrefix(u.EscapedPath(), "/")
	host := u.Scheme + "://" + u.Host
	var out []s3Bucket
	if bucket, rest, ok := strings.Cut(p, "/"); ok && bucket != "" {
		prefix, err := url.PathUnescape(rest)
		if err == nil {
			out = append(out, s3Bucket{root: host + "/" + bucket, prefix: prefix})
		}
	}
	if prefix, err := url.PathUnescape(p); err == nil {
		out = append(out, s3Bucket{root: host, prefix: prefix})
	}
	return out
}

// errNotS3 says an answer was not an S3 listing.
var errNotS3 = errors.New("not an S3 bucket listing")

// listS3 reads every page of the bucket's listing under its prefix. The
// files are the keys directly under the prefix; keys further down are
// sub-directories, which reproof does not descend into. An answer that is
// not a ListBucketResult is errNotS3 (the caller tries the next form); a
// listing that lists keys outside its prefix, repeats a continuation
// token or runs past maxS3Pages is an error.
func (s *HTTPSource) listS3(ctx context.Context, b s3Bucket) (*Listing, int, error) {
	var assets []Asset
	dirs := map[string]bool{}
	token := ""
	seen := map[string]bool{}
	pages := 0
	for {
		if pages == maxS3Pages {
			return nil, 0, fmt.Errorf("the S3 listing has more than %d pages", maxS3Pages)
		}
		pages++
		data, err := s.web.getDocument(ctx, b.listURL(token), http.Header{"Accept": {"application/xml"}})
		if err != nil {
			if pages == 1 {
				return nil, 0, errors.Join(errNotS3, err)
			}
			return nil, 0, err
		}
		var pg s3Page
		if err := xml.Unmarshal(data, &pg); err != nil {
			if pages == 1 {
				return nil, 0, errNotS3
			}
			return nil, 0, fmt.Errorf("S3 listing page %d: %v", pages, err)
		}
		if pg.Prefix != b.prefix {
			if pages == 1 {
				return nil, 0, errNotS3 // a server that ignores the query
			}
			return nil, 0, fmt.Errorf("S3 listing page %d is for prefix %q, not %q", pages, pg.Prefix, b.prefix)
		}
		for _, c := range pg.Contents {
			name, ok := strings.CutPrefix(c.Key, b.prefix)
			switch {
			case !ok:
				return nil, 0, fmt.Errorf("the S3 listing of prefix %q names key %q outside it", b.prefix, c.Key)
			case name == "":
				continue // the directory's own marker object
			case strings.Contains(name, "/"):
				dirs[name[:strings.IndexByte(name, '/')]] = true // a server that ignores the delimiter
				continue
			}
			assets = append(assets, Asset{Name: name, URL: b.objectURL(c.Key), Size: c.Size})
		}
		for _, cp := range pg.CommonPrefixes {
			if rest, ok := strings.CutPrefix(cp.Prefix, b.prefix); ok && rest != "" {
				dirs[strings.TrimSuffix(rest, "/")] = true
			}
		}
		if !pg.IsTruncated {
			break
		}
		if pg.NextContinuationToken == "" || seen[pg.NextContinuationToken] {
			return nil, 0, fmt.Errorf("S3 listing page %d is truncated without a new continuation token", pages)
		}
		seen[pg.NextContinuationToken] = true
		token = pg.NextContinuationToken
	}
	assets, err := checkAssets(assets)
	if err != nil {
		return nil, 0, err
	}
	how := "S3 bucket listing, " + countFiles(len(assets))
	if pages > 1 {
		how += fmt.Sprintf(" in %d pages", pages)
	}
	return &Listing{Source: s.spec, Assets: assets, How: how}, len(dirs), nil
}
