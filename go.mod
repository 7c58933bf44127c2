module github.com/nngen/nngen

go 1.26.0

require (
	github.com/dave/jennifer v1.7.1
	golang.org/x/tools v0.52.0
)
