package main

import (
	"fmt"
	"os"
	"path/filepath"
	"runtime"
	"strings"
)

const modulePath = "github.com/nngen/nngen"

// moduleNote returns advice when the module that will build the generated
// package in dir does not require nngen's module, whose runtime packages the
// generated code imports; "" when it does or when dir is in no module.
func moduleNote(dir string) string {
	abs, err := filepath.Abs(dir)
	if err != nil {
		return ""
	}
	for d := abs; ; d = filepath.Dir(d) {
		data, err := os.ReadFile(filepath.Join(d, "go.mod"))
		if err == nil {
			if strings.Contains(string(data), modulePath) {
				return ""
			}
			return fmt.Sprintf("nngen: note: the generated package imports %s/runtime/nnrt, which %s does not require yet; run\n\tgo get %s%s",
				modulePath, filepath.Join(d, "go.mod"), modulePath, localReplace())
		}
		if filepath.Dir(d) == d {
			return ""
		}
	}
}

// localReplace suggests, when this nngen was built from a local clone, how
// to point the user's module at that clone instead: the README's recipe.
// go get names the module, at any version (the replacement stands for all
// of them), so that it asks no module proxy for it.
func localReplace() string {
	_, file, _, ok := runtime.Caller(0)
	if !ok || !filepath.IsAbs(file) {
		return ""
	}
	root := filepath.Dir(filepath.Dir(filepath.Dir(file))) // .../cmd/nngen/modnote.go
	if _, err := os.Stat(filepath.Join(root, "go.mod")); err != nil {
		return ""
	}
	return fmt.Sprintf("\nor, to build with this local clone of nngen:\n\tgo mod edit -replace=%s=%s\n\tgo get %s@v0.0.0", modulePath, root, modulePath)
}
