// Command pult is the desktop app. Wails builds the folder that holds wails.json, so this thin entry lives at the
// root; everything else is in package app.
package main

import (
	"fmt"
	"os"

	"pult/app"
)

func main() {
	if err := app.Run(); err != nil {
		fmt.Fprintln(os.Stderr, "pult:", err)
		os.Exit(1)
	}
}
