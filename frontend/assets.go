package frontend

import (
	"bytes"
	"compress/gzip"
	"crypto/sha256"
	"encoding/hex"
	"fmt"
	"html/template"
	"io/fs"
	"mime"
	"path"
	"regexp"
	"strconv"
	"strings"

	"github.com/gofiber/fiber/v2"
)

// AssetPrefix is where MountAssets serves the static files.
const AssetPrefix = "/assets"

// asset is one embedded static file, ready to serve.
type asset struct {
	hash        string
	body        []byte
	gzipped     []byte // nil where compression does not pay
	contentType string
}

// assetSet serves the embedded assets under /assets/<contenthash>/<file>, so
// a URL's content never changes and browsers may keep it for a year.
type assetSet struct {
	files map[string]*asset // path below assets/ → file
}

func loadAssets(fsys fs.FS) (*assetSet, error) {
	s := &assetSet{files: make(map[string]*asset)}
	err := fs.WalkDir(fsys, ".", func(p string, d fs.DirEntry, err error) error {
		if err != nil || d.IsDir() {
			return err
		}
		body, err := fs.ReadFile(fsys, p)
		if err != nil {
			return err
		}
		sum := sha256.Sum256(body)
		a := &asset{hash: hex.EncodeToString(sum[:8]), body: body, contentType: contentType(p)}
		if compressible(a.contentType) && len(body) > 1024 {
			if a.gzipped, err = gzipBytes(body); err != nil {
				return fmt.Errorf("%s: %w", p, err)
			}
		}
		s.files[p] = a
		return nil
	})
	if err != nil {
		return nil, fmt.Errorf("frontend: load assets: %w", err)
	}
	return s, nil
}

func contentType(p string) string {
	if t := mime.TypeByExtension(path.Ext(p)); t != "" {
		return t
	}
	return "text/plain; charset=utf-8" // LICENSE, VERSIONS
}

func compressible(ct string) bool {
	return strings.HasPrefix(ct, "text/") || strings.Contains(ct, "javascript") ||
		strings.Contains(ct, "svg") || strings.Contains(ct, "json")
}

func gzipBytes(b []byte) ([]byte, error) {
	var buf bytes.Buffer
	w, err := gzip.NewWriterLevel(&buf, gzip.BestCompression)
	if err != nil {
		return nil, err
	}
	if _, err := w.Write(b); err != nil {
		return nil, err
	}
	if err := w.Close(); err != nil {
		return nil, err
	}
	return buf.Bytes(), nil
}

// url returns the content-hashed URL of an asset, for the template function
// asset. An unknown name is an error, so a typo fails the render.
func (s *assetSet) url(name string) (string, error) {
	a, ok := s.files[name]
	if !ok {
		return "", fmt.Errorf("asset %q does not exist", name)
	}
	return AssetPrefix + "/" + a.hash + "/" + name, nil
}

// AssetURL returns the content-hashed URL of an embedded asset such as
// "portal.css", for code outside templates.
func (f *Frontend) AssetURL(name string) (string, error) {
	return f.assets.url(name)
}

// MountAssets serves the embedded assets at /assets/<contenthash>/<file> on
// r, which must be the application's root router. A hash that does not match
// the file's current content is a 404, so a stale URL never gets new content
// cached under it.
func (f *Frontend) MountAssets(r fiber.Router) {
	r.Get(AssetPrefix+"/:hash/*", func(c *fiber.Ctx) error {
		a, ok := f.assets.files[c.Params("*")]
		if !ok || a.hash != c.Params("hash") {
			return fiber.ErrNotFound
		}
		c.Set(fiber.HeaderContentType, a.contentType)
		c.Set(fiber.HeaderCacheControl, "public, max-age=31536000, immutable")
		if a.gzipped != nil {
			c.Vary(fiber.HeaderAcceptEncoding)
			if acceptsGzip(c.Get(fiber.HeaderAcceptEncoding)) {
				c.Set(fiber.HeaderContentEncoding, "gzip")
				return c.Send(a.gzipped)
			}
		}
		return c.Send(a.body)
	})
}

// acceptsGzip reports whether an Accept-Encoding header allows gzip.
func acceptsGzip(header string) bool {
	for _, part := range strings.Split(header, ",") {
		name, params, _ := strings.Cut(part, ";")
		if !strings.EqualFold(strings.TrimSpace(name), "gzip") {
			continue
		}
		q := strings.TrimSpace(params)
		if v, ok := strings.CutPrefix(q, "q="); ok {
			w, err := strconv.ParseFloat(v, 64)
			return err == nil && w > 0
		}
		return true
	}
	return false
}

// svgOpen and svgViewBox pick apart the opening tag of a logo file.
var (
	svgOpen    = regexp.MustCompile(`(?s)<svg\b[^>]*>`)
	svgViewBox = regexp.MustCompile(`viewBox="[^"]*"`)
)

// loadLogos prepares the vendored Helsinki logos for inline use: drawn in
// currentColor, hidden from assistive technology (the link around the logo
// carries the name), never focusable.
func loadLogos(fsys fs.FS) (map[string]template.HTML, error) {
	logos := make(map[string]template.HTML)
	for lang, file := range map[string]string{
		"fi": "vendor/hds-react/helsinki-logo-fi.svg",
		"sv": "vendor/hds-react/helsinki-logo-sv.svg",
	} {
		b, err := fs.ReadFile(fsys, file)
		if err != nil {
			return nil, fmt.Errorf("frontend: logo: %w", err)
		}
		s := string(b)
		if i := strings.Index(s, "<svg"); i >= 0 {
			s = s[i:] // drop any XML prolog
		}
		open := svgOpen.FindString(s)
		if open == "" {
			return nil, fmt.Errorf("frontend: logo %s: no <svg> element", file)
		}
		viewBox := svgViewBox.FindString(open)
		s = strings.Replace(s, open, `<svg class="helsinki-logo" `+viewBox+
			` xmlns="http://www.w3.org/2000/svg" aria-hidden="true" focusable="false">`, 1)
		logos[lang] = template.HTML(strings.TrimSpace(s)) //nolint:gosec // vendored file, not user input
	}
	logos["en"] = logos["fi"] // hel.fi uses the Finnish logo in English
	return logos, nil
}
