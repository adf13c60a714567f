package ui

import (
	"bytes"
	"compress/gzip"
	"io"
	"io/fs"
	"net/http"
	"net/http/httptest"
	"path"
	"regexp"
	"strings"
	"testing"

	"github.com/stretchr/testify/require"
)

func serve(t *testing.T, h http.Handler, method, target string, hdr map[string]string) *httptest.ResponseRecorder {
	t.Helper()
	req := httptest.NewRequest(method, target, nil)
	for k, v := range hdr {
		req.Header.Set(k, v)
	}
	rec := httptest.NewRecorder()
	h.ServeHTTP(rec, req)
	return rec
}

func TestHandler(t *testing.T) {
	h := Handler()
	c := h.(*console)
	static := "/static/" + c.version

	for _, tc := range []struct {
		name, method, target string
		code                 int
		contentType, cache   string
		location             string
		bodyHas              string
	}{
		{name: "page", method: "GET", target: "/", code: 200, contentType: "text/html; charset=utf-8", cache: "no-cache", bodyHas: `<div id="app"`},
		{name: "page by name", method: "GET", target: "/index.html", code: 200, contentType: "text/html; charset=utf-8", cache: "no-cache"},
		{name: "head", method: "HEAD", target: "/", code: 200, contentType: "text/html; charset=utf-8"},
		{name: "script", method: "GET", target: static + "/js/app.js", code: 200, contentType: "text/javascript; charset=utf-8", cache: "public, max-age=31536000, immutable", bodyHas: "import"},
		{name: "page module", method: "GET", target: static + "/js/pages/alerts.js", code: 200, contentType: "text/javascript; charset=utf-8"},
		{name: "stylesheet", method: "GET", target: static + "/app.css", code: 200, contentType: "text/css; charset=utf-8", cache: "public, max-age=31536000, immutable"},
		{name: "favicon", method: "GET", target: "/favicon.ico", code: 200, contentType: "image/svg+xml", cache: "public, max-age=86400", bodyHas: "<svg"},
		{name: "favicon svg", method: "GET", target: "/favicon.svg", code: 200, contentType: "image/svg+xml"},
		{name: "asset of an older version", method: "GET", target: "/static/0123456789ab/app.css", code: 200, contentType: "text/css; charset=utf-8", cache: "no-cache"},
		{name: "unknown asset", method: "GET", target: static + "/nope.js", code: 404},
		{name: "no version", method: "GET", target: "/static/app.css", code: 404},
		{name: "traversal", method: "GET", target: static + "/../ui.go", code: 404},
		{name: "template is not an asset", method: "GET", target: static + "/index.html", code: 404},
		{name: "unknown path", method: "GET", target: "/nope", code: 404},
		{name: "write", method: "POST", target: "/", code: 405},
		{name: "prometheus graph link", method: "GET", target: "/graph?g0.expr=up%7Bjob%3D%22x%22%7D&g0.tab=1", code: 302, location: "./#/query?expr=up%7Bjob%3D%22x%22%7D"},
		{name: "prometheus alerts link", method: "GET", target: "/alerts", code: 302, location: "./#/alerts"},
		{name: "graph without expression", method: "GET", target: "/graph", code: 302, location: "./#/query"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			rec := serve(t, h, tc.method, tc.target, nil)
			require.Equal(t, tc.code, rec.Code, rec.Body.String())
			if tc.contentType != "" {
				require.Equal(t, tc.contentType, rec.Header().Get("Content-Type"))
				require.Equal(t, "nosniff", rec.Header().Get("X-Content-Type-Options"))
			}
			if tc.cache != "" {
				require.Equal(t, tc.cache, rec.Header().Get("Cache-Control"))
			}
			if tc.location != "" {
				require.Equal(t, tc.location, rec.Header().Get("Location"))
			}
			if tc.bodyHas != "" {
				require.Contains(t, rec.Body.String(), tc.bodyHas)
			}
			if tc.method == "HEAD" {
				require.Empty(t, rec.Body.String())
			}
		})
	}
}

// The page is locked down: scripts and styles only from the appliance.
func TestPageSecurityHeaders(t *testing.T) {
	rec := serve(t, Handler(), "GET", "/", nil)
	csp := rec.Header().Get("Content-Security-Policy")
	require.Contains(t, csp, "script-src 'self'")
	require.NotContains(t, csp, "unsafe-inline")
	require.Equal(t, "DENY", rec.Header().Get("X-Frame-Options"))
}

// Every asset the page and the modules reference is served, and every URL
// is relative so the console works under a path prefix.
func TestReferencesResolve(t *testing.T) {
	h := Handler()
	page := serve(t, h, "GET", "/", nil).Body.String()
	require.NotContains(t, page, "{{STATIC}}")
	refs := regexp.MustCompile(`(?:src|href)="([^"#]+)"`).FindAllStringSubmatch(page, -1)
	require.NotEmpty(t, refs)
	for _, m := range refs {
		require.False(t, strings.HasPrefix(m[1], "/") || strings.Contains(m[1], "://"), "absolute URL %s in index.html", m[1])
		require.Equal(t, 200, serve(t, h, "GET", "/"+m[1], nil).Code, m[1])
	}

	imports := regexp.MustCompile(`(?m)^\s*import\s[^'"]*['"]([^'"]+)['"]`)
	err := fs.WalkDir(staticFS, "static/js", func(p string, d fs.DirEntry, err error) error {
		if err != nil || d.IsDir() {
			return err
		}
		b, err := fs.ReadFile(staticFS, p)
		require.NoError(t, err)
		for _, m := range imports.FindAllStringSubmatch(string(b), -1) {
			require.True(t, strings.HasPrefix(m[1], "./") || strings.HasPrefix(m[1], "../"), "%s imports %s: only relative modules", p, m[1])
			target := path.Join(path.Dir(p), m[1])
			_, err := fs.Stat(staticFS, target)
			require.NoError(t, err, "%s imports %s", p, m[1])
		}
		// No network beyond the appliance: no CDN, no web fonts (the SVG
		// namespace is a name, not a fetch).
		for _, u := range regexp.MustCompile(`https?://[A-Za-z0-9.-]+`).FindAllString(stripComments(string(b)), -1) {
			require.Equal(t, "http://www.w3.org", u, "%s refers to another host", p)
		}
		return nil
	})
	require.NoError(t, err)
}

func stripComments(js string) string {
	return regexp.MustCompile(`(?m)^\s*//.*$`).ReplaceAllString(js, "")
}

func TestGzipAndRevalidation(t *testing.T) {
	h := Handler()
	c := h.(*console)
	target := "/static/" + c.version + "/js/pages/alerts.js"
	plain := serve(t, h, "GET", target, nil)
	require.Equal(t, 200, plain.Code)
	require.Empty(t, plain.Header().Get("Content-Encoding"))
	require.Contains(t, plain.Header().Get("Vary"), "Accept-Encoding")

	zipped := serve(t, h, "GET", target, map[string]string{"Accept-Encoding": "br, gzip"})
	require.Equal(t, "gzip", zipped.Header().Get("Content-Encoding"))
	require.Less(t, zipped.Body.Len(), plain.Body.Len())
	zr, err := gzip.NewReader(bytes.NewReader(zipped.Body.Bytes()))
	require.NoError(t, err)
	unzipped, err := io.ReadAll(zr)
	require.NoError(t, err)
	require.Equal(t, plain.Body.String(), string(unzipped))
	require.NotEqual(t, plain.Header().Get("ETag"), zipped.Header().Get("ETag"), "each encoding has its own validator")

	require.Empty(t, serve(t, h, "GET", target, map[string]string{"Accept-Encoding": "gzip;q=0"}).Header().Get("Content-Encoding"))

	// The page is revalidated on every load and answers 304 when unchanged.
	page := serve(t, h, "GET", "/", nil)
	etag := page.Header().Get("ETag")
	require.NotEmpty(t, etag)
	require.Equal(t, http.StatusNotModified, serve(t, h, "GET", "/", map[string]string{"If-None-Match": etag}).Code)
}

// The version in asset URLs follows their content.
func TestVersionFollowsContent(t *testing.T) {
	a, err := load(staticFS)
	require.NoError(t, err)
	b, err := load(staticFS)
	require.NoError(t, err)
	require.Equal(t, a.version, b.version)
	require.Len(t, a.version, 12)
	require.Contains(t, string(a.index.body), "static/"+a.version+"/js/app.js")
}
