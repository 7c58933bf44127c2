# Extra PyTorch traces for nngen's parity tests, beyond the shared seed and
# seed_batch. Make them with:
#   /usr/bin/python3 ../../../../shared/reference/make_reference.py cases.py .
# (make_reference.py ships beside the shared traces; it needs python3-torch.)
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
]
