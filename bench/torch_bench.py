#!/usr/bin/python3
"""The workloads of bench/ in PyTorch, timed the way the Go benchmarks are.

Prints one line per workload and step kind: "W2/TrainStep 415.2" (microseconds,
the median of several timed runs). Run by compare.sh; see docs/performance.md.
"""
import statistics
import sys
import time

import torch

WORKLOADS = {
    # name: (layers [(in, out, activation)], loss, batch (None: one sample))
    "W1": ([(4, 5, "sigmoid"), (5, 7, "sigmoid"), (7, 3, None)], "mse", None),
    "W2": ([(784, 128, "relu"), (128, 10, None)], "cross_entropy", 32),
    "W2Batch256": ([(784, 128, "relu"), (128, 10, None)], "cross_entropy", 256),
    "W3": ([(784, 512, "relu"), (512, 512, "relu"), (512, 10, None)], "cross_entropy", 64),
    "W4": ([(1024, 1024, "relu"), (1024, 1024, None)], "mse", 256),
    "Mid": ([(8, 32, "relu"), (32, 16, "relu"), (16, 1, None)], "mse", 16),
}

# W3 trained with other optimizers (train step only: the forward pass is
# W3's): name -> (workload, optimizer). PyTorch at its best: the faster of
# its single-tensor and foreach implementations.
OPTIMIZED = {
    "W3Adam": ("W3", lambda params, foreach: torch.optim.Adam(params, lr=0.0, foreach=foreach)),
    "W3Momentum": ("W3", lambda params, foreach: torch.optim.SGD(params, lr=0.0, momentum=0.9, foreach=foreach)),
}

# The workloads given as a module: the module, the input's shape, the loss
# and the batch (bench/lenet, bench/conv3x3, bench/transformer).
def lenet():
    return torch.nn.Sequential(
        torch.nn.Conv2d(1, 6, 5, padding=2), torch.nn.ReLU(), torch.nn.MaxPool2d(2),
        torch.nn.Conv2d(6, 16, 5), torch.nn.ReLU(), torch.nn.MaxPool2d(2),
        torch.nn.Flatten(),
        torch.nn.Linear(400, 120), torch.nn.ReLU(),
        torch.nn.Linear(120, 84), torch.nn.ReLU(),
        torch.nn.Linear(84, 10))


def transformer():
    """bench/transformer: two post-norm encoder layers and a linear head."""
    def layer():
        return torch.nn.TransformerEncoderLayer(64, 4, dim_feedforward=256, dropout=0.0,
                                                activation="relu", batch_first=True, norm_first=False)
    return torch.nn.Sequential(layer(), layer(), torch.nn.Linear(64, 64))


CONV_WORKLOADS = {
    "LeNet": (lenet, (1, 28, 28), "cross_entropy", 64),
    "Conv3x3": (lambda: torch.nn.Conv2d(64, 64, 3, padding=1), (64, 32, 32), "mse", 32),
    # not a convolution, but set up the same way: a module, (seq, d_model), mse, batch 16
    "Transformer": (transformer, (32, 64), "mse", 16),
}

# W2 on fewer samples than the Go package's batch of 32, which runs them
# through ForwardBatch and TrainStepBatch (BenchmarkW2Samples): PyTorch on
# a batch of that many.
SAMPLES = {"W2Samples": ("W2", [1, 7, 32])}


def build(layers):
    mods = []
    for i, o, act in layers:
        mods.append(torch.nn.Linear(i, o))
        if act == "sigmoid":
            mods.append(torch.nn.Sigmoid())
        elif act == "relu":
            mods.append(torch.nn.ReLU())
    return torch.nn.Sequential(*mods)


def setup_conv(make, shape, loss, batch):
    """setup for a convolutional workload: the input is (batch, *shape)."""
    model = make()
    x = torch.rand((batch,) + shape)
    if loss == "mse":
        with torch.no_grad():
            y = torch.rand(model(x).shape)
        return model, x, y, torch.nn.MSELoss()
    return model, x, torch.randint(0, 10, (batch,)), torch.nn.CrossEntropyLoss()


def setup(layers, loss, batch):
    """The model, an input batch, its targets and the loss of a workload."""
    model = build(layers)
    n_in, n_out = layers[0][0], layers[-1][1]
    x = torch.rand((n_in,) if batch is None else (batch, n_in))
    if loss == "mse":
        y = torch.rand((n_out,) if batch is None else (batch, n_out))
        lossf = torch.nn.MSELoss()
    else:
        y = torch.randint(0, n_out, (batch,))
        lossf = torch.nn.CrossEntropyLoss()
    return model, x, y, lossf


def timeit(f, budget=1.0):
    """Median time of f in microseconds over runs filling about budget seconds."""
    f()
    start = time.perf_counter()
    n = 0
    while time.perf_counter() - start < 0.2:
        f()
        n += 1
    per = max((time.perf_counter() - start) / n, 1e-7)
    reps = max(1, int(budget / 5 / per))
    runs = []
    for _ in range(5):
        t0 = time.perf_counter()
        for _ in range(reps):
            f()
        runs.append((time.perf_counter() - t0) / reps * 1e6)
    return statistics.median(runs)


def main():
    torch.manual_seed(0)
    only = set(sys.argv[1:])
    runs = [(name, name, batch, "") for name, (_, _, batch) in WORKLOADS.items()]
    for name, (of, sizes) in SAMPLES.items():
        runs += [(name, of, n, f"/{n}") for n in sizes]
    runs += [(name, name, batch, "") for name, (_, _, _, batch) in CONV_WORKLOADS.items()]
    for name, of, batch, suffix in runs:
        if only and name not in only:
            continue
        if of in CONV_WORKLOADS:
            make, shape, loss, _ = CONV_WORKLOADS[of]
            model, x, y, lossf = setup_conv(make, shape, loss, batch)
        else:
            layers, loss, _ = WORKLOADS[of]
            model, x, y, lossf = setup(layers, loss, batch)
        opt = torch.optim.SGD(model.parameters(), lr=0.0)

        def forward():
            with torch.no_grad():
                model(x)

        def train_step():
            opt.zero_grad()
            lossf(model(x), y).backward()
            opt.step()

        print(f"{name}/Forward{suffix} {timeit(forward):.3f}")
        print(f"{name}/TrainStep{suffix} {timeit(train_step):.3f}")
        sys.stdout.flush()
    for name, (of, make) in OPTIMIZED.items():
        if only and name not in only:
            continue
        layers, loss, batch = WORKLOADS[of]
        model, x, y, lossf = setup(layers, loss, batch)
        best = None
        for foreach in (False, True):
            opt = make(model.parameters(), foreach)

            def train_step():
                opt.zero_grad()
                lossf(model(x), y).backward()
                opt.step()

            t = timeit(train_step)
            best = t if best is None else min(best, t)
        print(f"{name}/TrainStep {best:.3f}")
        sys.stdout.flush()


if __name__ == "__main__":
    main()
