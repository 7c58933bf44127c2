package onnx

import (
	"fmt"
	"math"
	"strconv"

	"github.com/nngen/nngen/onnx/onnxpb"
)

// attr finds a node's attribute by name.
func attr(p *onnxpb.NodeProto, name string) *onnxpb.AttributeProto {
	for _, a := range p.GetAttribute() {
		if a.GetName() == name {
			return a
		}
	}
	return nil
}

// floatAttr reads a float attribute as the decimal number it was written
// as: ONNX stores float32, so LeakyRelu(0.2) holds 0.2000000030, and
// nngen's leaky_relu(0.2) takes 0.2, as PyTorch does in float64. The
// attributes nngen reads end up in the generated code or in the weights,
// so NaN and the infinities are refused; a finite float32 fits both
// float types.
func floatAttr(p *onnxpb.NodeProto, name string, def float64) (float64, error) {
	a := attr(p, name)
	if a == nil {
		return def, nil
	}
	if a.GetType() != onnxpb.AttributeProto_FLOAT && a.GetType() != onnxpb.AttributeProto_UNDEFINED {
		return 0, fmt.Errorf("attribute %s is %s, not FLOAT", name, a.GetType())
	}
	f := float64(a.GetF())
	if math.IsNaN(f) || math.IsInf(f, 0) {
		return 0, fmt.Errorf("%s is %g; nngen takes a finite number", name, f)
	}
	return shortest(a.GetF()), nil
}

// shortest is the float64 of the shortest decimal that reads as f.
func shortest(f float32) float64 {
	x, err := strconv.ParseFloat(strconv.FormatFloat(float64(f), 'g', -1, 32), 64)
	if err != nil {
		return float64(f) // infinities and NaN, which floatAttr refuses
	}
	return x
}

func intAttr(p *onnxpb.NodeProto, name string, def int64) (int64, error) {
	a := attr(p, name)
	if a == nil {
		return def, nil
	}
	if a.GetType() != onnxpb.AttributeProto_INT && a.GetType() != onnxpb.AttributeProto_UNDEFINED {
		return 0, fmt.Errorf("attribute %s is %s, not INT", name, a.GetType())
	}
	return a.GetI(), nil
}

func intsAttr(p *onnxpb.NodeProto, name string) ([]int64, error) {
	a := attr(p, name)
	if a == nil {
		return nil, nil
	}
	if a.GetType() != onnxpb.AttributeProto_INTS && a.GetType() != onnxpb.AttributeProto_UNDEFINED {
		return nil, fmt.Errorf("attribute %s is %s, not INTS", name, a.GetType())
	}
	return a.GetInts(), nil
}

func stringAttr(p *onnxpb.NodeProto, name, def string) (string, error) {
	a := attr(p, name)
	if a == nil {
		return def, nil
	}
	if a.GetType() != onnxpb.AttributeProto_STRING && a.GetType() != onnxpb.AttributeProto_UNDEFINED {
		return "", fmt.Errorf("attribute %s is %s, not STRING", name, a.GetType())
	}
	return string(a.GetS()), nil
}
