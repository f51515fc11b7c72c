// Package web holds arena's browser client, embedded in the binary so the
// server needs no files on disk and the page loads nothing from elsewhere.
package web

import (
	"embed"
	"io/fs"
)

//go:embed static
var files embed.FS

// FS returns the client's files, index.html at the root.
func FS() fs.FS {
	sub, err := fs.Sub(files, "static")
	if err != nil {
		panic(err) // the embedded tree always has static/
	}
	return sub
}
