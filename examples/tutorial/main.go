// Command tutorial retells the PyTorch tutorial (Linear(4,5)+sigmoid,
// Linear(5,7)+sigmoid, Linear(7,3), MSE loss, backward, SGD with lr 0.3)
// with the package nngen generated from model.nn.
package main

//go:generate go tool nngen build -o mymodel model.nn

import (
	"fmt"

	"github.com/nngen/nngen/examples/tutorial/mymodel"
)

func main() {
	model := mymodel.New(1) // PyTorch's default init, seeded

	x := [4]float32{1, 1, 1, 1} // torch.ones(4)
	var y [3]float32
	model.Forward(&x, &y)
	fmt.Println("y =", y)

	yHat := [3]float32{1, 1, 1} // our dummy label
	loss := model.Backward(&x, &yHat)
	fmt.Println("loss =", loss)
	fmt.Println("dMSE/dW =", model.Layer1WeightGrad)

	fmt.Println("W_0 =", model.Layer1Weight)
	model.LR = 0.3 // optim.SGD(params=model.parameters(), lr=0.3)
	model.Step()
	fmt.Println("W_1 =", model.Layer1Weight)

	model.Forward(&x, &y)
	fmt.Println("loss =", model.Backward(&x, &yHat), "(lower)")
}
