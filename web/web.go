// Package web holds arena's browser client and admin page, embedded in the
// binary so the server needs no files on disk and the pages load nothing
// from elsewhere.
package web

import (
	"embed"
	"io/fs"
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
	return s
}
