// Package frontend exports the built web UI, the one UI both hosts serve: the backend to browsers, the desktop
// app inside its window.
package frontend

import (
	"embed"
	"io/fs"
)

//go:embed all:dist
var dist embed.FS

// Dist returns the built UI (index.html and assets/). Before `npm run build` it holds only a placeholder.
func Dist() fs.FS {
	sub, err := fs.Sub(dist, "dist")
	if err != nil {
		// fs.Sub fails only for an invalid path, and "dist" is a constant.
		return dist
	}
	return sub
}
