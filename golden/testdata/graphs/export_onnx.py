#!/usr/bin/python3
"""Exports the modules of make_graphs.py's cases to ONNX, for nngen's ONNX front end.

For every case of make_graphs.CASES (imported, not copied) whose trace
NAME.json is in this folder, the case's torch.nn.Module is built, loaded
with the trace's starting parameters (`params`, float32-representable) in
float32, put in eval mode and exported with

    torch.onnx.export(module, example_inputs, path, opset_version=K,
                      input_names=trace["inputs"], output_names=trace["outputs"],
                      do_constant_folding=True)

to onnx/NAME.opsetK.onnx for K in OPSETS (a static batch: the example
inputs are the trace's step-0 inputs, batch axis included), and once more
at opset 14 with dynamic_axes on axis 0 of every input and output
(onnx/NAME.opset14.dynamic.onnx; not for a case with no batch axis).
PyTorch 1.13 exports up to opset 17, so onnx/NAME.opset18.onnx is the
opset-17 export rewritten as the opset-18 spec says the same graph is
written (upgrade_to_18 below): the axes of ReduceMean, ReduceMax and the
other reductions become an int64 input instead of an attribute, a Split
without sizes gets its num_outputs attribute, and the model imports
opset 18. onnx 1.12's checker knows opsets up to 17 only, so those files
skip it; the numpy interpreter runs them all the same.

Each file is checked: onnx.checker (full check, with shape inference), then
a small numpy interpreter of the graph (run_node below, written for
exactly the op types these exports hold; an op outside it is reported as
not checked) runs it
on the trace's step-0 inputs, in float32 as the file says and once with
every float tensor widened to float64, and its outputs are compared with
the trace's step-0 outputs (float64 PyTorch) and with the float32 module's.
A dynamic file is also run on the first batch-1 samples (rows are
independent in every case), against the same rows of the trace.

It prints, and writes to onnx/INDEX.md, per file: the op types in node
order, the initializers (name, dtype, shape, and which state_dict parameter
each one holds: as is, transposed, or none), the graph's inputs and
outputs, the parameters that the export renamed, folded away or
duplicated, the exporter's warnings, and the differences.

Usage (from anywhere): /usr/bin/python3 export_onnx.py [NAME ...]
Needs Debian's python3-torch (1.13) and python3-onnx (1.12). The .onnx
files come out byte-identical on a rerun.
"""
import copy
import json, math, os, sys, warnings
import numpy as np
import onnx
from onnx import numpy_helper, helper, TensorProto

HERE = os.path.dirname(os.path.abspath(__file__))
sys.path.insert(0, HERE)
import make_graphs  # noqa: E402  (sets float64 as the default dtype)
import torch  # noqa: E402
from torch import nn  # noqa: E402

torch.set_default_dtype(torch.float32)

OUT = os.path.join(HERE, "onnx")


# torch 1.13 exports an nn.LayerNorm without weight or bias
# (elementwise_affine=False) at opset 17 as a LayerNormalization with an
# empty Scale, which the checker rejects; this is the symbolic of later
# PyTorch releases, which give it Scale ones and B zeros as constants.
@torch.onnx.symbolic_helper.parse_args("v", "is", "v", "v", "f", "none")
def _layer_norm_17(g, x, normalized_shape, weight, bias, eps, cudnn_enable):
    if torch.onnx.symbolic_helper._is_none(weight):
        weight = g.op("Constant", value_t=torch.ones(normalized_shape, dtype=torch.float32))
    if torch.onnx.symbolic_helper._is_none(bias):
        bias = g.op("Constant", value_t=torch.zeros(normalized_shape, dtype=torch.float32))
    return g.op("LayerNormalization", x, weight, bias, epsilon_f=eps, axis_i=-len(normalized_shape))


torch.onnx.register_custom_op_symbolic("aten::layer_norm", _layer_norm_17, 17)
OPSETS = [13, 14, 17, 18]
DYNAMIC_OPSET = 14
TRAINING_OPSET = 14  # a case with dropout: also NAME.opset14.training.onnx, exported in training mode


# ---------------------------------------------------------------- export

def load_module(case, trace):
    """The case's module in float32, eval mode, holding the trace's starting parameters."""
    net = case["module"]()
    sd = {k: torch.tensor(v, dtype=torch.float32) for k, v in trace["params"].items()}
    for k, v in sd.items():  # float32-representable: the conversion is exact
        assert torch.equal(v.double(), torch.tensor(trace["params"][k], dtype=torch.float64)), k
    for k, v in trace.get("buffers", {}).items():  # running statistics, counts, register_buffer's
        sd[k] = torch.tensor(v, dtype=torch.int64 if isinstance(v, int) else torch.float32)
    net.load_state_dict(sd, strict=True)
    assert list(trace["params"]) == [k for k, _ in net.named_parameters()]
    net.float().eval()
    return net


def step0_inputs(trace, dtype=np.float32):
    """The step-0 inputs in dtype; ids (an input the case declares as
    ("ids", shape, rows)) as int64, as nn.Embedding takes them."""
    case = {c["name"]: c for c in make_graphs.CASES}[trace["name"]]
    ids = lambda spec: isinstance(spec, tuple) and spec[0] != "padding_mask"
    return {n: np.array(trace["steps"][0]["inputs"][n], dtype=np.int64 if ids(case["inputs"][n]) else dtype)
            for n in trace["inputs"]}


def export(net, trace, path, opset, dynamic, training=False):
    inputs = tuple(torch.tensor(v) for v in step0_inputs(trace).values())
    kw = {}
    if training:  # the module in training mode: its Dropout nodes with training_mode true
        kw["training"] = torch.onnx.TrainingMode.TRAINING
    if dynamic:
        kw["dynamic_axes"] = {n: {0: "batch"} for n in trace["inputs"] + trace["outputs"]}
    with warnings.catch_warnings(record=True) as caught:
        warnings.simplefilter("always")
        torch.onnx.export(net, inputs, path, opset_version=opset, input_names=list(trace["inputs"]),
                          output_names=list(trace["outputs"]), do_constant_folding=not training, **kw)
    msgs = []
    for w in caught:
        m = "%s: %s" % (w.category.__name__, str(w.message).strip().splitlines()[0])
        if m not in msgs:
            msgs.append(m)
    return msgs


# ---------------------------------------------------------------- a numpy interpreter of the graph

_erf = np.vectorize(math.erf, otypes=[np.float64])


class Skipped(Exception):
    pass


def attrs(node):
    return {a.name: helper.get_attribute_value(a) for a in node.attribute}


def widen(a, wide):
    if wide and isinstance(a, np.ndarray) and a.dtype == np.float32:
        return a.astype(np.float64)
    return a


def keep_float(x, like):
    """Elementwise float results in the dtype of the operand (numpy may widen a float32 op with a float64 scalar)."""
    return x.astype(like.dtype) if np.issubdtype(like.dtype, np.floating) else x


def reduce_axes(node, ins, a, opset):
    # ReduceSum takes its axes as an input from opset 13, the others from opset 18.
    if node.op_type == "ReduceSum" or opset >= 18:
        axes = ins[1] if len(ins) > 1 and ins[1] is not None else None
        if axes is None or axes.size == 0:
            return None if not a.get("noop_with_empty_axes", 0) else ()
        return tuple(int(v) for v in axes)
    axes = a.get("axes")
    return None if axes is None else tuple(axes)


def run_recurrent(op, a, ins):
    """GRU and LSTM as the ONNX spec writes them, layout 0, forward or
    bidirectional (direction 1 runs from the last step to the first): gates
    in ONNX's order (GRU z, r, h; LSTM i, o, f, c), the GRU with
    linear_before_reset; Y [seq, dirs, batch, hidden], Y_h (and Y_c) [dirs, batch, hidden]."""
    direction = a.get("direction", b"forward")
    direction = direction.decode() if isinstance(direction, bytes) else direction
    assert direction in ("forward", "bidirectional") and a.get("layout", 0) == 0
    x = ins[0]
    H = a["hidden_size"]
    g = 3 if op == "GRU" else 4
    T, batch = x.shape[0], x.shape[1]
    sig = lambda v: 1 / (1 + np.exp(-v))
    blk = lambda v, k: v[:, k * H:(k + 1) * H]
    Y, Yh, Yc = np.zeros((T, ins[1].shape[0], batch, H), dtype=x.dtype), [], []
    for d in range(ins[1].shape[0]):
        W, R = ins[1][d], ins[2][d]
        B = ins[3][d] if len(ins) > 3 and ins[3] is not None else np.zeros(2 * g * H, dtype=x.dtype)
        Wb, Rb = B[:g * H], B[g * H:]
        h = ins[5][d] if len(ins) > 5 and ins[5] is not None else np.zeros((batch, H), dtype=x.dtype)
        c = ins[6][d] if len(ins) > 6 and ins[6] is not None else np.zeros((batch, H), dtype=x.dtype)
        for t in (reversed(range(T)) if d else range(T)):
            gx, gh = x[t] @ W.T + Wb, h @ R.T + Rb
            if op == "GRU":
                assert a.get("linear_before_reset", 0) == 1
                z, r = sig(blk(gx, 0) + blk(gh, 0)), sig(blk(gx, 1) + blk(gh, 1))
                n = np.tanh(blk(gx, 2) + r * blk(gh, 2))
                h = (1 - z) * n + z * h
            else:
                s = gx + gh
                i, o, f, cc = sig(blk(s, 0)), sig(blk(s, 1)), sig(blk(s, 2)), np.tanh(blk(s, 3))
                c = f * c + i * cc
                h = o * np.tanh(c)
            Y[t, d] = h
        Yh.append(h), Yc.append(c)
    out = [Y, np.stack(Yh).astype(x.dtype)]
    return out + ([np.stack(Yc).astype(x.dtype)] if op == "LSTM" else [])


def run_node(node, ins, opset, wide):
    a = attrs(node)
    op = node.op_type
    x = ins[0] if ins else None
    unary = {"Relu": lambda v: np.maximum(v, 0), "Tanh": np.tanh, "Sigmoid": lambda v: 1 / (1 + np.exp(-v)),
             "Exp": np.exp, "Log": np.log, "Sqrt": np.sqrt, "Abs": np.abs, "Neg": np.negative,
             "Reciprocal": lambda v: 1 / v, "Erf": _erf,
             "Softplus": lambda v: np.log1p(np.exp(v))}
    if op in unary:
        return [keep_float(np.asarray(unary[op](x)), x)]
    binary = {"Add": np.add, "Sub": np.subtract, "Mul": np.multiply, "Pow": np.power}
    if op in binary:
        return [keep_float(binary[op](ins[0], ins[1]), x)]
    if op == "Div":
        if np.issubdtype(x.dtype, np.integer):
            return [np.trunc(x / ins[1]).astype(x.dtype)]
        return [keep_float(x / ins[1], x)]
    if op == "Elu":
        al = a.get("alpha", 1.0)
        return [keep_float(np.where(x > 0, x, al * (np.exp(x) - 1)), x)]
    if op == "HardSigmoid":
        al, be = a.get("alpha", 0.2), a.get("beta", 0.5)
        return [keep_float(np.clip(al * x + be, 0, 1), x)]
    if op == "HardSwish":
        return [keep_float(x * np.clip(x / 6 + 0.5, 0, 1), x)]
    if op == "Clip":
        lo = ins[1] if len(ins) > 1 and ins[1] is not None else None
        hi = ins[2] if len(ins) > 2 and ins[2] is not None else None
        r = x
        if lo is not None:
            r = np.maximum(r, lo)
        if hi is not None:
            r = np.minimum(r, hi)
        return [keep_float(r, x)]
    if op == "Gemm":
        A, B = ins[0], ins[1]
        if a.get("transA", 0):
            A = A.T
        if a.get("transB", 0):
            B = B.T
        r = a.get("alpha", 1.0) * (A @ B)
        if len(ins) > 2 and ins[2] is not None:
            r = r + a.get("beta", 1.0) * ins[2]
        return [keep_float(r, ins[0])]
    if op == "MatMul":
        return [np.matmul(ins[0], ins[1])]
    if op in ("Softmax", "LogSoftmax"):
        ax = a.get("axis", -1)
        m = x - x.max(axis=ax, keepdims=True)
        lse = np.log(np.exp(m).sum(axis=ax, keepdims=True))
        return [np.exp(m - lse) if op == "Softmax" else m - lse]
    if op in ("ReduceMean", "ReduceSum", "ReduceMax", "ReduceProd"):
        axes = reduce_axes(node, ins, a, opset)
        f = {"ReduceMean": np.mean, "ReduceSum": np.sum, "ReduceMax": np.max, "ReduceProd": np.prod}[op]
        if axes == ():
            return [x]
        return [f(x, axis=axes, keepdims=bool(a.get("keepdims", 1))).astype(x.dtype)]
    if op == "LayerNormalization":
        ax = a.get("axis", -1)
        ax = ax % x.ndim
        axes = tuple(range(ax, x.ndim))
        mu = x.mean(axis=axes, keepdims=True)
        d = x - mu
        var = (d * d).mean(axis=axes, keepdims=True)
        inv = 1 / np.sqrt(var + a.get("epsilon", 1e-5))
        y = d * inv * ins[1]
        if len(ins) > 2 and ins[2] is not None:
            y = y + ins[2]
        return [keep_float(y, x), mu, inv][:len(node.output)]
    if op == "BatchNormalization":  # over every axis but the channels'; training_mode: the batch's statistics
        axes = (0,) + tuple(range(2, x.ndim))
        shape = (1, -1) + (1,) * (x.ndim - 2)
        eps, m = a.get("epsilon", 1e-5), a.get("momentum", 0.9)
        if a.get("training_mode", 0) or opset < 14 and len(node.output) > 1:
            mean, var = x.mean(axis=axes), x.var(axis=axes)
            n = x.size // x.shape[1]
            outs = [None, ins[3] * m + mean * (1 - m), ins[4] * m + var * n / (n - 1) * (1 - m)]
        else:
            mean, var = ins[3], ins[4]
            outs = [None]
        y = (x - mean.reshape(shape)) / np.sqrt(var.reshape(shape) + eps) * ins[1].reshape(shape) + ins[2].reshape(shape)
        outs[0] = keep_float(y, x)
        return [keep_float(o, x) for o in outs][:len(node.output)]
    if op == "Transpose":
        return [np.transpose(x, a.get("perm"))]
    if op == "Reshape":
        shape = [int(v) for v in ins[1]]
        if not a.get("allowzero", 0):
            shape = [x.shape[i] if v == 0 else v for i, v in enumerate(shape)]
        return [x.reshape(shape)]
    if op == "Flatten":
        ax = a.get("axis", 1) % (x.ndim + 1) if a.get("axis", 1) < 0 else a.get("axis", 1)
        return [x.reshape(int(np.prod(x.shape[:ax])), -1)]
    if op == "Squeeze":
        axes = ins[1] if len(ins) > 1 and ins[1] is not None else a.get("axes")
        if axes is None:
            return [np.squeeze(x)]
        return [np.squeeze(x, axis=tuple(int(v) % x.ndim for v in axes))]
    if op == "Unsqueeze":
        axes = ins[1] if len(ins) > 1 else a["axes"]
        n = x.ndim + len(axes)
        r = x
        for ax in sorted(int(v) % n for v in axes):
            r = np.expand_dims(r, ax)
        return [r]
    if op == "Concat":
        return [np.concatenate([v for v in ins], axis=a["axis"])]
    if op == "Slice":
        starts, ends = ins[1], ins[2]
        axes = ins[3] if len(ins) > 3 and ins[3] is not None else np.arange(len(starts))
        steps = ins[4] if len(ins) > 4 and ins[4] is not None else np.ones(len(starts), np.int64)
        idx = [slice(None)] * x.ndim
        for s, e, ax, st in zip(starts, ends, axes, steps):
            idx[int(ax)] = slice(int(s), int(e), int(st))  # numpy clamps as ONNX does
        return [x[tuple(idx)]]
    if op == "Split":
        ax = a.get("axis", 0) % x.ndim
        if opset >= 13:
            sizes = ins[1] if len(ins) > 1 and ins[1] is not None else None
        else:
            sizes = a.get("split")
        if sizes is None:
            n = a.get("num_outputs", len(node.output))
            size = -(-x.shape[ax] // n)  # the last piece smaller (opset 18)
            sizes = [min(size, x.shape[ax] - i * size) for i in range(n)]
        cuts = np.cumsum([int(v) for v in sizes])[:-1]
        return np.split(x, cuts, axis=ax)
    if op == "Gather":
        return [np.take(x, ins[1], axis=a.get("axis", 0))]
    if op == "Expand":
        return [x * np.ones(tuple(int(d) for d in ins[1]), dtype=x.dtype)]
    if op == "ConstantOfShape":
        v = numpy_helper.to_array(a["value"]) if "value" in a else np.zeros(1, dtype=np.float32)
        return [widen(np.full(tuple(int(d) for d in x), v.reshape(-1)[0], dtype=v.dtype), wide)]
    if op in ("GRU", "LSTM"):
        return run_recurrent(op, a, ins)
    if op == "Shape":
        s = np.array(x.shape, dtype=np.int64)
        return [s[a.get("start", 0):a.get("end", len(s))] if ("start" in a or "end" in a) else s]
    if op == "Constant":
        if "value" in a:
            return [widen(numpy_helper.to_array(a["value"]), wide)]
        for k, dt in (("value_float", np.float32), ("value_int", np.int64)):
            if k in a:
                return [widen(np.array(a[k], dtype=dt), wide)]
        for k, dt in (("value_floats", np.float32), ("value_ints", np.int64)):
            if k in a:
                return [widen(np.array(a[k], dtype=dt), wide)]
        raise Skipped("Constant with attributes %s" % list(a))
    if op == "Pad":
        mode = a.get("mode", b"constant")
        if mode not in (b"constant", "constant"):
            raise Skipped("Pad mode %s" % mode)
        pads = [int(v) for v in (ins[1] if opset >= 11 else a["pads"])]
        value = ins[2] if opset >= 11 and len(ins) > 2 and ins[2] is not None else a.get("value", 0.0)
        n = x.ndim
        if min(pads) < 0:
            raise Skipped("Pad with negative pads")
        return [np.pad(x, [(pads[i], pads[i + n]) for i in range(n)], constant_values=np.asarray(value).item())]
    if op in ("Conv", "MaxPool", "AveragePool"):
        return [window_op(op, a, ins)]
    if op == "GlobalAveragePool":
        return [x.mean(axis=tuple(range(2, x.ndim)), keepdims=True).astype(x.dtype)]
    if op == "Cast":  # of shapes and constants only (nn.EmbeddingBag's Loop, a causal mask)
        to = {TensorProto.INT64: np.int64, TensorProto.BOOL: np.bool_, TensorProto.FLOAT: np.float32}.get(a["to"])
        if to is None:
            raise Skipped("Cast to %s" % TensorProto.DataType.Name(a["to"]))
        return [widen(np.asarray(x).astype(to), wide)]
    if op == "Equal":  # of shapes (an Expand's target, a key padding mask's)
        return [np.equal(ins[0], ins[1])]
    if op == "Where":
        return [np.where(ins[0], ins[1], ins[2])]
    if op == "Trilu":  # of a constant: a causal mask made inside forward (torch.triu)
        k = int(ins[1]) if len(ins) > 1 and ins[1] is not None else 0
        return [np.triu(x, k) if a.get("upper", 1) else np.tril(x, k)]
    if op == "Range":
        return [np.arange(ins[0], ins[1], ins[2]).astype(np.asarray(ins[0]).dtype)]
    # Nothing else occurs in these exports (no Identity, Softsign, Mish):
    # an op outside the list is reported, not run.
    raise Skipped(op)


def window_op(op, a, ins):
    """Conv, MaxPool and AveragePool over [N, C, *spatial], by the ONNX spec
    (explicit pads only, no ceil_mode): a sum (or max) over the kernel's
    offsets of strided views of the padded input."""
    x = ins[0]
    if a.get("auto_pad", b"NOTSET") not in (b"NOTSET", "NOTSET"):
        raise Skipped("%s auto_pad %s" % (op, a["auto_pad"]))
    if a.get("ceil_mode", 0):
        raise Skipped(op + " ceil_mode")
    if op == "MaxPool" and a.get("storage_order", 0):
        raise Skipped("MaxPool storage_order")
    nsp = x.ndim - 2
    kernel = list(a["kernel_shape"]) if "kernel_shape" in a else list(ins[1].shape[2:])
    strides = list(a.get("strides", [1] * nsp))
    dil = list(a.get("dilations", [1] * nsp))
    pads = list(a.get("pads", [0] * 2 * nsp))
    fill = -np.inf if op == "MaxPool" else 0.0
    xp = np.pad(x, [(0, 0), (0, 0)] + [(pads[i], pads[i + nsp]) for i in range(nsp)], constant_values=fill)
    out = [(x.shape[2 + i] + pads[i] + pads[i + nsp] - dil[i] * (kernel[i] - 1) - 1) // strides[i] + 1 for i in range(nsp)]

    def view(v, offs):  # the input under kernel offset offs at every output position
        idx = [slice(None), slice(None)]
        for i, o in enumerate(offs):
            start = o * dil[i]
            idx.append(slice(start, start + strides[i] * (out[i] - 1) + 1, strides[i]))
        return v[tuple(idx)]

    offsets = list(np.ndindex(*kernel))
    if op == "MaxPool":
        r = np.full(x.shape[:2] + tuple(out), -np.inf, dtype=x.dtype)
        for offs in offsets:
            r = np.maximum(r, view(xp, offs))
        return r
    if op == "AveragePool":
        r = np.zeros(x.shape[:2] + tuple(out), dtype=x.dtype)
        for offs in offsets:
            r = r + view(xp, offs)
        if a.get("count_include_pad", 0):
            return (r / np.prod(kernel)).astype(x.dtype)
        ones = np.pad(np.ones((1, 1) + x.shape[2:], dtype=x.dtype),
                      [(0, 0), (0, 0)] + [(pads[i], pads[i + nsp]) for i in range(nsp)])
        count = sum(view(ones, offs) for offs in offsets)
        return (r / count).astype(x.dtype)
    w = ins[1]
    b = ins[2] if len(ins) > 2 and ins[2] is not None else None
    groups = a.get("group", 1)
    cg, mg = x.shape[1] // groups, w.shape[0] // groups
    r = np.zeros((x.shape[0], w.shape[0]) + tuple(out), dtype=x.dtype)
    for g in range(groups):
        xg = xp[:, g * cg:(g + 1) * cg]
        for offs in offsets:
            wk = w[(slice(g * mg, (g + 1) * mg), slice(None)) + offs]  # [mg, cg]
            r[:, g * mg:(g + 1) * mg] += np.einsum("nc...,mc->nm...", view(xg, offs), wk)
    if b is not None:
        r = r + b.reshape((1, -1) + (1,) * nsp)
    return r.astype(x.dtype)


def interpret(model, feeds, wide):
    """The graph's outputs for feeds (name -> array); float32 tensors widened to float64 when wide."""
    g = model.graph
    opset = [o.version for o in model.opset_import if o.domain in ("", "ai.onnx")][0]
    env = {t.name: widen(numpy_helper.to_array(t), wide) for t in g.initializer}
    for k, v in feeds.items():
        env[k] = widen(v, wide)
    env[""] = None
    run_graph(g.node, env, opset, wide)
    return {o.name: env[o.name] for o in g.output}


def run_graph(nodes, env, opset, wide):
    for node in nodes:
        ins = [env[n] for n in node.input]
        outs = run_loop(node, ins, env, opset, wide) if node.op_type == "Loop" else run_node(node, ins, opset, wide)
        for n, v in zip(node.output, outs):
            env[n] = np.asarray(v)


def run_loop(node, ins, env, opset, wide):
    """Loop as the spec runs it: the body on a copy of the enclosing scope,
    the carried values threaded through, the scan outputs stacked."""
    body = attrs(node)["body"]
    trips = None if ins[0] is None or node.input[0] == "" else int(ins[0])
    cond = True if len(ins) < 2 or node.input[1] == "" else bool(ins[1])
    carried = list(ins[2:])
    scans = [[] for _ in range(len(body.output) - 1 - len(carried))]
    i = 0
    while cond and (trips is None or i < trips):
        scope = dict(env)
        scope.update({t.name: widen(numpy_helper.to_array(t), wide) for t in body.initializer})
        for vi, v in zip(body.input, [np.array(i, dtype=np.int64), np.array(cond)] + carried):
            scope[vi.name] = v
        run_graph(body.node, scope, opset, wide)
        outs = [scope[o.name] for o in body.output]
        cond, carried = bool(outs[0]), outs[1:1 + len(carried)]
        for k, v in enumerate(outs[1 + len(carried):]):
            scans[k].append(v)
        i += 1
    return carried + [np.stack(v) for v in scans]


# ---------------------------------------------------------------- describing a file

def dims(vi):
    t = vi.type.tensor_type
    ds = [d.dim_param if d.HasField("dim_param") else (d.dim_value if d.HasField("dim_value") else "?")
          for d in t.shape.dim]
    return "%s[%s]" % (TensorProto.DataType.Name(t.elem_type).lower(), ", ".join(str(d) for d in ds))


def fmt_shape(shape):
    return "[" + ", ".join(str(d) for d in shape) + "]"


def match_params(model, params):
    """Per initializer: the state_dict parameters it equals (as is, or transposed); and the reverse."""
    inits = [(t.name, numpy_helper.to_array(t)) for t in model.graph.initializer]
    holds = {}
    for name, v in inits:
        hits = []
        for p, pv in params.items():
            if v.dtype.kind != "f":
                continue
            if v.shape == pv.shape and np.array_equal(v.astype(np.float64), pv):
                hits.append(p)
            elif v.ndim == 2 and v.shape == pv.T.shape and np.array_equal(v.astype(np.float64), pv.T):
                hits.append(p + "^T")
        holds[name] = hits
    return inits, holds


REDUCTIONS_18 = ["ReduceMean", "ReduceMax", "ReduceMin", "ReduceProd", "ReduceL1", "ReduceL2",
                 "ReduceLogSum", "ReduceLogSumExp", "ReduceSumSquare"]


def upgrade_to_18(model):
    """The opset-17 model as opset 18 writes it: reduction axes as an input, Split's num_outputs."""
    m = onnx.ModelProto()
    m.CopyFrom(model)
    def upgrade(graph, prefix):
        for i, node in enumerate(graph.node):
            if node.op_type in REDUCTIONS_18:
                axes = [a for a in node.attribute if a.name == "axes"]
                if axes:
                    name = "axes_%s%d" % (prefix, i)
                    graph.initializer.append(numpy_helper.from_array(np.array(axes[0].ints, dtype=np.int64), name))
                    node.attribute.remove(axes[0])
                    node.input.append(name)
            if node.op_type == "Split" and (len(node.input) < 2 or node.input[1] == ""):
                node.attribute.append(helper.make_attribute("num_outputs", len(node.output)))
            for a in node.attribute:  # a Loop's body, an If's branches
                if a.type == onnx.AttributeProto.GRAPH:
                    upgrade(a.g, "%s%d_%s_" % (prefix, i, a.name))
    upgrade(m.graph, "")
    for o in m.opset_import:
        if o.domain in ("", "ai.onnx"):
            o.version = 18
    return m


def describe(name, path, trace, net, warns):
    model = onnx.load(path)
    if [o.version for o in model.opset_import if o.domain in ("", "ai.onnx")][0] <= 17:
        onnx.checker.check_model(onnx.shape_inference.infer_shapes(model), full_check=True)
    g = model.graph
    opset = [o.version for o in model.opset_import if o.domain in ("", "ai.onnx")][0]
    params = {k: np.array(v, dtype=np.float64) for k, v in trace["params"].items()}
    inits, holds = match_params(model, params)
    ops = [n.op_type for n in g.node]
    # Which parameters the export kept under their name, renamed, transposed, folded away or duplicated.
    renamed, folded, dup, consts = [], [], [], []
    where = {p: [] for p in params}
    for iname, v in inits:
        hs = holds[iname]
        for h in hs:
            where[h[:-2] if h.endswith("^T") else h].append(iname)
        if not hs:
            consts.append(iname)
        elif any(h != iname for h in hs):
            renamed.append("%s = %s" % (iname, " = ".join(hs)))
    identities = {n.output[0]: n.input[0] for n in g.node if n.op_type == "Identity" and n.input[0] in holds}
    for p, places in where.items():
        if not places:
            folded.append(p)
        elif len(places) > 1:
            dup.append("%s in %s" % (p, ", ".join(places)))
    const_nodes = []  # the values of the Constant nodes, in node order
    for n in g.node:
        if n.op_type == "Constant":
            a = attrs(n)
            v = numpy_helper.to_array(a["value"]) if "value" in a else np.array(list(a.values())[0])
            const_nodes.append("%s %s" % (v.dtype, np.array2string(v, separator=", ") if v.size <= 8 else fmt_shape(v.shape)))

    # Numerics: the interpreter against the trace's step-0 outputs and the float32 module.
    feeds = step0_inputs(trace)
    want = {o: np.array(trace["steps"][0]["outputs"][o], dtype=np.float64) for o in trace["outputs"]}
    # A batch norm's outputs in the mode of step 0 (on a copy: training mode moves running statistics).
    bn = any(isinstance(m, nn.modules.batchnorm._BatchNorm) for m in net.modules())
    with torch.no_grad():
        tout = copy.deepcopy(net).train(bn and trace["steps"][0].get("train", False))(*[torch.tensor(v) for v in feeds.values()])
    tout = dict(zip(trace["outputs"], tout if isinstance(tout, tuple) else (tout,)))
    torch_diff = max(float(np.abs(tout[o].double().numpy() - want[o]).max()) for o in want)
    check = {"torch_f32_vs_trace": torch_diff}
    try:
        if trace["steps"][0].get("masks"):
            raise Skipped("step 0 ran in training mode, through PyTorch's dropout masks")
        got32 = interpret(model, feeds, wide=False)
        got64 = interpret(model, feeds, wide=True)
        for o in want:
            assert got32[o].shape == want[o].shape and got32[o].dtype == np.float32, (o, got32[o].shape, got32[o].dtype)
            assert got64[o].shape == want[o].shape
        check["interp_f32_vs_trace"] = max(float(np.abs(got32[o] - want[o]).max()) for o in want)
        check["interp_f64_vs_trace"] = max(float(np.abs(got64[o] - want[o]).max()) for o in want)
        check["interp_f32_vs_torch_f32"] = max(float(np.abs(got32[o] - tout[o].numpy()).max()) for o in want)
        if "dynamic" in path and trace["batch"]:
            k = trace["batch"] - 1
            part = interpret(model, {n: v[:k] for n, v in feeds.items()}, wide=False)
            check["interp_f32_batch%d_vs_trace" % k] = max(float(np.abs(part[o] - want[o][:k]).max()) for o in want)
        skipped = None
    except Skipped as e:
        skipped = str(e)

    d = {"file": os.path.relpath(path, HERE), "case": name, "opset": opset, "ops": ops,
         "ir_version": model.ir_version, "nodes": [node_line(n) for n in g.node],
         "inits": [(iname, str(v.dtype), list(v.shape), holds[iname]) for iname, v in inits],
         "inputs": [(i.name, dims(i)) for i in g.input], "outputs": [(o.name, dims(o)) for o in g.output],
         "renamed": renamed, "folded": folded, "duplicated": dup, "consts": consts, "constant_nodes": const_nodes,
         "identities": identities, "warnings": warns, "check": check, "skipped": skipped}
    return d


def attr_text(v):
    if isinstance(v, float):
        return "%.9g" % v
    if isinstance(v, bytes):
        return repr(v.decode())
    if isinstance(v, onnx.TensorProto):
        a = numpy_helper.to_array(v)
        return "%s %s" % (a.dtype, np.array2string(a, separator=", ").replace("\n", "") if a.size <= 8 else fmt_shape(a.shape))
    if isinstance(v, list):
        return "[" + ", ".join(attr_text(x) for x in v) + "]"
    return str(v)


def node_line(n):
    """`outputs = Op(inputs; attributes)`, as written in the file."""
    ats = ["%s=%s" % (a.name, attr_text(helper.get_attribute_value(a))) for a in n.attribute]
    return "%s = %s(%s%s)" % (", ".join(n.output), n.op_type, ", ".join(n.input), ("; " if n.input and ats else "") + ", ".join(ats))


def print_desc(d):
    print("== %s (opset %d)" % (d["file"], d["opset"]))
    print("  ops (%d): %s" % (len(d["ops"]), ", ".join(d["ops"])))
    print("  inputs:  %s" % ", ".join("%s %s" % io for io in d["inputs"]))
    print("  outputs: %s" % ", ".join("%s %s" % io for io in d["outputs"]))
    for iname, dt, shape, hs in d["inits"]:
        print("  init %-24s %-8s %-10s %s" % (iname, dt, fmt_shape(shape), "= " + " = ".join(hs) if hs else "(no parameter)"))
    if d["constant_nodes"]:
        print("  Constant values: %s" % "; ".join(c.replace("\n", "") for c in d["constant_nodes"]))
    if d["identities"]:
        print("  Identity nodes of initializers: %s" % ", ".join("%s = Identity(%s)" % kv for kv in d["identities"].items()))
    if d["renamed"]:
        print("  renamed: %s" % "; ".join(d["renamed"]))
    if d["folded"]:
        print("  parameters in no initializer: %s" % ", ".join(d["folded"]))
    if d["duplicated"]:
        print("  duplicated: %s" % "; ".join(d["duplicated"]))
    for w in d["warnings"]:
        print("  warning: %s" % w)
    if d["skipped"]:
        print("  NOT CHECKED: the interpreter has no %s" % d["skipped"])
    print("  max abs diff: %s" % ", ".join("%s %.3g" % kv for kv in d["check"].items()))


def write_index(descs, failures, path):
    L = ["# ONNX exports of the graph cases", "",
         "Written by `../export_onnx.py` (see `README.md`); do not edit by hand.", "",
         "Max abs differences on the trace's step-0 inputs: `f32` is the numpy interpreter of the",
         "file in float32 against the trace's float64 step-0 `outputs`, `f64` the same interpreter",
         "with every float tensor widened to float64 (so only the file's float32 constants differ from",
         "the trace), `torch` the float32 module itself against the trace.", "",
         "| file | opset | op types in node order | f32 | f64 | torch |",
         "| --- | --- | --- | --- | --- | --- |"]
    for d in descs:
        c = d["check"]
        f = lambda k: ("%.2g" % c[k]) if k in c else "not run"
        L.append("| `%s` | %d | %s | %s | %s | %s |" % (os.path.basename(d["file"]), d["opset"], ", ".join(d["ops"]),
                                                     f("interp_f32_vs_trace"), f("interp_f64_vs_trace"),
                                                     f("torch_f32_vs_trace")))
    if failures:
        L += ["", "## Not exported", ""]
        for f, why in failures:
            L.append("- `%s`: %s" % (f, why))
    L += ["", "## Files", ""]
    for d in descs:
        L.append("### `%s`" % os.path.basename(d["file"]))
        L.append("")
        L.append("- opset %d (IR version %d); %d nodes: %s" % (d["opset"], d["ir_version"], len(d["ops"]), ", ".join(d["ops"])))
        L.append("- inputs: %s; outputs: %s" % (", ".join("`%s` %s" % io for io in d["inputs"]),
                                                 ", ".join("`%s` %s" % io for io in d["outputs"])))
        L.append("- initializers:")
        for iname, dt, shape, hs in d["inits"]:
            L.append("  - `%s` %s %s%s" % (iname, dt, fmt_shape(shape),
                                          (": " + " = ".join("`%s`" % h for h in hs)) if hs else ": no parameter (a folded constant)"))
        if d["identities"]:
            L.append("- Identity nodes of initializers: %s" % ", ".join("`%s` = Identity(`%s`)" % kv for kv in d["identities"].items()))
        L.append("- renamed: %s" % ("; ".join("`%s`" % r for r in d["renamed"]) if d["renamed"] else "none"))
        L.append("- parameters in no initializer (folded away): %s" % (", ".join("`%s`" % p for p in d["folded"]) or "none"))
        L.append("- parameters in several initializers: %s" % ("; ".join(d["duplicated"]) or "none"))
        L.append("- Constant nodes: %d" % len(d["constant_nodes"]))
        if d["warnings"]:
            L.append("- exporter warnings: " + "; ".join("`%s`" % w.replace("`", "'") for w in d["warnings"]))
        if d["skipped"]:
            L.append("- not checked: the interpreter has no `%s`" % d["skipped"])
        L.append("- max abs diff: %s" % ", ".join("%s %.3g" % kv for kv in d["check"].items()))
        L.append("- nodes:")
        L.append("")
        L.append("  ```")
        L += ["  " + n for n in d["nodes"]]
        L.append("  ```")
        L.append("")
    with open(path, "w") as f:
        f.write("\n".join(L).rstrip() + "\n")


def main(only):
    os.makedirs(OUT, exist_ok=True)
    names = [c["name"] for c in make_graphs.CASES]
    unknown = set(only) - set(names)
    if unknown:
        sys.exit("no such case: %s" % ", ".join(sorted(unknown)))
    descs, failures = [], []
    for case in make_graphs.CASES:
        name = case["name"]
        if only and name not in only:
            continue
        tpath = os.path.join(HERE, name + ".json")
        if not os.path.exists(tpath):
            failures.append((name, "no trace %s.json" % name))
            continue
        trace = json.load(open(tpath))
        net = load_module(case, trace)
        jobs = [(k, False) for k in OPSETS]
        bn = any(isinstance(m, nn.modules.batchnorm._BatchNorm) for m in net.modules())
        if case.get("onnx_none"):
            failures.append(("%s.*.onnx" % name, "not written: " + case["onnx_none"]))
            continue
        if bn:
            # A case with batch normalization trains from exports made in
            # training mode (BatchNormalization with training_mode 1 and the
            # running statistics as initializers; in evaluation mode the
            # exporter folds a batch norm into the convolution before it),
            # with a static batch: torch 1.13 cannot export it dynamic.
            jobs = [(TRAINING_OPSET, "training"), (17, "training")]
            failures.append(("%s.opset%d.dynamic.onnx" % (name, DYNAMIC_OPSET),
                             "not written: torch 1.13 exports batch normalization in training mode with a static batch only"))
        elif case.get("onnx_inference_only"):
            failures.append(("%s.opset%d.dynamic.onnx" % (name, DYNAMIC_OPSET), "not written: " + case["onnx_inference_only"]))
        elif trace["batch"] is not None:
            jobs.append((DYNAMIC_OPSET, True))
        else:
            failures.append(("%s.opset%d.dynamic.onnx" % (name, DYNAMIC_OPSET),
                             "not written: the case has no batch axis (batch null), so there is no axis to make dynamic"))
        if any(isinstance(m, make_graphs.RecordedDropout) and m.p > 0 for m in net.modules()):
            jobs.append((TRAINING_OPSET, "training"))
        for opset, dynamic in jobs:
            fname = "%s.opset%d%s.onnx" % (name, opset, "." + dynamic if dynamic == "training" else ".dynamic" if dynamic else "")
            path = os.path.join(OUT, fname)
            try:
                if opset == 18:
                    warns = export(net, trace, path, 17, dynamic)
                    onnx.save(upgrade_to_18(onnx.load(path)), path)
                elif dynamic == "training":  # on a copy: a batch norm's export in training mode moves its statistics
                    warns = export(copy.deepcopy(net).train(), trace, path, opset, False, training=True)
                else:
                    warns = export(net, trace, path, opset, dynamic)
            except Exception as e:  # a case/opset that does not export: say why, go on
                why = "%s: %s" % (type(e).__name__, str(e).strip().splitlines()[0] if str(e).strip() else "")
                failures.append((fname, "export failed: " + why))
                print("== %s: EXPORT FAILED: %s" % (fname, why))
                if os.path.exists(path):
                    os.remove(path)
                continue
            d = describe(name, path, trace, net, warns)
            print_desc(d)
            descs.append(d)
    if not only:
        write_index(descs, failures, os.path.join(OUT, "INDEX.md"))
        print("wrote onnx/INDEX.md: %d files, %d not written" % (len(descs), len(failures)))
    else:
        print("(INDEX.md is only written when every case runs)")


if __name__ == "__main__":
    main(sys.argv[1:])
