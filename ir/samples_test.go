package ir

import (
	"strings"
	"testing"
)

// TestSamples: in tiny's training graph, the values computed sample by
// sample have a row per sample; the loss, the weights' gradients (sums
// over the samples) and the updates have none.
func TestSamples(t *testing.T) {
	g := tiny(t, false)
	samples, err := Samples(g)
	if err != nil {
		t.Fatal(err)
	}
	want := map[string]bool{"x": true, "h": true, "target": true, "dh": true, "dh.pre": true,
		"loss": false, "dfc.weight": false, "dfc.bias": false, "fc.weight": false, "fc.bias": false, "lr": false}
	for _, v := range g.Values {
		if w, ok := want[v.Name]; ok && samples[v] != w {
			t.Errorf("%s: a row per sample %v, want %v", v.LongString(), samples[v], w)
		}
	}
}

// TestSamplesRefused: the graphs that mix samples, or that have no batch
// to run partly, take the full batch only, with the reason and the place.
func TestSamplesRefused(t *testing.T) {
	at := Pos{File: "model.nn", Line: 3, Col: 5}
	for _, c := range []struct {
		name  string
		build func(g *Graph, x *Value) (*Value, error) // the output, from x [4, 6]
		want  string
	}{
		{"concat along the samples", func(g *Graph, x *Value) (*Value, error) {
			return g.Add(OpConcat, Attrs{Axis: 0}, x, x)
		}, "model.nn:3:5: concat along the sample axis mixes samples"},
		{"permute", func(g *Graph, x *Value) (*Value, error) {
			return g.Add(OpPermute, Attrs{Perm: []int{1, 0}}, x)
		}, "permute [1 0] moves the sample axis"},
		{"reshape", func(g *Graph, x *Value) (*Value, error) {
			return g.Add(OpReshape, Attrs{To: Shape{2, 12}}, x)
		}, "reshape to [2,12] merges or splits the samples"},
		{"softmax over the samples", func(g *Graph, x *Value) (*Value, error) {
			s, err := g.Add(OpSum, Attrs{Axes: []int{1}}, x)
			if err != nil {
				return nil, err
			}
			return g.Add(OpSoftmax, Attrs{}, s)
		}, "softmax over the sample axis mixes samples"},
		{"samples times samples", func(g *Graph, x *Value) (*Value, error) {
			return g.Add(OpMatMul, Attrs{TransB: true}, x, x)
		}, "a column per sample"},
		{"an output without samples", func(g *Graph, x *Value) (*Value, error) {
			return g.Add(OpMean, Attrs{Axes: []int{0}, KeepDims: true}, x)
		}, "the output [1,6] has no row per sample"},
	} {
		g := New("Mix", F32, 4, false)
		x := g.Leaf(OpInput, "x", Shape{4, 6}, Attrs{})
		y, err := c.build(g, x)
		if err != nil {
			t.Fatalf("%s: %v", c.name, err)
		}
		y.Pos = at
		g.Outputs = []*Value{y}
		if _, err := Samples(g); err == nil || !strings.Contains(err.Error(), c.want) {
			t.Errorf("%s: %v, want %q", c.name, err, c.want)
		}
	}
	if _, err := Samples(New("One", F32, 1, false)); err == nil {
		t.Error("a batch of 1 runs partly")
	}
	if _, err := Samples(New("Unbatched", F32, 1, true)); err == nil {
		t.Error("an unbatched graph runs partly")
	}
}

// TestSamplesReduced: a mean over the samples has none, and what it is
// broadcast back against has them again (batch normalization's shape).
func TestSamplesReduced(t *testing.T) {
	g := New("Center", F32, 4, false)
	x := g.Leaf(OpInput, "x", Shape{4, 6}, Attrs{})
	mean, err := g.Add(OpMean, Attrs{Axes: []int{0}, KeepDims: true}, x)
	if err != nil {
		t.Fatal(err)
	}
	centered, err := g.Add(OpSub, Attrs{}, x, mean)
	if err != nil {
		t.Fatal(err)
	}
	g.Outputs = []*Value{centered}
	samples, err := Samples(g)
	if err != nil {
		t.Fatal(err)
	}
	if samples[mean] || !samples[centered] {
		t.Errorf("mean over the samples %v, x - mean %v; want false, true", samples[mean], samples[centered])
	}
}
