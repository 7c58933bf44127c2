# Traces of partial batches: packages compiled for a batch, trained on
# steps of fewer samples (the ...Batch methods), as the last batch of an
# epoch or a server's batch of the requests at hand. Each step draws its
# own number of samples ("sizes"); PyTorch's mean losses divide by it.
# Make them with:
#   /usr/bin/python3 make_reference.py cases_partial.py .
CASES = [
    {"name": "partial_gemm", "description": "100-64-10 relu, cross-entropy, Adam, compiled for 32 and run on 7, 1, 32 and 7 samples: the GEMM kernels with the call's rows (and depth, for the weights' gradients).",
     "model": {"layers": [
         {"name": "fc1", "in": 100, "out": 64, "activation": "relu"},
         {"name": "fc2", "in": 64, "out": 10}]},
     "loss": {"type": "cross_entropy"}, "optimizer": {"type": "adam", "lr": 0.01},
     "batch": 32, "sizes": [7, 1, 32, 7], "seed": 41},
    {"name": "partial_loops", "description": "6-10-3 tanh, MSE, SGD momentum 0.9, compiled for 32 and run on 1, 7 and 32 samples: loops over the call's samples.",
     "model": {"layers": [
         {"name": "l1", "in": 6, "out": 10, "activation": "tanh"},
         {"name": "l2", "in": 10, "out": 3}]},
     "loss": {"type": "mse"}, "optimizer": {"type": "sgd", "lr": 0.1, "momentum": 0.9},
     "batch": 32, "sizes": [1, 7, 32], "seed": 42},
    {"name": "partial_unrolled", "description": "3-4-2 sigmoid, BCE with logits, AdamW, compiled for 4 and run on 3, 1 and 4 samples: a tiny network's written-out code in a loop over the call's samples.",
     "model": {"layers": [
         {"name": "l1", "in": 3, "out": 4, "activation": "sigmoid"},
         {"name": "l2", "in": 4, "out": 2}]},
     "loss": {"type": "bce_with_logits"}, "optimizer": {"type": "adamw", "lr": 0.05},
     "batch": 4, "sizes": [3, 1, 4], "seed": 43},
]
