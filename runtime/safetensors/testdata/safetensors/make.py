#!/usr/bin/python3
"""Writes the PyTorch reference files for nngen's safetensors tests.

Debian bookworm has python3-torch but no python3-safetensors, so this
script writes the files itself, with json and struct only, the way the
safetensors library's serialize does (safetensors/src/tensor.rs, prepare):

  - tensors sorted by dtype, largest alignment first (the library's Dtype
    enum order, reversed), then by name; data_offsets contiguous from 0;
  - the header is serde_json's compact form: "__metadata__" first when
    given, then each tensor as {"dtype","shape","data_offsets"};
  - the header is padded with spaces to a multiple of 8 bytes, so the data
    starts 8-byte aligned;
  - the data is each tensor's bytes, C order, little-endian.

So safetensors.torch.save_file(state_dict, path, metadata) writes the same
bytes. expected.json holds every tensor's values as PyTorch converts them to
float64 (tensor.double()), as float.hex strings ("inf", "nan" included).

Usage: /usr/bin/python3 make.py   (writes into the folder holding this script)
Needs Debian's python3-torch (apt-get install python3-torch).
"""
import json, os, struct, sys
import torch

assert sys.byteorder == "little"
HERE = os.path.dirname(os.path.abspath(__file__))

# The library's Dtype enum, in its order (increasing alignment).
DTYPES = ["BOOL", "U8", "I8", "F8_E5M2", "F8_E4M3", "I16", "U16", "F16", "BF16",
          "I32", "U32", "F32", "F64", "I64", "U64"]
TORCH = {torch.float16: "F16", torch.bfloat16: "BF16", torch.float32: "F32",
         torch.float64: "F64", torch.int64: "I64", torch.bool: "BOOL"}


def tensor_bytes(t):
    t = t.contiguous()
    if t.dtype == torch.bfloat16:  # numpy has no bfloat16: same bits as int16
        t = t.view(torch.int16)
    return t.numpy().tobytes()


def save_file(tensors, path, metadata=None):
    """safetensors.torch.save_file(tensors, path, metadata), byte for byte."""
    order = sorted(tensors, key=lambda name: (-DTYPES.index(TORCH[tensors[name].dtype]), name))
    header, offset, data = {}, 0, b""
    if metadata is not None:
        header["__metadata__"] = metadata
    for name in order:
        t = tensors[name]
        raw = tensor_bytes(t)
        header[name] = {"dtype": TORCH[t.dtype], "shape": list(t.shape),
                        "data_offsets": [offset, offset + len(raw)]}
        offset += len(raw)
        data += raw
    text = json.dumps(header, separators=(",", ":"), ensure_ascii=False).encode()
    text += b" " * (-len(text) % 8)
    with open(os.path.join(HERE, path), "wb") as f:
        f.write(struct.pack("<Q", len(text)) + text + data)


class Net(torch.nn.Module):
    def __init__(self):
        super().__init__()
        self.layer1 = torch.nn.Linear(4, 5)
        self.layer2 = torch.nn.Linear(5, 3)


def specials(dtype):
    """Zeros, ordinary values, the subnormal and normal extremes, infinities and NaN."""
    info = torch.finfo(dtype)
    sub = info.tiny * info.eps  # the smallest subnormal
    values = [0.0, -0.0, 1.0, -2.5, 1 / 3, 0.1, sub, -sub, info.tiny - sub, info.tiny,
              info.max, -info.max, float("inf"), float("-inf"), float("nan")]
    return torch.tensor(values, dtype=torch.float64).to(dtype)


def main():
    torch.manual_seed(0)
    state = Net().state_dict()  # layer1.weight [5,4], layer1.bias [5], layer2.weight [3,5], layer2.bias [3]
    files = {
        "f32.safetensors": ({k: v for k, v in state.items()}, None),
        "f64.safetensors": ({k: v.double() for k, v in state.items()}, None),
        "f16.safetensors": ({k: v.half() for k, v in state.items()}, None),
        "bf16.safetensors": ({k: v.bfloat16() for k, v in state.items()}, None),
        "mixed.safetensors": ({"layer1.weight": state["layer1.weight"].half(),
                               "layer1.bias": state["layer1.bias"].bfloat16(),
                               "layer2.weight": state["layer2.weight"].double(),
                               "layer2.bias": state["layer2.bias"]},
                              {"format": "pt", "source": "make.py"}),
        "special.safetensors": ({"f16": specials(torch.float16), "bf16": specials(torch.bfloat16),
                                 "f32": specials(torch.float32), "f64": specials(torch.float64)}, None),
        # Not floating point: nngen must refuse these by name.
        "int.safetensors": ({"layer1.weight": torch.arange(20, dtype=torch.int64).reshape(5, 4),
                             "layer1.bias": torch.tensor([True, False, True, False, True])}, None),
    }
    expected = {}
    for path, (tensors, metadata) in files.items():
        save_file(tensors, path, metadata)
        if all(t.is_floating_point() for t in tensors.values()):
            expected[path] = {name: [float(x).hex() for x in t.double().flatten().tolist()]
                              for name, t in tensors.items()}
    with open(os.path.join(HERE, "expected.json"), "w") as f:
        json.dump(expected, f, indent=1, sort_keys=True)
        f.write("\n")


main()
