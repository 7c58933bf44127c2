#!/usr/bin/env bash
# Checks the README's recipe for using a local clone of nngen as a tool of
# your module ("Using nngen in your module"): in a scratch module outside the
# repository it applies the recipe, the README's sh block that names
# /path/to/nngen, to this checkout; generates a package with a
# //go:generate line that runs go tool nngen; and builds and runs a program
# that uses it. The go command may ask no module proxy anything meanwhile:
# nngen's module comes from the checkout, its dependencies from the module
# cache, which go mod download fills first (at once when it holds them).
set -euo pipefail
root=$(cd "$(dirname "$0")/.." && pwd)

recipe=$(awk '
	/^```sh$/ { inside = 1; block = ""; next }
	inside && /^```$/ { inside = 0; if (block ~ /\/path\/to\/nngen/) printf "%s", block; next }
	inside { block = block $0 "\n" }
' "$root/README.md")
if [ -z "$recipe" ]; then
	echo "check-tool-recipe: README.md has no sh block that names /path/to/nngen" >&2
	exit 1
fi
recipe=${recipe//\/path\/to\/nngen/$root}

(cd "$root" && go mod download)

scratch=$(mktemp -d)
trap 'rm -rf "$scratch"' EXIT
mkdir "$scratch/module"
cd "$scratch/module"
# A proxy that fails every request, as one does offline or when it refuses a
# path. GOPROXY=off would not do: the go command takes "lookup disabled" for
# "no such module" and goes on, so it would pass go get -tool with a
# replacement, which fails against a real proxy that refuses.
touch "$scratch/not-a-folder"
export GOPROXY=file://$scratch/not-a-folder/proxy
# The cache's modules were verified against the checkout's go.sum when they
# were downloaded; with no network the checksum database cannot be asked.
export GOSUMDB=off
# -mod=readonly: after the recipe, go.mod and go.sum must be complete.
export GOFLAGS=-mod=readonly
go mod init example.com/scratch 2>/dev/null

echo "$recipe" | sed 's/^/+ /' >&2
bash -euo pipefail -c "$recipe"

cat >model.nn <<'EOF'
network Tiny
input x[4]
hidden = linear(x, 5)
h = sigmoid(hidden)
out = linear(h, 3)
output out
loss mse(out, target[3])
optimizer sgd(lr=0.1)
EOF
cat >main.go <<'EOF'
package main

//go:generate go tool nngen build -o tiny model.nn

import (
	"fmt"

	"example.com/scratch/tiny"
)

func main() {
	m := tiny.New(1)
	x := [4]float32{1, 2, 3, 4}
	var y [3]float32
	m.Forward(&x, &y)
	fmt.Println("y =", y)
}
EOF
go generate ./...
go tool nngen build -check -o tiny model.nn
go build -o tiny-main .
out=$(./tiny-main)
echo "$out"
case $out in
"y = ["*) echo "check-tool-recipe: ok" ;;
*) echo "check-tool-recipe: the program printed $out" >&2; exit 1 ;;
esac
