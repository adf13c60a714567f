// Package ui serves the appliance's operator console: a single-page app of
// hand-written HTML, CSS and JavaScript modules embedded in the binary, so it
// works air-gapped (no CDN, no web fonts, no build step).
//
// Asset URLs carry a content hash (static/<hash>/app.js) so they are cached
// for a year and change whenever any asset changes; the page itself is
// revalidated on every load. Every URL is relative, so the console also works
// behind a reverse proxy that serves the appliance under a path prefix.
package ui

import (
	"bytes"
	"compress/gzip"
	"crypto/sha256"
	"embed"
	"encoding/hex"
	"fmt"
	"io/fs"
	"mime"
	"net/http"
	"net/url"
	"path"
	"sort"
	"strings"
	"sync"
	"time"
)

//go:embed static
var staticFS embed.FS

// asset is one file ready to serve, with its gzip variant when that is smaller.
type asset struct {
	body        []byte
	etag        string
	contentType string
	// The gzip variant is made on first request, not at start: the
	// editor bundle alone would add 25 ms to every start on the way to
	// /-/ready.
	compress bool
	gzOnce   sync.Once
	gz       []byte // nil when gzip is not smaller
}

func (a *asset) gzipped() []byte {
	a.gzOnce.Do(func() {
		if !a.compress {
			return
		}
		var buf bytes.Buffer
		zw, _ := gzip.NewWriterLevel(&buf, gzip.BestCompression)
		zw.Write(a.body)
		zw.Close()
		if buf.Len() < len(a.body) {
			a.gz = buf.Bytes()
		}
	})
	return a.gz
}

// console holds the assets, loaded once from the embedded files.
type console struct {
	version string // hash of every asset; part of their URLs
	index   *asset
	favicon *asset
	assets  map[string]*asset // by path below static/, e.g. "js/app.js"
}

// Content-Security-Policy: everything from this origin, nothing inline, so
// an injected label value can never run script.
const csp = "default-src 'none'; script-src 'self'; style-src 'self'; img-src 'self' data:; " +
	"connect-src 'self'; font-src 'self'; base-uri 'self'; form-action 'self'; frame-ancestors 'none'"

// Handler serves the console: the page at "/", its assets under
// "/static/<hash>/", the favicon, and redirects from Prometheus' and
// Alertmanager's UI paths (/graph, /alerts, …) that alert links and
// notification templates point at. Anything else is 404, so it can be
// mounted at "/" beside the APIs.
func Handler() http.Handler {
	c, err := load(staticFS)
	if err != nil {
		// The files are embedded: this is a build defect, not a runtime condition.
		panic(fmt.Sprintf("ui: load embedded assets: %v", err))
	}
	return c
}

func load(fsys fs.FS) (*console, error) {
	sub, err := fs.Sub(fsys, "static")
	if err != nil {
		return nil, err
	}
	files := map[string][]byte{}
	err = fs.WalkDir(sub, ".", func(p string, d fs.DirEntry, err error) error {
		if err != nil || d.IsDir() {
			return err
		}
		b, err := fs.ReadFile(sub, p)
		if err != nil {
			return err
		}
		files[p] = b
		return nil
	})
	if err != nil {
		return nil, err
	}
	indexTmpl, ok := files["index.html"]
	if !ok {
		return nil, fmt.Errorf("index.html missing")
	}
	// The version covers every file, in a stable order.
	names := make([]string, 0, len(files))
	for p := range files {
		names = append(names, p)
	}
	sort.Strings(names)
	h := sha256.New()
	for _, p := range names {
		fmt.Fprintf(h, "%s\x00%d\x00", p, len(files[p]))
		h.Write(files[p])
	}
	version := hex.EncodeToString(h.Sum(nil))[:12]

	c := &console{version: version, assets: map[string]*asset{}}
	for _, p := range names {
		if p == "index.html" {
			continue
		}
		c.assets[p] = newAsset(files[p], contentType(p))
	}
	page := bytes.ReplaceAll(indexTmpl, []byte("{{STATIC}}"), []byte("static/"+version))
	c.index = newAsset(page, "text/html; charset=utf-8")
	c.favicon = c.assets["favicon.svg"]
	if c.favicon == nil {
		return nil, fmt.Errorf("favicon.svg missing")
	}
	return c, nil
}

func contentType(p string) string {
	switch path.Ext(p) {
	case ".js", ".mjs":
		return "text/javascript; charset=utf-8"
	case ".css":
		return "text/css; charset=utf-8"
	case ".svg":
		return "image/svg+xml"
	case ".html":
		return "text/html; charset=utf-8"
	}
	if t := mime.TypeByExtension(path.Ext(p)); t != "" {
		return t
	}
	return "application/octet-stream"
}

func newAsset(body []byte, ctype string) *asset {
	sum := sha256.Sum256(body)
	return &asset{body: body, contentType: ctype, etag: `"` + hex.EncodeToString(sum[:8]) + `"`,
		compress: strings.HasPrefix(ctype, "text/") || ctype == "image/svg+xml"}
}

// uiRedirects maps the paths of Prometheus' and Alertmanager's own UIs, which
// rule generator URLs and notification templates link to, onto console pages.
var uiRedirects = map[string]string{
	"/alerts":      "alerts",
	"/rules":       "rules",
	"/targets":     "targets",
	"/status":      "status",
	"/flags":       "status",
	"/config":      "status",
	"/tsdb-status": "status",
	"/query":       "query",
}

func (c *console) ServeHTTP(w http.ResponseWriter, r *http.Request) {
	if r.Method != http.MethodGet && r.Method != http.MethodHead {
		w.Header().Set("Allow", "GET, HEAD")
		http.Error(w, "method not allowed", http.StatusMethodNotAllowed)
		return
	}
	p := r.URL.Path
	switch {
	case p == "/" || p == "/index.html":
		c.serve(w, r, c.index, "no-cache")
	case p == "/favicon.ico" || p == "/favicon.svg":
		c.serve(w, r, c.favicon, "public, max-age=86400")
	case strings.HasPrefix(p, "/static/"):
		c.serveStatic(w, r, strings.TrimPrefix(p, "/static/"))
	case p == "/graph":
		// Prometheus rule links: /graph?g0.expr=…&g0.tab=1
		c.redirect(w, "query", url.Values{"expr": {r.URL.Query().Get("g0.expr")}})
	case uiRedirects[p] != "":
		c.redirect(w, uiRedirects[p], nil)
	default:
		http.NotFound(w, r)
	}
}

func (c *console) serveStatic(w http.ResponseWriter, r *http.Request, rest string) {
	version, name, ok := strings.Cut(rest, "/")
	a := c.assets[name]
	if !ok || a == nil || strings.Contains(name, "..") {
		http.NotFound(w, r)
		return
	}
	if version != c.version {
		// A page from before an upgrade asking for an old asset gets the
		// current one, but must not cache it under the old URL for long.
		c.serve(w, r, a, "no-cache")
		return
	}
	c.serve(w, r, a, "public, max-age=31536000, immutable")
}

// redirect sends a browser to a console page; the hash part never reaches
// the server, so it is built here.
func (c *console) redirect(w http.ResponseWriter, page string, q url.Values) {
	target := "./#/" + page
	if q.Get("expr") != "" {
		target += "?" + q.Encode()
	}
	// Relative to the path's directory ("/graph" → "/#/query"), so it holds
	// behind a path prefix too.
	// (http.Redirect would make it absolute.)
	w.Header().Set("Location", target)
	w.WriteHeader(http.StatusFound)
}

func (c *console) serve(w http.ResponseWriter, r *http.Request, a *asset, cacheControl string) {
	h := w.Header()
	h.Set("Content-Type", a.contentType)
	h.Set("Cache-Control", cacheControl)
	h.Set("X-Content-Type-Options", "nosniff")
	h.Set("Referrer-Policy", "same-origin")
	if strings.HasPrefix(a.contentType, "text/html") {
		h.Set("Content-Security-Policy", csp)
		h.Set("X-Frame-Options", "DENY")
	}
	body, etag := a.body, a.etag
	if gz := a.gzipped(); gz != nil {
		h.Add("Vary", "Accept-Encoding")
		if acceptsGzip(r) {
			body = gz
			etag = strings.TrimSuffix(a.etag, `"`) + `-gz"`
			h.Set("Content-Encoding", "gzip")
		}
	}
	h.Set("ETag", etag)
	// No Last-Modified: the ETag is the validator.
	http.ServeContent(w, r, "", time.Time{}, bytes.NewReader(body))
}

func acceptsGzip(r *http.Request) bool {
	for _, part := range strings.Split(r.Header.Get("Accept-Encoding"), ",") {
		enc, params, _ := strings.Cut(strings.TrimSpace(part), ";")
		if strings.EqualFold(strings.TrimSpace(enc), "gzip") && strings.ReplaceAll(params, " ", "") != "q=0" {
			return true
		}
	}
	return false
}
