# Extra PyTorch traces for nngen's parity tests, beyond the shared seed and
# seed_batch. Make them with:
#   /usr/bin/python3 make_reference.py cases.py .
# (make_reference.py here is the shared script with more activations; it
# needs python3-torch.) The traces of the activations added later (act_*:
# silu, elu, softplus, mish, hardswish, hardsigmoid, softsign) have their
# own file, cases_activations.py:
#   /usr/bin/python3 make_reference.py cases_activations.py .
CASES = [
    {"name": "wide_nobias", "description": "3-9-6-2, sigmoid, bias=false on the hidden layers, batch 4.",
     "model": {"layers": [
         {"name": "fc1", "in": 3, "out": 9, "activation": "sigmoid", "bias": False},
         {"name": "fc2", "in": 9, "out": 6, "activation": "sigmoid", "bias": False},
         {"name": "head", "in": 6, "out": 2}]},
     "loss": {"type": "mse"}, "optimizer": {"type": "sgd", "lr": 0.5},
     "batch": 4, "steps": 4, "seed": 11},
    {"name": "batch1_sum", "description": "5-4-1 with a batch dimension of 1 and reduction=sum.",
     "model": {"layers": [
         {"name": "hidden", "in": 5, "out": 4, "activation": "sigmoid"},
         {"name": "out", "in": 4, "out": 1}]},
     "loss": {"type": "mse", "reduction": "sum"}, "optimizer": {"type": "sgd", "lr": 0.1},
     "batch": 1, "steps": 3, "seed": 12},
    {"name": "deep_unbatched", "description": "2-3-3-3-3-2 all sigmoid, one sample without a batch dimension, lr 1.",
     "model": {"layers": [
         {"name": "l1", "in": 2, "out": 3, "activation": "sigmoid"},
         {"name": "l2", "in": 3, "out": 3, "activation": "sigmoid"},
         {"name": "l3", "in": 3, "out": 3, "activation": "sigmoid"},
         {"name": "l4", "in": 3, "out": 3, "activation": "sigmoid"},
         {"name": "l5", "in": 3, "out": 2, "activation": "sigmoid"}]},
     "loss": {"type": "mse"}, "optimizer": {"type": "sgd", "lr": 1.0},
     "steps": 6, "seed": 13},
    {"name": "linear_only", "description": "8-3 single linear layer, batch 16, no activation.",
     "model": {"layers": [{"name": "proj", "in": 8, "out": 3}]},
     "loss": {"type": "mse"}, "optimizer": {"type": "sgd", "lr": 0.05},
     "batch": 16, "steps": 3, "seed": 14},

    # Activations, losses and optimizers beyond the tutorial.
    {"name": "leaky_l1_nesterov", "description": "5-8-3 leaky_relu, L1 loss, SGD momentum 0.9 nesterov with weight decay, batch 6.",
     "model": {"layers": [
         {"name": "fc1", "in": 5, "out": 8, "activation": "leaky_relu"},
         {"name": "fc2", "in": 8, "out": 3}]},
     "loss": {"type": "l1"}, "optimizer": {"type": "sgd", "lr": 0.05, "momentum": 0.9, "nesterov": True, "weight_decay": 0.01},
     "batch": 6, "steps": 5, "seed": 21},
    {"name": "gelu_bce_adamw", "description": "6-10-4 gelu (erf), BCE with logits, AdamW with weight decay 0.05, batch 4.",
     "model": {"layers": [
         {"name": "enc", "in": 6, "out": 10, "activation": "gelu"},
         {"name": "dec", "in": 10, "out": 4}]},
     "loss": {"type": "bce_with_logits"}, "optimizer": {"type": "adamw", "lr": 0.01, "weight_decay": 0.05},
     "batch": 4, "steps": 5, "seed": 22},
    {"name": "gelutanh_mse_adam", "description": "3-7-2 gelu (tanh approximation), MSE sum, Adam with betas, eps and weight decay, one sample.",
     "model": {"layers": [
         {"name": "a", "in": 3, "out": 7, "activation": "gelu_tanh"},
         {"name": "b", "in": 7, "out": 2}]},
     "loss": {"type": "mse", "reduction": "sum"},
     "optimizer": {"type": "adam", "lr": 0.02, "betas": [0.8, 0.95], "eps": 1e-6, "weight_decay": 0.1},
     "steps": 4, "seed": 23},
    {"name": "softmax_dampening", "description": "4-6-3 relu then a softmax output, MSE, SGD momentum 0.8 dampening 0.3, batch 3.",
     "model": {"layers": [
         {"name": "hidden", "in": 4, "out": 6, "activation": "relu"},
         {"name": "probs", "in": 6, "out": 3, "activation": "softmax"}]},
     "loss": {"type": "mse"}, "optimizer": {"type": "sgd", "lr": 0.5, "momentum": 0.8, "dampening": 0.3},
     "batch": 3, "steps": 4, "seed": 24},
    {"name": "ce_unbatched_nobias", "description": "4-5-3 tanh without biases, cross-entropy on one sample (a class index), SGD.",
     "model": {"layers": [
         {"name": "l1", "in": 4, "out": 5, "activation": "tanh", "bias": False},
         {"name": "l2", "in": 5, "out": 3, "bias": False}]},
     "loss": {"type": "cross_entropy"}, "optimizer": {"type": "sgd", "lr": 0.2},
     "steps": 4, "seed": 25},
    {"name": "ce_sum_batch1_adam", "description": "3-4-2 relu, cross-entropy with reduction sum, a batch of 1, Adam with PyTorch's defaults.",
     "model": {"layers": [
         {"name": "l1", "in": 3, "out": 4, "activation": "relu"},
         {"name": "l2", "in": 4, "out": 2}]},
     "loss": {"type": "cross_entropy", "reduction": "sum"}, "optimizer": {"type": "adam"},
     "batch": 1, "steps": 4, "seed": 26},
    {"name": "bce_sum_leaky02", "description": "4-4-3 leaky_relu slope 0.2, identity output, BCE with logits summed, SGD with weight decay, batch 5.",
     "model": {"layers": [
         {"name": "l1", "in": 4, "out": 4, "activation": "leaky_relu_0.2"},
         {"name": "l2", "in": 4, "out": 3, "activation": "identity"}]},
     "loss": {"type": "bce_with_logits", "reduction": "sum"}, "optimizer": {"type": "sgd", "lr": 0.1, "weight_decay": 0.001},
     "batch": 5, "steps": 3, "seed": 27},
    {"name": "l1_adamw_defaults", "description": "2-3-1 sigmoid, L1, AdamW with PyTorch's defaults, one sample.",
     "model": {"layers": [
         {"name": "l1", "in": 2, "out": 3, "activation": "sigmoid"},
         {"name": "l2", "in": 3, "out": 1}]},
     "loss": {"type": "l1"}, "optimizer": {"type": "adamw"},
     "steps": 5, "seed": 28},
    {"name": "deep_relu_adam", "description": "8-16-16-4 relu, MSE, Adam lr 0.005, batch 16, six steps.",
     "model": {"layers": [
         {"name": "l1", "in": 8, "out": 16, "activation": "relu"},
         {"name": "l2", "in": 16, "out": 16, "activation": "relu"},
         {"name": "l3", "in": 16, "out": 4}]},
     "loss": {"type": "mse"}, "optimizer": {"type": "adam", "lr": 0.005},
     "batch": 16, "steps": 6, "seed": 29},
    {"name": "tanh_sum_momentum", "description": "3-5-2 tanh, L1 summed, SGD momentum 0.5 with weight decay, batch 2.",
     "model": {"layers": [
         {"name": "l1", "in": 3, "out": 5, "activation": "tanh"},
         {"name": "l2", "in": 5, "out": 2}]},
     "loss": {"type": "l1", "reduction": "sum"}, "optimizer": {"type": "sgd", "lr": 0.1, "momentum": 0.5, "weight_decay": 0.02},
     "batch": 2, "steps": 4, "seed": 30},
    # Layers big enough for the GEMM kernels (16K multiply-adds or more).
    {"name": "gemm_batched", "description": "100-128-64-10 relu, gelu; cross-entropy; Adam; batch 32: every layer through the GEMM kernels.",
     "model": {"layers": [
         {"name": "fc1", "in": 100, "out": 128, "activation": "relu"},
         {"name": "fc2", "in": 128, "out": 64, "activation": "gelu"},
         {"name": "fc3", "in": 64, "out": 10}]},
     "loss": {"type": "cross_entropy"}, "optimizer": {"type": "adam", "lr": 0.001},
     "batch": 32, "steps": 3, "seed": 31},
    {"name": "gemm_unbatched", "description": "256-128-3 tanh, MSE, SGD momentum, one sample: a GEMM with one row.",
     "model": {"layers": [
         {"name": "wide", "in": 256, "out": 128, "activation": "tanh"},
         {"name": "head", "in": 128, "out": 3}]},
     "loss": {"type": "mse"}, "optimizer": {"type": "sgd", "lr": 0.05, "momentum": 0.9},
     "steps": 3, "seed": 32},
    {"name": "gemm_pool", "description": "512-128-10 relu, cross-entropy, SGD with weight decay, batch 64: the first layer (4M multiply-adds, bias and relu) and its weight gradient are split across cores, and so is the update (67K parameters).",
     "model": {"layers": [
         {"name": "fc1", "in": 512, "out": 128, "activation": "relu"},
         {"name": "fc2", "in": 128, "out": 10}]},
     "loss": {"type": "cross_entropy"}, "optimizer": {"type": "sgd", "lr": 0.1, "weight_decay": 0.01},
     "batch": 64, "steps": 2, "seed": 33},
    {"name": "gemm_pool_adamw", "description": "512-128-10 relu, cross-entropy, AdamW with eps 1e-4, batch 64, 2 steps: the update of each parameter split across cores by its rows (the vector kernel's AdamW step). With eps 1e-8, an element whose gradient is near 1e-8 moves by lr·g/(|g|+eps), which float32's last bits of g change by 1e-4 of the largest parameter.",
     "model": {"layers": [
         {"name": "fc1", "in": 512, "out": 128, "activation": "relu"},
         {"name": "fc2", "in": 128, "out": 10}]},
     "loss": {"type": "cross_entropy"}, "optimizer": {"type": "adamw", "lr": 0.01, "weight_decay": 0.05, "eps": 1e-4},
     "batch": 64, "steps": 2, "seed": 37},
    {"name": "vector_mse_decay", "description": "64-96-80 relu, MSE, SGD with weight decay, batch 16: the vector kernels' epilogues, relu gradient, mse and update.",
     "model": {"layers": [
         {"name": "fc1", "in": 64, "out": 96, "activation": "relu"},
         {"name": "fc2", "in": 96, "out": 80}]},
     "loss": {"type": "mse"}, "optimizer": {"type": "sgd", "lr": 0.2, "weight_decay": 0.01},
     "batch": 16, "steps": 3, "seed": 34},
]
