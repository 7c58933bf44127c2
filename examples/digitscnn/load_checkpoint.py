#!/usr/bin/env python3
"""Loads a checkpoint of `go run ./examples/digitscnn` into the same network
in PyTorch and measures its accuracy on the digits the Go program held out.

    python3 examples/digitscnn/load_checkpoint.py [digitscnn.safetensors]

The file is read by hand, without the safetensors package (PyTorch 1.13 has
no reader of its own, and nothing here unpickles anything): 8 bytes of
little-endian header length, a JSON header naming each tensor's dtype, shape
and data_offsets, then the tensors' raw little-endian bytes. The weights go
into DigitsCNN with load_state_dict(strict=True), so a name, a shape or a
tensor too many or too few fails there. The held-out digits are those the
checkpoint's metadata lists (lines of digits.csv.gz, from 0), and the
accuracy measured must be the one the Go program recorded, or the script
exits with 1.

    python3 examples/digitscnn/load_checkpoint.py --state-dict

prints the names, dtypes and shapes of DigitsCNN's state_dict instead, one
a line: the committed testdata/state_dict.txt, which the Go tests compare
with the checkpoint they save.
"""

import array
import gzip
import json
import os
import struct
import sys

import torch
import torch.nn.functional as F


class DigitsCNN(torch.nn.Module):
    """model.nn in PyTorch: the attributes are the .nn file's layer names."""

    def __init__(self):
        super().__init__()
        self.conv1 = torch.nn.Conv2d(1, 16, 3, padding=1)
        self.conv2 = torch.nn.Conv2d(16, 32, 3, padding=1)
        self.logits = torch.nn.Linear(512, 10)

    def forward(self, image):
        act1 = torch.relu(self.conv1(image))
        act2 = torch.relu(self.conv2(act1))
        pooled = F.max_pool2d(act2, 2)
        features = torch.flatten(pooled, 1)
        return self.logits(features)


DTYPES = {"F32": (torch.float32, 4), "F64": (torch.float64, 8)}
NAMES = {dtype: name for name, (dtype, _) in DTYPES.items()}


def read_safetensors(path):
    """Returns the tensors of a safetensors file by name, and its metadata."""
    with open(path, "rb") as f:
        data = f.read()
    (n,) = struct.unpack("<Q", data[:8])
    header = json.loads(data[8 : 8 + n])
    metadata = header.pop("__metadata__", {})
    body = data[8 + n :]
    tensors = {}
    for name, info in header.items():
        dtype, size = DTYPES[info["dtype"]]
        start, end = info["data_offsets"]
        shape = info["shape"]
        count = 1
        for d in shape:
            count *= d
        if end - start != count * size:
            raise ValueError(f"{name}: {end - start} bytes for shape {shape}")
        values = array.array("f" if size == 4 else "d", body[start:end])
        if sys.byteorder != "little":  # the file's bytes are little-endian
            values.byteswap()
        tensors[name] = torch.frombuffer(values, dtype=dtype).reshape(shape)
    return tensors, metadata


def load_digits():
    """The digits as examples/digits/digitsdata loads them: 1×8×8 images
    with pixels scaled from 0..16 to [0,1], and their labels."""
    here = os.path.dirname(os.path.abspath(__file__))
    path = os.path.join(here, "..", "digits", "digitsdata", "digits.csv.gz")
    with gzip.open(path, "rt") as f:
        rows = [[int(v) for v in line.split(",")] for line in f if line.strip()]
    images = torch.tensor([r[:64] for r in rows], dtype=torch.float32).div(16).reshape(-1, 1, 8, 8)
    labels = torch.tensor([r[64] for r in rows])
    return images, labels


def main(argv):
    if argv[1:] == ["--state-dict"]:
        for name, t in DigitsCNN().state_dict().items():
            print(name, NAMES[t.dtype], list(t.shape))
        return 0
    path = argv[1] if len(argv) > 1 else "digitscnn.safetensors"
    tensors, metadata = read_safetensors(path)
    model = DigitsCNN()
    model.load_state_dict(tensors, strict=True)
    model.eval()

    images, labels = load_digits()
    held_out = torch.tensor([int(i) for i in metadata["held_out"].split(",")])
    with torch.no_grad():
        predicted = model(images[held_out]).argmax(dim=1)
    correct = int((predicted == labels[held_out]).sum())
    accuracy = correct / len(held_out)
    print(f"loaded {len(tensors)} tensors from {path} into DigitsCNN (strict)")
    print(f"held-out accuracy in PyTorch {100 * accuracy:.2f}% ({correct} of {len(held_out)})")
    recorded = metadata["accuracy"]
    if f"{accuracy:.4f}" != recorded:
        print(f"but the Go program recorded {recorded}", file=sys.stderr)
        return 1
    print(f"the Go program's: {100 * float(recorded):.2f}% after {metadata['epochs']} epochs with seed {metadata['seed']}")
    return 0


if __name__ == "__main__":
    sys.exit(main(sys.argv))
