// Package web holds arena's browser client and admin page, embedded in the
// binary so the server needs no files on disk and the pages load nothing
// from elsewhere.
package web

import (
	"embed"
	"io/fs"
	"path"
)

//go:embed client
var client embed.FS

//go:embed admin
var admin embed.FS

// FS returns the game client's files, index.html at the root.
func FS() fs.FS { return sub(client, "client") }

// AdminFS returns the admin page's files, index.html at the root.
func AdminFS() fs.FS { return sub(admin, "admin") }

func sub(f embed.FS, dir string) fs.FS {
	s, err := fs.Sub(f, dir)
	if err != nil {
		panic(err) // the embedded tree always has dir
	}
	return noListing{s}
}

// noListing hides directories that have no index.html from Open, so that
// http.FileServerFS answers 404 for /js/ instead of listing the scripts.
// ReadDir and Stat still see everything, for code that walks the files.
type noListing struct{ fsys fs.FS }

func (n noListing) Open(name string) (fs.File, error) {
	f, err := n.fsys.Open(name)
	if err != nil {
		return nil, err
	}
	st, err := f.Stat()
	if err == nil && st.IsDir() {
		if _, ierr := fs.Stat(n.fsys, path.Join(name, "index.html")); ierr != nil {
			f.Close()
			return nil, &fs.PathError{Op: "open", Path: name, Err: fs.ErrNotExist}
		}
	}
	return f, err
}

func (n noListing) ReadDir(name string) ([]fs.DirEntry, error) { return fs.ReadDir(n.fsys, name) }
func (n noListing) Stat(name string) (fs.FileInfo, error)      { return fs.Stat(n.fsys, name) }
