#!/usr/bin/python3
"""Writes PyTorch reference traces of general graphs for nngen's parity tests.

The graph counterpart of ../reference/make_reference.py: each case is a `.nn`
source (without a `dtype` line: the test harness inserts `dtype float32` or
`dtype float64` after the `network` line) and a torch.nn.Module computing the
same function with the same state_dict names, trained for a few steps in
float64. The JSON records the source, the starting parameters
(float32-representable, so float32 and float64 runs start equal) and, per
step: inputs, targets, outputs, loss, gradients and parameters after the
update. See README.md for the format.

Before writing a trace the script checks it: every number finite, the loss
changing from step to step, no parameter whose gradient is zero at every
step, autograd's gradients against central differences, and the module
against a small independent interpreter of the `.nn` source (INTERP below),
which must give the same outputs, loss and gradients from the same
parameters and inputs.

Usage (from this folder): /usr/bin/python3 make_graphs.py [NAME ...]
Needs Debian's python3-torch (torch 1.13).
"""
import json, math, os, re, sys, types
import torch
import torch.nn as nn
import torch.nn.functional as F

torch.set_default_dtype(torch.float64)


# ---------------------------------------------------------------- modules

class ResidualMLP(nn.Module):
    def __init__(self):
        super().__init__()
        self.h1 = nn.Linear(6, 6)
        self.h2 = nn.Linear(6, 6)
        self.out = nn.Linear(6, 3)

    def forward(self, x):
        a1 = torch.relu(self.h1(x))
        h2 = self.h2(a1)
        r = torch.relu(x + h2)
        return self.out(r)


class SlicesGap(nn.Module):
    def __init__(self):
        super().__init__()
        self.h = nn.Linear(8, 48)
        self.u = nn.Linear(16, 3)

    def forward(self, x):
        h = self.h(x)
        a, b, c = h[:, 0:16], h[:, 24:40], h[:, 44:48]
        return self.u(torch.relu(a) * b) + c.mean(dim=-1, keepdim=True)


class LayerNormOps(nn.Module):
    def __init__(self):
        super().__init__()
        self.h = nn.Linear(8, 16)
        self.ln = nn.LayerNorm(16)  # eps 1e-5, elementwise affine: ln.weight, ln.bias
        self.out = nn.Linear(16, 4)

    def forward(self, x):
        y = self.ln(self.h(x))
        return self.out(F.gelu(y))


class LayerNormLayer(nn.Module):
    """nn.LayerNorm as a layer: over the last axis with a non-default eps,
    over the last two with a [4, 8] weight and bias, and without affine."""

    def __init__(self):
        super().__init__()
        self.h = nn.Linear(8, 8)
        self.ln1 = nn.LayerNorm(8, eps=1e-3)
        self.ln2 = nn.LayerNorm((4, 8))
        self.g = nn.Linear(8, 6)
        self.ln3 = nn.LayerNorm(6, elementwise_affine=False)
        self.out = nn.Linear(6, 5)

    def forward(self, x):                 # x: [B, 4, 8]
        a = torch.tanh(self.ln1(self.h(x)))
        return self.out(self.ln3(self.g(self.ln2(a))))


class RecordedDropout(nn.Module):
    """nn.Dropout(p) whose mask is drawn by torch.bernoulli from the case's
    generator and kept (in self.mask) until the step's end: equal in law
    to nn.Dropout (check_dropout below), and its masks go into the trace,
    for the harness to feed through the model's DropoutMasks hook. The
    finite differences reuse the step's mask."""

    def __init__(self, p):
        super().__init__()
        self.p, self.mask, self.gen = p, None, None

    def forward(self, x):
        if torch.onnx.is_in_onnx_export():  # nn.Dropout's own node, for export_onnx.py
            return F.dropout(x, self.p, self.training)
        if not self.training or self.p == 0:
            return x
        if self.p == 1:
            return x * 0  # as F.dropout
        if self.mask is None:
            self.mask = torch.bernoulli(torch.full_like(x, 1 - self.p), generator=self.gen)
        return x * self.mask / (1 - self.p)


class RecordedAttention(nn.Module):
    """nn.MultiheadAttention(E, H, dropout=p, batch_first=True) whose
    dropout of the attention weights (F.dropout inside
    F.multi_head_attention_forward) goes through a RecordedDropout,
    attn_dropout: a submodule without parameters, so the state_dict is
    nn.MultiheadAttention's. Called as self-attention, need_weights=False."""

    @staticmethod
    def wrap(mha, p):
        mha.add_module("attn_dropout", RecordedDropout(p))

        # A method bound to mha, so that copy.deepcopy (export_onnx.py's
        # copy in training mode) binds it to the copy.
        def recorded(self, *args, **kw):
            forward = type(self).forward
            if torch.onnx.is_in_onnx_export():  # F.dropout's own node, named after the module (export_onnx.py)
                return forward(self, *args, **kw)
            rd, saved = self.attn_dropout, F.dropout
            F.dropout = lambda x, p=0.5, training=True, inplace=False: rd(x) if training else x
            try:
                return forward(self, *args, **kw)
            finally:
                F.dropout = saved
        mha.forward = types.MethodType(recorded, mha)
        return mha


def causal_mask(n):
    """PyTorch's square subsequent mask: -inf above the diagonal."""
    return torch.triu(torch.full((n, n), float("-inf")), diagonal=1)


class MHA(nn.Module):
    def __init__(self, causal, padded=False):
        super().__init__()
        self.a = nn.MultiheadAttention(8, 2, batch_first=True)
        self.causal, self.padded = causal, padded

    def forward(self, x, m=None):   # x: [B, 5, 8]; m: [B, 5], 0 or -1e9 (ignore)
        n = x.shape[1]
        kpm = None if m is None else m < 0  # the bool key_padding_mask the float one stands for
        mask = causal_mask(n).to(x.dtype) if self.causal else None
        if mask is not None and kpm is not None:
            mask = mask < 0  # PyTorch 1.13 merges a bool key_padding_mask only with a bool attn_mask
        return self.a(x, x, x, attn_mask=mask, key_padding_mask=kpm, need_weights=False)[0]


class Encoder(nn.Module):
    def __init__(self, d, heads, ff, p, activation, norm_first, causal, pos=None):
        super().__init__()
        if pos is not None:  # a learned positional embedding: param pos[seq, d]
            self.pos = nn.Parameter(torch.zeros(pos, d))
        t = nn.TransformerEncoderLayer(d, heads, ff, p, activation=activation, batch_first=True, norm_first=norm_first)
        t.dropout, t.dropout1, t.dropout2 = RecordedDropout(p), RecordedDropout(p), RecordedDropout(p)
        RecordedAttention.wrap(t.self_attn, p)
        self.t = t
        self.out = nn.Linear(d, 3)
        self.causal = causal

    def forward(self, x):
        if hasattr(self, "pos"):
            x = x + self.pos
        mask = causal_mask(x.shape[1]).to(x.dtype) if self.causal else None
        return self.out(self.t(x, src_mask=mask))


class Encoder2Layers(nn.Module):
    """nn.TransformerEncoder of two post-norm relu layers, then a linear:
    its parameters are encoder.layers.0.self_attn.in_proj_weight ..., the
    names of the .nn layers encoder.layers.0 and encoder.layers.1. The
    key padding mask m is a float one (0, or -1e9 for a key ignored),
    which PyTorch adds to the scores as .nn does."""

    def __init__(self):
        super().__init__()
        layer = nn.TransformerEncoderLayer(8, 2, 16, 0.0, batch_first=True)
        self.encoder = nn.TransformerEncoder(layer, num_layers=2, enable_nested_tensor=False)
        self.out = nn.Linear(8, 3)

    def forward(self, x, m):
        return self.out(self.encoder(x, src_key_padding_mask=m))


def check_dropout():
    """F.dropout zeroes elements and scales the others by 1/(1-p), about p of them."""
    x = torch.rand(20000) + 1
    for p in (0.3, 0.5):
        y = F.dropout(x, p, training=True)
        kept = y != 0
        assert torch.allclose(y[kept], x[kept] / (1 - p), rtol=1e-12)
        assert abs(kept.double().mean().item() - (1 - p)) < 5 * (p * (1 - p) / x.numel()) ** 0.5
    assert torch.equal(F.dropout(x, 1.0, training=True), torch.zeros_like(x))
    assert torch.equal(F.dropout(x, 0.0, training=True), x)


class DropoutMLP(nn.Module):
    def __init__(self):
        super().__init__()
        self.h = nn.Linear(6, 8)
        self.d1 = RecordedDropout(0.3)
        self.g = nn.Linear(8, 8)
        self.d2 = RecordedDropout(0.5)
        self.d3 = RecordedDropout(1.0)
        self.d4 = RecordedDropout(0.0)
        self.out = nn.Linear(8, 3)

    def forward(self, x):
        a = self.d1(torch.relu(self.h(x)))
        b = torch.tanh(self.g(a))
        return self.out(self.d2(b) + self.d3(b) + self.d4(b))


class ActMLP(nn.Module):
    """x[5] -> linear 8 -> act -> linear 8 -> act -> linear 3."""

    def __init__(self, act):
        super().__init__()
        self.act = act
        self.l1 = nn.Linear(5, 8)
        self.l2 = nn.Linear(8, 8)
        self.out = nn.Linear(8, 3)

    def forward(self, x):
        a1 = self.act(self.l1(x))
        a2 = self.act(self.l2(a1))
        return self.out(a2)


class AutoEncoder(nn.Module):
    def __init__(self):
        super().__init__()
        self.e1 = nn.Linear(8, 5)
        self.code = nn.Linear(5, 2)
        self.d1 = nn.Linear(2, 5)
        self.recon = nn.Linear(5, 8)

    def forward(self, x):
        code = self.code(torch.tanh(self.e1(x)))
        recon = self.recon(torch.tanh(self.d1(code)))
        return recon, code


class ConcatBranches(nn.Module):
    def __init__(self):
        super().__init__()
        self.la = nn.Linear(6, 4)
        self.lb = nn.Linear(6, 3)
        self.out = nn.Linear(7, 3)

    def forward(self, x):
        a = torch.relu(self.la(x))
        b = torch.tanh(self.lb(x))
        c = torch.cat([a, b], dim=1)
        return self.out(c)


class TwoInputs(nn.Module):
    def __init__(self):
        super().__init__()
        self.hx = nn.Linear(5, 6)
        self.hc = nn.Linear(3, 6)
        self.out = nn.Linear(6, 2)

    def forward(self, x, c):
        h = torch.relu(self.hx(x) + self.hc(c))
        return self.out(h)


class SeqReduce(nn.Module):
    def __init__(self):
        super().__init__()
        self.h = nn.Linear(6, 8)
        self.out = nn.Linear(8, 3)

    def forward(self, x):          # x: [B, 4, 6]
        h = self.h(x)              # [B, 4, 8]
        m = torch.tanh(h).mean(dim=1)   # [B, 8]
        mx = torch.amax(h, dim=1)       # [B, 8]
        return self.out(m + mx)


class AttentionLike(nn.Module):
    def __init__(self):
        super().__init__()
        self.q = nn.Linear(4, 8)
        self.k = nn.Linear(4, 8)
        self.out = nn.Linear(20, 2)

    def forward(self, x):          # x: [B, 5, 4]
        q = self.q(x)
        k = self.k(x)
        s = torch.matmul(q, k.transpose(1, 2)) * 0.35   # [B, 5, 5]
        p = torch.softmax(s, dim=-1)
        o = torch.matmul(p, x)                          # [B, 5, 4]
        return self.out(torch.flatten(o, 1))            # [B, 20] -> [B, 2]


class MathOps(nn.Module):
    def __init__(self):
        super().__init__()
        # named_parameters() lists a module's own parameters before its
        # submodules', so the source declares shift and scale before h.
        self.shift = nn.Parameter(torch.zeros(6))
        self.scale = nn.Parameter(torch.ones(6))
        self.h = nn.Linear(6, 6)
        self.out = nn.Linear(6, 2)

    def forward(self, x):
        h = self.h(x)
        e = torch.exp(h * 0.5)
        l = torch.log(torch.sigmoid(h) + 0.5)
        q = torch.sqrt(e + torch.abs(h))
        r = torch.reciprocal(torch.abs(h) + 1)
        c = torch.clamp(h, min=-0.5, max=0.8)
        p = torch.pow(torch.tanh(h), 3.0)
        u = (q - self.shift) / self.scale + torch.neg(l) * r + c * p
        s = torch.sum(u, dim=1, keepdim=True)
        v = u - s / 6
        return self.out(v)


class BufferScale(nn.Module):
    def __init__(self):
        super().__init__()
        # state_dict() lists a module's own parameters, then its own
        # buffers, then its submodules': the source declares the buffers
        # before h and out.
        self.register_buffer("scale", torch.ones(6))
        self.register_buffer("shift", torch.zeros(6))
        self.h = nn.Linear(5, 6)
        self.out = nn.Linear(6, 3)

    def forward(self, x):
        return self.out(torch.tanh(self.h(x) * self.scale + self.shift))


class BatchNormNet(nn.Module):
    """BatchNorm2d; BatchNorm1d on [B, C, L] without affine; on [B, C]
    with momentum=None; and without running statistics."""
    def __init__(self):
        super().__init__()
        self.c1 = nn.Conv2d(2, 4, 3, bias=False)  # a bias before a batch norm would have a gradient of 0 (rounding)
        self.bn1 = nn.BatchNorm2d(4)
        self.bn2 = nn.BatchNorm1d(4, eps=1e-3, momentum=0.2, affine=False)
        self.h = nn.Linear(64, 8, bias=False)
        self.bn3 = nn.BatchNorm1d(8, momentum=None)
        self.bn4 = nn.BatchNorm1d(8, track_running_stats=False)
        self.out = nn.Linear(8, 3)

    def forward(self, x):                 # x: [B, 2, 6, 6]
        r1 = torch.relu(self.bn1(self.c1(x)))
        bn2 = self.bn2(r1.reshape(r1.shape[0], 4, 16))
        t = torch.tanh(self.bn3(self.h(torch.flatten(bn2, 1))))
        return self.out(self.bn4(t))


class BatchNormONNX(nn.Module):
    """BatchNorm2d after a convolution, BatchNorm1d with momentum 0.2 and
    one without running statistics: what torch.onnx.export writes in
    training mode (momentum=None does not survive an export)."""
    def __init__(self):
        super().__init__()
        self.c1 = nn.Conv2d(2, 3, 3, bias=False)  # a bias before a batch norm would have a gradient of 0 (rounding)
        self.bn1 = nn.BatchNorm2d(3)
        self.h = nn.Linear(27, 6, bias=False)
        self.bn2 = nn.BatchNorm1d(6, momentum=0.2)
        self.bn3 = nn.BatchNorm1d(6, track_running_stats=False)
        self.out = nn.Linear(6, 2)

    def forward(self, x):                 # x: [B, 2, 5, 5]
        r1 = torch.relu(self.bn1(self.c1(x)))
        t = torch.tanh(self.bn2(self.h(torch.flatten(r1, 1))))
        return self.out(self.bn3(t))


class MovementOps(nn.Module):
    def __init__(self):
        super().__init__()
        self.h = nn.Linear(6, 6)
        self.out = nn.Linear(28, 3)

    def forward(self, x):                       # x: [B, 4, 6]
        B = x.shape[0]
        h = self.h(x)                           # [B, 4, 6]
        r = h.reshape(B, 6, 4)                  # [B, 6, 4]
        p = r.permute(0, 2, 1)                  # [B, 4, 6]
        s = p[:, :, 1:5]                        # [B, 4, 4]
        m = torch.amax(s, dim=2)                # [B, 4]
        d = s - m.unsqueeze(2)                  # [B, 4, 4]
        ls = F.log_softmax(d, dim=1)            # over axis 1, not the last
        a = ls[:, :, 0:3]                       # [B, 4, 3]
        b = ls[:, :, 1:4]                       # [B, 4, 3], overlapping a
        c = torch.cat([a, b], dim=1)            # [B, 8, 3]
        s1, s2, s3 = torch.split(s, [1, 2, 1], dim=2)  # [B, 4, 1], [B, 4, 2], [B, 4, 1]
        q1, q2 = torch.chunk(s2, 2, dim=2)      # [B, 4, 1] each
        k = (s3 + q1 * q2 - s1).squeeze(2)      # [B, 4]
        f = torch.cat([torch.flatten(c, 1), k], dim=1)  # [B, 28]
        return self.out(f)


class SmallCNN(nn.Module):
    """conv2d with padding, relu, a strided and dilated conv2d in two groups,
    flatten, a conv1d over the rows as channels, linear: the convolutions'
    options in both dimensions."""
    def __init__(self):
        super().__init__()
        self.c1 = nn.Conv2d(2, 4, 3, padding=1)
        self.c2 = nn.Conv2d(4, 6, (3, 2), stride=2, dilation=(1, 2), groups=2)
        self.c3 = nn.Conv1d(6, 5, 2, bias=False)
        self.out = nn.Linear(5 * 1, 3)

    def forward(self, x):                 # x: [B, 2, 7, 6]
        h = torch.tanh(self.c1(x))        # [B, 4, 7, 6]
        g = torch.relu(self.c2(h))        # [B, 6, 3, 2]
        r = g.reshape(g.shape[0], 6, 6)   # [B, 6, 6]: the rows as a sequence of 6 channels
        s = torch.tanh(self.c3(r[:, :, 0:3]))  # [B, 5, 2]
        return self.out(s[:, :, 1])       # [B, 3]


class SmallPool(nn.Module):
    """max and average pooling in 2-D and 1-D with strides, padding and
    dilation, and global average pooling, between convolutions."""
    def __init__(self):
        super().__init__()
        self.c1 = nn.Conv2d(1, 4, 3, padding=1)
        self.c2 = nn.Conv2d(4, 6, 2)
        self.out = nn.Linear(18, 3)

    def forward(self, x):                                      # x: [B, 1, 9, 8]
        p1 = F.max_pool2d(torch.relu(self.c1(x)), 2)             # [B, 4, 4, 4]
        h2 = torch.tanh(self.c2(p1))                             # [B, 6, 3, 3]
        p2 = F.avg_pool2d(h2, kernel_size=2, stride=1, padding=1)  # [B, 6, 4, 4]
        p3 = F.max_pool2d(p2, kernel_size=2, stride=1, padding=1, dilation=2)  # [B, 6, 4, 4]
        g = torch.flatten(F.adaptive_avg_pool2d(p3, 1), 1)       # [B, 6]
        r = p3.reshape(p3.shape[0], 6, 16)
        a = F.avg_pool1d(F.max_pool1d(r, 4), kernel_size=2, stride=2)  # [B, 6, 2]
        return self.out(torch.cat([g, torch.flatten(a, 1)], dim=1))


class ConvOptions(nn.Module):
    """The convolutions' and poolings' options that conv_small and pool_small
    leave out: conv1d with a stride, integer padding, `same` padding with a
    dilation, a dilation alone, no bias; conv2d with `same` padding, a
    depthwise convolution (groups = in channels, 2 filters each), tuple
    stride and padding, `valid` padding; max_pool1d with padding and
    dilation, avg_pool1d with padding (count_include_pad), max_pool2d with
    a stride other than the kernel (its last window cut off), avg_pool2d
    with a tuple kernel, adaptive_avg_pool1d. Every branch reaches the
    loss through one linear layer.

    The module writes the source's `padding=same` and `padding=valid` as
    the paddings they stand for (2 for a2's kernel 3 at dilation 2, 1 for
    b1's 3x3, 0 for b3): torch 1.13's ONNX exporter cannot export a string
    padding (aten::_convolution_mode). The interpreter below runs the
    source with F.conv1d/F.conv2d(..., padding="same" or "valid") and must
    agree with the module at every step, so the trace is PyTorch's `same`
    and `valid` all the same."""
    def __init__(self):
        super().__init__()
        self.a1 = nn.Conv1d(3, 4, 3, stride=2, padding=1)
        self.a2 = nn.Conv1d(4, 4, 3, padding=2, dilation=2, bias=False)      # padding="same"
        self.a3 = nn.Conv1d(3, 3, 2, dilation=3, bias=False)
        self.b1 = nn.Conv2d(4, 8, 3, padding=1, groups=4)                    # padding="same"
        self.b2 = nn.Conv2d(8, 4, (3, 2), stride=(2, 1), padding=(1, 0), bias=False)
        self.b3 = nn.Conv2d(4, 3, (2, 3), padding=0)                         # padding="valid"
        self.out = nn.Linear(59, 3)

    def forward(self, s, x):                      # s: [B, 3, 10], x: [B, 4, 8, 8]
        h1 = torch.tanh(self.a1(s))                 # [B, 4, 5]
        h2 = torch.tanh(self.a2(h1))                # [B, 4, 5]
        p1 = F.avg_pool1d(h2, kernel_size=3, stride=2, padding=1)  # [B, 4, 3]
        g1 = F.adaptive_avg_pool1d(h2, 1)           # [B, 4, 1]
        h3 = self.a3(s)                             # [B, 3, 7]
        m1 = F.max_pool1d(h3, kernel_size=3, stride=2, padding=1, dilation=2)  # [B, 3, 3]
        d1 = torch.tanh(self.b1(x))                 # [B, 8, 8, 8]
        d2 = torch.tanh(self.b2(d1))                # [B, 4, 4, 7]
        q2 = F.avg_pool2d(d2, kernel_size=(2, 3))   # [B, 4, 2, 2]
        d3 = self.b3(x)                             # [B, 3, 7, 6]
        q1 = F.max_pool2d(d3, kernel_size=3, stride=2)  # [B, 3, 3, 2]
        z = torch.cat([torch.flatten(p1, 1), torch.flatten(g1, 1), torch.flatten(m1, 1),
                       torch.flatten(q2, 1), torch.flatten(q1, 1)], dim=1)  # [B, 12 + 4 + 9 + 16 + 18]
        return self.out(z)


# LeNet's image side, and the positions per channel that its flatten gives
# (side -> conv1, padding 2: side -> pool: side/2 -> conv2: side/2 - 4 ->
# pool: (side/2 - 4)/2). MNIST's 28 makes fc1 400 -> 120 and the network
# 61,706 parameters: a trace of 7.6 MB even with batch 2 and 2 steps, and
# the float64 package's finite differences (two Backward calls per
# parameter element and step) would take some 12 minutes. 16 (fc1 64 ->
# 120, 21,386 parameters) writes 2.6 MB and takes 57 s in the float64
# package; 12 (fc1 16 -> 120, 15,626 parameters) 1.9 MB and 18 s.
LENET_SIZE = 12
LENET_FLAT = ((LENET_SIZE // 2 - 4) // 2) ** 2


class LeNet(nn.Module):
    """LeNet-5 as PyTorch's tutorials write it for MNIST (conv 5x5 padding 2,
    relu, max pool 2, conv 5x5, relu, max pool 2, flatten, 120, 84, 10),
    on a smaller image: see LENET_SIZE."""
    def __init__(self):
        super().__init__()
        self.conv1 = nn.Conv2d(1, 6, 5, padding=2)
        self.conv2 = nn.Conv2d(6, 16, 5)
        self.fc1 = nn.Linear(16 * LENET_FLAT, 120)
        self.fc2 = nn.Linear(120, 84)
        self.fc3 = nn.Linear(84, 10)

    def forward(self, x):
        x = F.max_pool2d(F.relu(self.conv1(x)), 2)
        x = F.max_pool2d(F.relu(self.conv2(x)), 2)
        x = torch.flatten(x, 1)
        x = F.relu(self.fc1(x))
        x = F.relu(self.fc2(x))
        return self.fc3(x)


class EmbeddingPadding(nn.Module):
    def __init__(self):
        super().__init__()
        self.emb = nn.Embedding(8, 4, padding_idx=1)
        self.h = nn.Linear(24, 5)
        self.out = nn.Linear(5, 3)

    def forward(self, tokens):
        f = torch.flatten(self.emb(tokens), 1)
        return self.out(torch.tanh(self.h(f)))


class EmbeddingBag(nn.Module):
    def __init__(self):
        super().__init__()
        self.bm = nn.EmbeddingBag(10, 4, mode="mean", padding_idx=0)
        self.bs = nn.EmbeddingBag(10, 3, mode="sum")
        self.out = nn.Linear(7, 3)

    def forward(self, tokens):
        return self.out(torch.cat([self.bm(tokens), self.bs(tokens)], dim=1))


class EmbeddingBagOnnx(nn.Module):
    """nn.EmbeddingBag in modes mean and sum without padding_idx, which
    torch.onnx.export writes as a Loop over the bags (and nngen's ONNX
    front end lowers to embedding_bag)."""
    def __init__(self):
        super().__init__()
        self.bm = nn.EmbeddingBag(10, 4, mode="mean")
        self.bs = nn.EmbeddingBag(10, 3, mode="sum")
        self.out = nn.Linear(7, 3)

    def forward(self, tokens):
        return self.out(torch.cat([self.bm(tokens), self.bs(tokens)], dim=1))


class EmbeddingMean(nn.Module):
    """nn.EmbeddingBag(12, 6, mode="mean") written as an Embedding and a
    mean over the sequence, which torch.onnx.export turns into Gather and
    ReduceMean (it exports EmbeddingBag itself as a Loop, and not at all
    with padding_idx)."""
    def __init__(self):
        super().__init__()
        self.emb = nn.Embedding(12, 6)
        self.out = nn.Linear(6, 3)

    def forward(self, tokens):
        return self.out(torch.relu(self.emb(tokens).mean(dim=1)))


class LossMLP(nn.Module):
    """x[n_in] -> linear hidden -> tanh -> linear n_out "out", and with
    log_softmax its log-probabilities over the classes (for nll_loss)."""
    def __init__(self, n_in, hidden, n_out, log_softmax=False):
        super().__init__()
        self.h = nn.Linear(n_in, hidden)
        self.out = nn.Linear(hidden, n_out)
        self.log_softmax = log_softmax

    def forward(self, x):
        out = self.out(torch.tanh(self.h(x)))
        return F.log_softmax(out, dim=1) if self.log_softmax else out


# ---------------------------------------------------------------- cases

class GRU1(nn.Module):
    def __init__(self):
        super().__init__()
        self.rnn = nn.GRU(4, 6, batch_first=True)
        self.y = nn.Linear(6, 3)

    def forward(self, x):                  # x: [B, 5, 4]
        seq, h = self.rnn(x)
        return self.y(seq), h.transpose(0, 1)   # .nn's states are batch first with batch_first


class GRU2(nn.Module):
    def __init__(self):
        super().__init__()
        self.rnn = nn.GRU(3, 5, num_layers=2, batch_first=True)
        self.y = nn.Linear(15, 3)

    def forward(self, x, h0):              # x: [B, 6, 3], h0: [B, 2, 5] (batch first, as every .nn input)
        seq, h = self.rnn(x, h0.transpose(0, 1).contiguous())
        return self.y(torch.cat([seq.mean(dim=1), torch.flatten(h.transpose(0, 1), 1)], dim=1))


class LSTM1(nn.Module):
    def __init__(self):
        super().__init__()
        self.rnn = nn.LSTM(4, 7, batch_first=True, bias=False)
        self.y = nn.Linear(7, 4)

    def forward(self, x):                  # x: [B, 5, 4]
        seq, (h, c) = self.rnn(x)
        return self.y(seq.mean(dim=1)), h.transpose(0, 1), c.transpose(0, 1)


class LSTM2(nn.Module):
    def __init__(self):
        super().__init__()
        self.rnn = nn.LSTM(3, 5, num_layers=2, batch_first=True)
        self.y = nn.Linear(15, 4)

    def forward(self, x, h0, c0):          # x: [B, 4, 3]; h0, c0: [B, 2, 5] (batch first)
        seq, (h, c) = self.rnn(x, (h0.transpose(0, 1).contiguous(), c0.transpose(0, 1).contiguous()))
        z = torch.cat([seq.mean(dim=1), torch.flatten((h + c).transpose(0, 1), 1)], dim=1)
        return self.y(z)


class LSTMUnbatched(nn.Module):
    def __init__(self):
        super().__init__()
        self.rnn = nn.LSTM(3, 5, batch_first=True)
        self.y = nn.Linear(10, 2)

    def forward(self, x, h0, c0):          # one sample: x [4, 3]; h0, c0 [1, 5] (PyTorch's unbatched layout)
        seq, (h, c) = self.rnn(x, (h0, c0))
        return self.y(torch.cat([seq.mean(dim=0), torch.flatten(h + c)], dim=0))


class GRUBidirectional(nn.Module):
    def __init__(self):
        super().__init__()
        self.rnn = nn.GRU(4, 4, num_layers=2, batch_first=True, bidirectional=True)
        self.y = nn.Linear(24, 3)

    def forward(self, x, h0):              # x: [B, 5, 4], h0: [B, 4, 4] (batch first: l0, l0 reverse, l1, l1 reverse)
        seq, h = self.rnn(x, h0.transpose(0, 1).contiguous())
        return self.y(torch.cat([seq.mean(dim=1), torch.flatten(h.transpose(0, 1), 1)], dim=1))


class LSTMBidirectional(nn.Module):
    def __init__(self):
        super().__init__()
        self.rnn = nn.LSTM(3, 5, batch_first=True, bidirectional=True)
        self.y = nn.Linear(10, 4)

    def forward(self, x):                  # x: [B, 6, 3]
        seq, (h, c) = self.rnn(x)
        return self.y(seq[:, -1] + torch.flatten((h + c).transpose(0, 1), 1))


def mse(y, t):
    return F.mse_loss(y, t)


ACT_SOURCE = """network {net}
batch 4
input x[5]
l1 = linear(x, 8)
a1 = {act}(l1{extra})
l2 = linear(a1, 8)
a2 = {act}(l2{extra})
out = linear(a2, 3)
output out
loss mse(out, target[3])
optimizer sgd(lr=0.1)
"""

ACTS = [  # name, .nn op, extra .nn arguments, PyTorch, input range, weight scale
    ("silu", "silu", "", F.silu, 2.0, {"l1": 2.0, "l2": 2.0}),
    ("elu", "elu", ", alpha=0.7", lambda z: F.elu(z, alpha=0.7), 2.0, {"l1": 2.0, "l2": 2.0}),
    ("softplus", "softplus", "", F.softplus, 2.0, {"l1": 2.0, "l2": 2.0}),
    ("mish", "mish", "", F.mish, 2.0, {"l1": 2.0, "l2": 2.0}),
    # The hard ones: pre-activations on both sides of -3 and 3 in both layers.
    ("hardswish", "hardswish", "", F.hardswish, 4.0, {"l1": 2.0, "l2": 3.0}),
    ("hardsigmoid", "hardsigmoid", "", F.hardsigmoid, 4.0, {"l1": 2.0, "l2": 8.0}),
    ("softsign", "softsign", "", F.softsign, 2.0, {"l1": 2.0, "l2": 2.0}),
]

RESIDUAL_SOURCE = """network {net}
{batch}input x[6]
h1 = linear(x, 6)
a1 = relu(h1)
h2 = linear(a1, 6)
r = relu(x + h2)
out = linear(r, 3)
output out
loss mse(out, target[3])
optimizer sgd(lr=0.1, momentum=0.9)
"""

CASES = [
    {"name": "residual_mlp",
     "description": "x[6] -> linear 6 -> relu -> linear 6 -> relu(x + h2) (a residual) -> linear 3; MSE; SGD momentum 0.9; batch 4.",
     "source": RESIDUAL_SOURCE.format(net="ResidualMLP", batch="batch 4\n"),
     "module": ResidualMLP, "batch": 4, "inputs": {"x": [6]},
     "outputs": ["out"], "targets": {"target": [3]},
     "loss": lambda o, i, t: mse(o["out"], t["target"]),
     "optimizer": lambda p: torch.optim.SGD(p, lr=0.1, momentum=0.9),
     "seed": 101},
    {"name": "slices_gap",
     "description": "x[8] -> linear 48 -> three slices of it, [0:16], [24:40] and [44:48], leaving gaps -> linear 3 of relu(a)·b plus the mean of the third; MSE; SGD; batch 4. The linear's gradient is the sum of the slices' gradients, written straight into it (codegen's assemblies: zeros in the gaps, rows of 16 and elements of the third).",
     "source": """network SlicesGap
batch 4
input x[8]
h = linear(x, 48)
a = slice(h, dim=1, start=0, end=16)
b = slice(h, dim=1, start=24, end=40)
c = slice(h, dim=1, start=44, end=48)
s = relu(a) * b
u = linear(s, 3)
y = u + mean(c, dim=-1, keepdim=true)
output y
loss mse(y, target[3])
optimizer sgd(lr=0.1)
""",
     "module": SlicesGap, "batch": 4, "inputs": {"x": [8]},
     "outputs": ["y"], "targets": {"target": [3]},
     "loss": lambda o, i, t: mse(o["y"], t["target"]),
     "optimizer": lambda p: torch.optim.SGD(p, lr=0.1),
     "seed": 977},
    {"name": "residual_unbatched",
     "description": "residual_mlp without a batch line: one sample, no batch axis.",
     "source": RESIDUAL_SOURCE.format(net="ResidualUnbatched", batch=""),
     "module": ResidualMLP, "batch": None, "inputs": {"x": [6]},
     "outputs": ["out"], "targets": {"target": [3]},
     "loss": lambda o, i, t: mse(o["out"], t["target"]),
     "optimizer": lambda p: torch.optim.SGD(p, lr=0.1, momentum=0.9),
     "seed": 102},
    {"name": "layernorm_ops",
     "description": "x[8] -> linear 16 -> LayerNorm over the last axis written as ops (nn.LayerNorm(16) named ln in PyTorch) -> gelu -> linear 4; MSE; Adam lr 0.01; batch 4.",
     "source": """network LayerNormOps
batch 4
input x[8]
h = linear(x, 16)
param ln.weight[16] = ones
param ln.bias[16] = zeros
mu = mean(h, dim=-1, keepdim=true)
d = h - mu
variance = mean(d * d, dim=-1, keepdim=true)
n = d / sqrt(variance + 1e-5)
y = n * ln.weight + ln.bias
g = gelu(y)
out = linear(g, 4)
output out
loss mse(out, target[4])
optimizer adam(lr=0.01)
""",
     "module": LayerNormOps, "batch": 4, "inputs": {"x": [8]},
     "outputs": ["out"], "targets": {"target": [4]},
     "loss": lambda o, i, t: mse(o["out"], t["target"]),
     "optimizer": lambda p: torch.optim.Adam(p, lr=0.01),
     # Starting values near the declared ones and zeros, but not equal to
     # them, so that the scale and shift are really exercised.
     "init": {"ln.weight": (0.5, 1.5), "ln.bias": (-0.5, 0.5)},
     "seed": 103},
    {"name": "layernorm_layer",
     "description": "x[4, 8] -> linear 8 -> layer_norm over the last axis (eps 1e-3) -> tanh -> layer_norm over the last two axes -> linear 6 -> layer_norm without weight and bias -> linear 5; MSE; SGD lr 0.1; batch 3.",
     "source": """network LayerNormLayer
batch 3
input x[4, 8]
h = linear(x, 8)
ln1 = layer_norm(h, 8, eps=1e-3)
a = tanh(ln1)
ln2 = layer_norm(a, (4, 8))
g = linear(ln2, 6)
ln3 = layer_norm(g, 6, elementwise_affine=false)
out = linear(ln3, 5)
output out
loss mse(out, target[4, 5])
optimizer sgd(lr=0.1)
""",
     "module": LayerNormLayer, "batch": 3, "inputs": {"x": [4, 8]},
     "outputs": ["out"], "targets": {"target": [4, 5]},
     "loss": lambda o, i, t: mse(o["out"], t["target"]),
     "optimizer": lambda p: torch.optim.SGD(p, lr=0.1),
     "init": {"ln1.weight": (0.5, 1.5), "ln1.bias": (-0.5, 0.5), "ln2.weight": (0.5, 1.5), "ln2.bias": (-0.5, 0.5)},
     "seed": 104},
    {"name": "dropout_mlp",
     "description": "x[6] -> linear 8 -> relu -> dropout 0.3 -> linear 8 -> tanh -> dropout 0.5 + dropout 1.0 + dropout 0 of it -> linear 3; MSE; SGD momentum 0.9; batch 4; the third step in evaluation mode. The masks are PyTorch's (torch.bernoulli), recorded per step.",
     "source": """network DropoutMLP
batch 4
input x[6]
h = linear(x, 8)
a = relu(h)
d1 = dropout(a, p=0.3)
g = linear(d1, 8)
b = tanh(g)
d2 = dropout(b)
d3 = dropout(b, 1.0)
d4 = dropout(b, p=0)
s = d2 + d3 + d4
out = linear(s, 3)
output out
loss mse(out, target[3])
optimizer sgd(lr=0.1, momentum=0.9)
""",
     "module": DropoutMLP, "batch": 4, "inputs": {"x": [6]},
     "outputs": ["out"], "targets": {"target": [3]},
     "loss": lambda o, i, t: mse(o["out"], t["target"]),
     "optimizer": lambda p: torch.optim.SGD(p, lr=0.1, momentum=0.9),
     "train": [True, True, False, True], "steps": 4,
     "seed": 105},
]

for i, (name, op, extra, fn, rng, wscale) in enumerate(ACTS):
    CASES.append({
        "name": "act_" + name,
        "description": "x[5] -> linear 8 -> %s -> linear 8 -> %s -> linear 3; MSE; SGD lr 0.1; batch 4; inputs in [-%g, %g]; l1's and l2's starting values %g and %g times the usual bound." % (
            op + extra.replace(", ", "(") + (")" if extra else ""), op, rng, rng, wscale["l1"], wscale["l2"]),
        "source": ACT_SOURCE.format(net="Act" + name.capitalize(), act=op, extra=extra),
        "module": (lambda fn=fn: ActMLP(fn)), "batch": 4, "inputs": {"x": [5]},
        "outputs": ["out"], "targets": {"target": [3]},
        "loss": lambda o, i, t: mse(o["out"], t["target"]),
        "optimizer": lambda p: torch.optim.SGD(p, lr=0.1),
        "input_range": rng, "weight_scale": wscale,
        "seed": 110 + i})

CASES += [
    {"name": "autoencoder_two_outputs",
     "description": "x[8] -> linear 5 -> tanh -> code (linear 2) -> linear 5 -> tanh -> recon (linear 8); output recon, code; loss mse(recon, x) + 0.5 * mse(code, code_target); Adam lr 0.01; batch 4.",
     "source": """network AutoEncoder
batch 4
input x[8]
e1 = linear(x, 5)
t1 = tanh(e1)
code = linear(t1, 2)
d1 = linear(code, 5)
t2 = tanh(d1)
recon = linear(t2, 8)
output recon, code
loss mse(recon, x) + 0.5 * mse(code, code_target[2])
optimizer adam(lr=0.01)
""",
     "module": AutoEncoder, "batch": 4, "inputs": {"x": [8]},
     "outputs": ["recon", "code"], "targets": {"code_target": [2]},
     "loss": lambda o, i, t: mse(o["recon"], i["x"]) + 0.5 * mse(o["code"], t["code_target"]),
     "optimizer": lambda p: torch.optim.Adam(p, lr=0.01),
     "seed": 120},
    {"name": "concat_branches",
     "description": "x[6]; a = relu(linear 4), b = tanh(linear 3), both of x; cat(a, b, dim=1) -> linear 3; cross-entropy with class indices; SGD lr 0.1; batch 5.",
     "source": """network ConcatBranches
batch 5
input x[6]
la = linear(x, 4)
a = relu(la)
lb = linear(x, 3)
b = tanh(lb)
c = cat(a, b, dim=1)
out = linear(c, 3)
output out
loss cross_entropy(out, label)
optimizer sgd(lr=0.1)
""",
     "module": ConcatBranches, "batch": 5, "inputs": {"x": [6]},
     "outputs": ["out"], "targets": {"label": "classes"},
     "loss": lambda o, i, t: F.cross_entropy(o["out"], t["label"]),
     "optimizer": lambda p: torch.optim.SGD(p, lr=0.1),
     "seed": 121},
    {"name": "two_inputs",
     "description": "inputs x[5] and c[3]; h = relu(linear(x, 6) + linear(c, 6)) -> linear 2; MSE; SGD lr 0.1; batch 4.",
     "source": """network TwoInputs
batch 4
input x[5]
input c[3]
hx = linear(x, 6)
hc = linear(c, 6)
h = relu(hx + hc)
out = linear(h, 2)
output out
loss mse(out, target[2])
optimizer sgd(lr=0.1)
""",
     "module": TwoInputs, "batch": 4, "inputs": {"x": [5], "c": [3]},
     "outputs": ["out"], "targets": {"target": [2]},
     "loss": lambda o, i, t: mse(o["out"], t["target"]),
     "optimizer": lambda p: torch.optim.SGD(p, lr=0.1),
     "seed": 122},
    {"name": "seq_reduce",
     "description": "x[4, 6] ([B, 4, 6]); h = linear(x, 8) on the last axis; mean(tanh(h), dim=1) + max(h, dim=1) (amax) -> linear 3; MSE; SGD lr 0.1; batch 3.",
     "source": """network SeqReduce
batch 3
input x[4, 6]
h = linear(x, 8)
a = tanh(h)
m = mean(a, dim=1)
mx = max(h, dim=1)
z = m + mx
out = linear(z, 3)
output out
loss mse(out, target[3])
optimizer sgd(lr=0.1)
""",
     "module": SeqReduce, "batch": 3, "inputs": {"x": [4, 6]},
     "outputs": ["out"], "targets": {"target": [3]},
     "loss": lambda o, i, t: mse(o["out"], t["target"]),
     "optimizer": lambda p: torch.optim.SGD(p, lr=0.1),
     "seed": 123},
    {"name": "attention_like",
     "description": "x[5, 4]; q, k = linear(x, 8); p = softmax(q k^T * 0.35, dim=-1); o = p x; flatten -> linear 2; MSE; SGD lr 0.1; batch 3.",
     "source": """network AttentionLike
batch 3
input x[5, 4]
q = linear(x, 8)
k = linear(x, 8)
s = matmul(q, transpose(k, 1, 2)) * 0.35
p = softmax(s, dim=-1)
o = matmul(p, x)
f = flatten(o)
out = linear(f, 2)
output out
loss mse(out, target[2])
optimizer sgd(lr=0.1)
""",
     "module": AttentionLike, "batch": 3, "inputs": {"x": [5, 4]},
     "outputs": ["out"], "targets": {"target": [2]},
     "loss": lambda o, i, t: mse(o["out"], t["target"]),
     "optimizer": lambda p: torch.optim.SGD(p, lr=0.1),
     "input_range": 2.0,
     "seed": 124},
    {"name": "conv_small",
     "description": "x[2, 7, 6] -> conv2d 4 (3x3, padding 1) -> tanh -> conv2d 6 ((3, 2), stride 2, dilation (1, 2), 2 groups) -> relu -> reshape(6, 6) -> conv1d 5 (kernel 2, no bias) over the first 3 -> tanh -> linear 3 on its second position; MSE; SGD momentum 0.9; batch 3, steps of 3, 1 and 2 samples.",
     "source": """network SmallCNN
batch 3
input x[2, 7, 6]
c1 = conv2d(x, 4, kernel=3, padding=1)
h = tanh(c1)
c2 = conv2d(h, 6, kernel=(3, 2), stride=2, dilation=(1, 2), groups=2)
g = relu(c2)
r = reshape(g, 6, 6)
q = slice(r, dim=2, start=0, end=3)
c3 = conv1d(q, 5, kernel=2, bias=false)
s = tanh(c3)
t = squeeze(slice(s, dim=2, start=1, end=2), 2)
out = linear(t, 3)
output out
loss mse(out, target[3])
optimizer sgd(lr=0.1, momentum=0.9)
""",
     "module": SmallCNN, "batch": 3, "sizes": [3, 1, 2], "inputs": {"x": [2, 7, 6]},
     "outputs": ["out"], "targets": {"target": [3]},
     "loss": lambda o, i, t: mse(o["out"], t["target"]),
     "optimizer": lambda p: torch.optim.SGD(p, lr=0.1, momentum=0.9),
     "seed": 151},
    {"name": "pool_small",
     "description": "x[1, 9, 8] -> conv2d 4 (3x3, padding 1) -> relu -> max_pool2d 2 -> conv2d 6 (2x2) -> tanh -> avg_pool2d (2, stride 1, padding 1) -> max_pool2d (2, stride 1, padding 1, dilation 2) -> adaptive_avg_pool2d 1, and reshape(6, 16) -> max_pool1d 4 -> avg_pool1d (2, stride 2) -> cat -> linear 3; MSE; Adam lr 0.01; batch 4, steps of 4, 2 and 1 samples.",
     "source": """network SmallPool
batch 4
input x[1, 9, 8]
c1 = conv2d(x, 4, kernel=3, padding=1)
p1 = max_pool2d(relu(c1), 2)
c2 = conv2d(p1, 6, kernel=2)
h2 = tanh(c2)
p2 = avg_pool2d(h2, kernel=2, stride=1, padding=1)
p3 = max_pool2d(p2, kernel=2, stride=1, padding=1, dilation=2)
g = flatten(adaptive_avg_pool2d(p3, 1))
r = reshape(p3, 6, 16)
a = avg_pool1d(max_pool1d(r, 4), kernel=2, stride=2)
z = cat(g, flatten(a), dim=1)
out = linear(z, 3)
output out
loss mse(out, target[3])
optimizer adam(lr=0.01)
""",
     "module": SmallPool, "batch": 4, "sizes": [4, 2, 1], "inputs": {"x": [1, 9, 8]},
     "outputs": ["out"], "targets": {"target": [3]},
     "loss": lambda o, i, t: mse(o["out"], t["target"]),
     "optimizer": lambda p: torch.optim.Adam(p, lr=0.01),
     "seed": 152},
    {"name": "conv_options",
     "description": "s[3, 10] and x[4, 8, 8]: conv1d 4 (3, stride 2, padding 1) -> tanh -> conv1d 4 (3, padding same, dilation 2, no bias) -> tanh -> avg_pool1d (3, stride 2, padding 1) and adaptive_avg_pool1d 1; conv1d 3 (2, dilation 3, no bias) of s -> max_pool1d (3, stride 2, padding 1, dilation 2); depthwise conv2d 8 (3x3, padding same, 4 groups) of x -> tanh -> conv2d 4 ((3, 2), stride (2, 1), padding (1, 0), no bias) -> tanh -> avg_pool2d (2, 3); conv2d 3 ((2, 3), padding valid) of x -> max_pool2d (3, stride 2); flatten each, cat -> linear 3; MSE; SGD momentum 0.9; batch 3, full batches.",
     "source": """network ConvOptions
batch 3
input s[3, 10]
input x[4, 8, 8]
a1 = conv1d(s, 4, kernel=3, stride=2, padding=1)
h1 = tanh(a1)
a2 = conv1d(h1, 4, kernel=3, padding=same, dilation=2, bias=false)
h2 = tanh(a2)
p1 = avg_pool1d(h2, kernel=3, stride=2, padding=1)
g1 = adaptive_avg_pool1d(h2, 1)
a3 = conv1d(s, 3, kernel=2, dilation=3, bias=false)
m1 = max_pool1d(a3, kernel=3, stride=2, padding=1, dilation=2)
b1 = conv2d(x, 8, kernel=3, padding=same, groups=4)
d1 = tanh(b1)
b2 = conv2d(d1, 4, kernel=(3, 2), stride=(2, 1), padding=(1, 0), bias=false)
d2 = tanh(b2)
q2 = avg_pool2d(d2, kernel=(2, 3))
b3 = conv2d(x, 3, kernel=(2, 3), padding=valid)
q1 = max_pool2d(b3, kernel=3, stride=2)
z = cat(flatten(p1), flatten(g1), flatten(m1), flatten(q2), flatten(q1), dim=1)
out = linear(z, 3)
output out
loss mse(out, target[3])
optimizer sgd(lr=0.1, momentum=0.9)
""",
     "module": ConvOptions, "batch": 3, "inputs": {"s": [3, 10], "x": [4, 8, 8]},
     "outputs": ["out"], "targets": {"target": [3]},
     "loss": lambda o, i, t: mse(o["out"], t["target"]),
     "optimizer": lambda p: torch.optim.SGD(p, lr=0.1, momentum=0.9),
     "seed": 153},
    {"name": "embedding_padding",
     "description": "tokens[6] int (ids 0-7, the last of each sample the padding id 1, ids repeated) -> embedding(8, 4, padding_idx=1) -> flatten -> linear 5 -> tanh -> linear 3; MSE; SGD momentum 0.9; batch 3.",
     "source": """network EmbeddingPadding
batch 3
input tokens[6] int
emb = embedding(tokens, 8, 4, padding_idx=1)
f = flatten(emb)
h = linear(f, 5)
a = tanh(h)
out = linear(a, 3)
output out
loss mse(out, target[3])
optimizer sgd(lr=0.1, momentum=0.9)
""",
     "module": EmbeddingPadding, "batch": 3, "inputs": {"tokens": ("ids", [6], 8)},
     "outputs": ["out"], "targets": {"target": [3]},
     "loss": lambda o, i, t: mse(o["out"], t["target"]),
     "optimizer": lambda p: torch.optim.SGD(p, lr=0.1, momentum=0.9),
     # The padding row starts nonzero (PyTorch's starts at zero): the
     # lookup must still read it, and it must take no gradient.
     "init": {"emb.weight": (-1.0, 1.0)}, "padding": {"tokens": 1},
     # The row that takes no gradient by definition, though the loss
     # depends on it: the finite differences leave it out.
     "padding_rows": {"emb.weight": 1},
     # export_onnx.py: the static exports only, which nngen builds for
     # inference (TestGraphs' inferCases).
     "onnx_inference_only": "ONNX's Gather has no padding_idx, so a model trained from the export would train the padding row, where PyTorch does not",
     "seed": 140},
    {"name": "embedding_bag",
     "description": "tokens[5] int (ids 0-9, padding id 0 in some places, one bag of padding only) -> embedding_bag(10, 4, mode=mean, padding_idx=0) and embedding_bag(10, 3, mode=sum) -> cat -> linear 3; cross-entropy; SGD lr 0.5; batch 4.",
     "source": """network EmbeddingBag
batch 4
input tokens[5] int
bm = embedding_bag(tokens, 10, 4, mode=mean, padding_idx=0)
bs = embedding_bag(tokens, 10, 3, mode=sum)
c = cat(bm, bs, dim=1)
out = linear(c, 3)
output out
loss cross_entropy(out, label)
optimizer sgd(lr=0.5)
""",
     "module": EmbeddingBag, "batch": 4, "inputs": {"tokens": ("ids", [5], 10)},
     "outputs": ["out"], "targets": {"label": "classes"},
     "loss": lambda o, i, t: F.cross_entropy(o["out"], t["label"]),
     "optimizer": lambda p: torch.optim.SGD(p, lr=0.5),
     "init": {"bm.weight": (-1.0, 1.0), "bs.weight": (-1.0, 1.0)}, "padding": {"tokens": 0},
     "seed": 141},
    {"name": "embedding_bag_onnx",
     "description": "tokens[5] int (ids 0-9, repeated) -> embedding_bag(10, 4, mode=mean) and embedding_bag(10, 3, mode=sum), no padding_idx (nn.EmbeddingBag, which torch.onnx.export writes as a Loop) -> cat -> linear 3; cross-entropy; SGD lr 0.5; batch 4.",
     "source": """network EmbeddingBagOnnx
batch 4
input tokens[5] int
bm = embedding_bag(tokens, 10, 4, mode=mean)
bs = embedding_bag(tokens, 10, 3, mode=sum)
c = cat(bm, bs, dim=1)
out = linear(c, 3)
output out
loss cross_entropy(out, label)
optimizer sgd(lr=0.5)
""",
     "module": EmbeddingBagOnnx, "batch": 4, "inputs": {"tokens": ("ids", [5], 10)},
     "outputs": ["out"], "targets": {"label": "classes"},
     "loss": lambda o, i, t: F.cross_entropy(o["out"], t["label"]),
     "optimizer": lambda p: torch.optim.SGD(p, lr=0.5),
     "init": {"bm.weight": (-1.0, 1.0), "bs.weight": (-1.0, 1.0)},
     "seed": 143},
    {"name": "embedding_mean",
     "description": "tokens[7] int (ids 0-11) -> embedding(12, 6) -> mean(dim=1) (nn.EmbeddingBag(12, 6)'s mean bag, as ONNX exports can state it) -> relu -> linear 3; cross-entropy; SGD lr 0.5; batch 4.",
     "source": """network EmbeddingMean
batch 4
input tokens[7] int
emb = embedding(tokens, 12, 6)
m = mean(emb, dim=1)
r = relu(m)
out = linear(r, 3)
output out
loss cross_entropy(out, label)
optimizer sgd(lr=0.5)
""",
     "module": EmbeddingMean, "batch": 4, "inputs": {"tokens": ("ids", [7], 12)},
     "outputs": ["out"], "targets": {"label": "classes"},
     "loss": lambda o, i, t: F.cross_entropy(o["out"], t["label"]),
     "optimizer": lambda p: torch.optim.SGD(p, lr=0.5),
     "init": {"emb.weight": (-1.0, 1.0)},
     "seed": 142},
    {"name": "lenet",
     "description": "LeNet-5 as PyTorch writes it for MNIST, on x[1, %d, %d]: conv2d 6 (5x5, padding 2) -> relu -> max_pool2d 2 -> conv2d 16 (5x5) -> relu -> max_pool2d 2 -> flatten (%d) -> linear 120 -> relu -> linear 84 -> relu -> linear 10; cross-entropy with class indices; SGD lr 0.01 momentum 0.9; batch 2, 2 steps; the convolutions' starting values within PyTorch's bounds (1/sqrt(fan_in))." % (LENET_SIZE, LENET_SIZE, 16 * LENET_FLAT),
     "source": """network LeNet
batch 2
input x[1, %d, %d]
conv1 = conv2d(x, 6, kernel=5, padding=2)
p1 = max_pool2d(relu(conv1), 2)
conv2 = conv2d(p1, 16, kernel=5)
p2 = max_pool2d(relu(conv2), 2)
f = flatten(p2)
fc1 = linear(f, 120)
h1 = relu(fc1)
fc2 = linear(h1, 84)
h2 = relu(fc2)
fc3 = linear(h2, 10)
output fc3
loss cross_entropy(fc3, label)
optimizer sgd(lr=0.01, momentum=0.9)
""" % (LENET_SIZE, LENET_SIZE),
     "module": LeNet, "batch": 2, "steps": 2, "inputs": {"x": [1, LENET_SIZE, LENET_SIZE]},
     "outputs": ["fc3"], "targets": {"label": "classes"},
     "loss": lambda o, i, t: F.cross_entropy(o["fc3"], t["label"]),
     "optimizer": lambda p: torch.optim.SGD(p, lr=0.01, momentum=0.9),
     # A convolution's bound is 0.5 times the scale: PyTorch's 1/sqrt(fan_in).
     "weight_scale": {"conv1": 2 / 25 ** 0.5, "conv2": 2 / 150 ** 0.5},
     "seed": 154},
    {"name": "partial_attention",
     "description": "attention_like compiled for a batch of 6 and trained on steps of 6, 1 and 4 samples: the products, softmax and reshapes of 3-D tensors over the call's samples.",
     "source": """network PartialAttention
batch 6
input x[5, 4]
q = linear(x, 8)
k = linear(x, 8)
s = matmul(q, transpose(k, 1, 2)) * 0.35
p = softmax(s, dim=-1)
o = matmul(p, x)
f = flatten(o)
out = linear(f, 2)
output out
loss mse(out, target[2])
optimizer sgd(lr=0.1)
""",
     "module": AttentionLike, "batch": 6, "sizes": [6, 1, 4], "inputs": {"x": [5, 4]},
     "outputs": ["out"], "targets": {"target": [2]},
     "loss": lambda o, i, t: mse(o["out"], t["target"]),
     "optimizer": lambda p: torch.optim.SGD(p, lr=0.1),
     "input_range": 2.0,
     "seed": 131},
    {"name": "math_ops",
     "description": "x[6] -> linear 6 -> exp, log, sqrt, neg, abs, reciprocal, pow 3, clamp, sub and div by [6] params, sum(dim=1, keepdim) -> linear 2; MSE; SGD lr 0.1; batch 4.",
     "source": """network MathOps
batch 4
input x[6]
param shift[6] = zeros
param scale[6] = ones
h = linear(x, 6)
e = exp(h * 0.5)
l = log(sigmoid(h) + 0.5)
q = sqrt(e + abs(h))
r = reciprocal(abs(h) + 1)
c = clamp(h, min=-0.5, max=0.8)
p = pow(tanh(h), 3.0)
u = (q - shift) / scale + neg(l) * r + c * p
s = sum(u, dim=1, keepdim=true)
v = u - s / 6
out = linear(v, 2)
output out
loss mse(out, target[2])
optimizer sgd(lr=0.1)
""",
     "module": MathOps, "batch": 4, "inputs": {"x": [6]},
     "outputs": ["out"], "targets": {"target": [2]},
     "loss": lambda o, i, t: mse(o["out"], t["target"]),
     "optimizer": lambda p: torch.optim.SGD(p, lr=0.1),
     "input_range": 2.0, "weight_scale": 1.5,
     "init": {"shift": (-0.5, 0.5), "scale": (0.5, 1.5)},
     "seed": 125},
    {"name": "buffer_scale",
     "description": "x[5] -> linear 6 -> times buffer scale[6], plus buffer shift[6] (register_buffer: constants of the state_dict, not trained) -> tanh -> linear 3; MSE; SGD lr 0.1 momentum 0.9; batch 4.",
     "source": """network BufferScale
batch 4
input x[5]
buffer scale[6] = ones
buffer shift[6] = zeros
h = linear(x, 6)
u = tanh(h * scale + shift)
out = linear(u, 3)
output out
loss mse(out, target[3])
optimizer sgd(lr=0.1, momentum=0.9)
""",
     "module": BufferScale, "batch": 4, "inputs": {"x": [5]},
     "outputs": ["out"], "targets": {"target": [3]},
     "loss": lambda o, i, t: mse(o["out"], t["target"]),
     "optimizer": lambda p: torch.optim.SGD(p, lr=0.1, momentum=0.9),
     "init": {"scale": (0.5, 1.5), "shift": (-0.5, 0.5)},
     "seed": 127},
    {"name": "batchnorm",
     "description": "x[2, 6, 6] -> conv2d 4 (3x3, no bias) -> batch_norm2d -> relu -> reshape(4, 16) -> batch_norm1d (eps 1e-3, momentum 0.2, no affine) -> flatten -> linear 8 (no bias) -> batch_norm1d (momentum None) -> tanh -> batch_norm1d (no running statistics) -> linear 3; MSE; SGD lr 0.1 momentum 0.9; batch 8; four steps in training mode (each runs the network twice, as Forward then Backward do: the running statistics move twice), then two in evaluation mode. Running statistics start away from zeros and ones; bn3 has counted 2 batches.",
     "source": """network BatchNormNet
batch 8
input x[2, 6, 6]
c1 = conv2d(x, 4, kernel=3, bias=false)
bn1 = batch_norm2d(c1, 4)
r1 = relu(bn1)
s = reshape(r1, 4, 16)
bn2 = batch_norm1d(s, 4, eps=1e-3, momentum=0.2, affine=false)
f = flatten(bn2)
h = linear(f, 8, bias=false)
bn3 = batch_norm1d(h, momentum=none)
t = tanh(bn3)
bn4 = batch_norm1d(t, track_running_stats=false)
out = linear(bn4, 3)
output out
loss mse(out, target[3])
optimizer sgd(lr=0.1, momentum=0.9)
""",
     "module": BatchNormNet, "batch": 8, "inputs": {"x": [2, 6, 6]},
     "outputs": ["out"], "targets": {"target": [3]},
     "loss": lambda o, i, t: mse(o["out"], t["target"]),
     "optimizer": lambda p: torch.optim.SGD(p, lr=0.1, momentum=0.9),
     "init": {"bn1.weight": (0.5, 1.5), "bn3.weight": (0.5, 1.5), "bn4.weight": (0.5, 1.5),
              "bn1.running_mean": (-0.5, 0.5), "bn1.running_var": (0.5, 1.5),
              "bn2.running_mean": (-0.5, 0.5), "bn2.running_var": (0.5, 1.5),
              "bn3.running_mean": (-0.5, 0.5), "bn3.running_var": (0.5, 1.5)},
     "counts": {"bn3.num_batches_tracked": 2},
     "train": [True] * 4 + [False] * 2, "steps": 6,
     "onnx_none": "momentum=None: the exporter writes the factor of the export's count as a fixed momentum; batchnorm_onnx is the exported case",
     "seed": 131},
    {"name": "batchnorm_onnx",
     "description": "x[2, 5, 5] -> conv2d 3 (3x3, no bias) -> batch_norm2d -> relu -> flatten -> linear 6 (no bias) -> batch_norm1d (momentum 0.2) -> tanh -> batch_norm1d (no running statistics) -> linear 2; MSE; SGD lr 0.1; batch 8; three steps in training mode, then two in evaluation mode. Its ONNX exports are made in training mode (opsets 14 and 17) and trained.",
     "source": """network BatchNormONNX
batch 8
input x[2, 5, 5]
c1 = conv2d(x, 3, kernel=3, bias=false)
bn1 = batch_norm2d(c1)
r1 = relu(bn1)
f = flatten(r1)
h = linear(f, 6, bias=false)
bn2 = batch_norm1d(h, momentum=0.2)
t = tanh(bn2)
bn3 = batch_norm1d(t, track_running_stats=false)
out = linear(bn3, 2)
output out
loss mse(out, target[2])
optimizer sgd(lr=0.1)
""",
     "module": BatchNormONNX, "batch": 8, "inputs": {"x": [2, 5, 5]},
     "outputs": ["out"], "targets": {"target": [2]},
     "loss": lambda o, i, t: mse(o["out"], t["target"]),
     "optimizer": lambda p: torch.optim.SGD(p, lr=0.1),
     "init": {"bn1.weight": (0.5, 1.5), "bn2.weight": (0.5, 1.5), "bn3.weight": (0.5, 1.5),
              "bn1.running_mean": (-0.5, 0.5), "bn1.running_var": (0.5, 1.5),
              "bn2.running_mean": (-0.5, 0.5), "bn2.running_var": (0.5, 1.5)},
     "train": [True] * 3 + [False] * 2, "steps": 5,
     "seed": 137},
    {"name": "movement_ops",
     "description": "x[4, 6] -> linear 6 (last axis) -> reshape(6, 4) -> permute(0, 2, 1) -> slice dim 2 [1:5] -> minus unsqueeze(max over dim 2) -> log_softmax(dim=1) -> cat(dim=1) of two overlapping slices -> flatten, cat with split(sizes=(1, 2, 1)) and chunk(2) pieces combined and squeezed -> linear 3; MSE; SGD lr 0.01 (the log-probabilities, all negative, make lr 0.1 diverge); batch 3.",
     "source": """network MovementOps
batch 3
input x[4, 6]
h = linear(x, 6)
r = reshape(h, 6, 4)
p = permute(r, 0, 2, 1)
s = slice(p, dim=2, start=1, end=5)
m = max(s, dim=2)
d = s - unsqueeze(m, 2)
ls = log_softmax(d, dim=1)
a = slice(ls, dim=2, start=0, end=3)
b = slice(ls, dim=2, start=1, end=4)
c = cat(a, b, dim=1)
s1, s2, s3 = split(s, sizes=(1, 2, 1), dim=2)
q1, q2 = chunk(s2, 2, dim=2)
k = squeeze(s3 + q1 * q2 - s1, 2)
f = cat(flatten(c), k, dim=1)
out = linear(f, 3)
output out
loss mse(out, target[3])
optimizer sgd(lr=0.01)
""",
     "module": MovementOps, "batch": 3, "inputs": {"x": [4, 6]},
     "outputs": ["out"], "targets": {"target": [3]},
     "loss": lambda o, i, t: mse(o["out"], t["target"]),
     "optimizer": lambda p: torch.optim.SGD(p, lr=0.01),
     "input_range": 2.0, "weight_scale": {"h": 2.0},
     "seed": 126},
    {"name": "loss_ce_options",
     "description": "x[5] -> linear 6 -> tanh -> linear 3; cross_entropy with all its options at once: weight=(1, 2, 0.5), ignore_index=1 (a class: about half the labels are 1 and count for nothing), label_smoothing=0.1; reduction mean, which divides by the weights of the labels not ignored; SGD lr 0.5; batch 6.",
     "source": """network LossCEOptions
batch 6
input x[5]
h = linear(x, 6)
a = tanh(h)
out = linear(a, 3)
output out
loss cross_entropy(out, label, weight=(1, 2, 0.5), ignore_index=1, label_smoothing=0.1)
optimizer sgd(lr=0.5)
""",
     "module": lambda: LossMLP(5, 6, 3), "batch": 6, "inputs": {"x": [5]},
     "outputs": ["out"], "targets": {"label": ("classes", 1)},
     "loss": lambda o, i, t: F.cross_entropy(o["out"], t["label"], weight=torch.tensor([1, 2, 0.5]), ignore_index=1, label_smoothing=0.1),
     "optimizer": lambda p: torch.optim.SGD(p, lr=0.5),
     "seed": 170},
    {"name": "loss_ce_smoothing",
     "description": "x[5] -> linear 6 -> tanh -> linear 4; cross_entropy with label_smoothing=0.25 alone and reduction sum, plus 0.5 times cross_entropy with weight=(2, 0.5, 1, 1.5) alone and reduction mean; about a third of each step's labels are -100, PyTorch's default ignore_index; SGD lr 0.2; batch 5, trained on steps of 5, 2 and 4 samples (sums and weighted means over the samples given).",
     "source": """network LossCESmoothing
batch 5
input x[5]
h = linear(x, 6)
a = tanh(h)
out = linear(a, 4)
output out
loss cross_entropy(out, label, label_smoothing=0.25, reduction=sum) + 0.5 * cross_entropy(out, label2, weight=(2, 0.5, 1, 1.5))
optimizer sgd(lr=0.2)
""",
     "module": lambda: LossMLP(5, 6, 4), "batch": 5, "sizes": [5, 2, 4], "inputs": {"x": [5]},
     "outputs": ["out"], "targets": {"label": ("classes", -100), "label2": ("classes", -100)},
     "loss": lambda o, i, t: F.cross_entropy(o["out"], t["label"], label_smoothing=0.25, reduction="sum")
     + 0.5 * F.cross_entropy(o["out"], t["label2"], weight=torch.tensor([2, 0.5, 1, 1.5])),
     "optimizer": lambda p: torch.optim.SGD(p, lr=0.2),
     "seed": 174},
    {"name": "loss_nll",
     "description": "x[5] -> linear 6 -> tanh -> linear 4 -> log_softmax(dim=1), the output; nll_loss with weight=(0.5, 1, 2, 1.5) and ignore_index=-1 (about a third of the labels); reduction mean; SGD lr 0.5; batch 6.",
     "source": """network LossNLL
batch 6
input x[5]
h = linear(x, 6)
a = tanh(h)
out = linear(a, 4)
logp = log_softmax(out, dim=1)
output logp
loss nll_loss(logp, label, weight=(0.5, 1, 2, 1.5), ignore_index=-1)
optimizer sgd(lr=0.5)
""",
     "module": lambda: LossMLP(5, 6, 4, log_softmax=True), "batch": 6, "inputs": {"x": [5]},
     "outputs": ["logp"], "targets": {"label": ("classes", -1)},
     "loss": lambda o, i, t: F.nll_loss(o["logp"], t["label"], weight=torch.tensor([0.5, 1, 2, 1.5]), ignore_index=-1),
     "optimizer": lambda p: torch.optim.SGD(p, lr=0.5),
     "seed": 181},
    {"name": "loss_smooth_l1_huber",
     "description": "x[4] -> linear 6 -> tanh -> linear 3; smooth_l1(beta=0.5, mean) against one target plus huber(delta=0.8, sum) against another, differences on both sides of beta and delta at every step; Adam lr 0.01; batch 5.",
     "source": """network LossSmoothL1Huber
batch 5
input x[4]
h = linear(x, 6)
a = tanh(h)
out = linear(a, 3)
output out
loss smooth_l1(out, target[3], beta=0.5) + huber(out, target2[3], delta=0.8, reduction=sum)
optimizer adam(lr=0.01)
""",
     "module": lambda: LossMLP(4, 6, 3), "batch": 5, "inputs": {"x": [4]},
     "outputs": ["out"], "targets": {"target": [3], "target2": [3]},
     "loss": lambda o, i, t: F.smooth_l1_loss(o["out"], t["target"], beta=0.5) + F.huber_loss(o["out"], t["target2"], delta=0.8, reduction="sum"),
     "optimizer": lambda p: torch.optim.Adam(p, lr=0.01),
     "input_range": 2.0,
     "seed": 173},
    {"name": "lstm_unbatched",
     "description": "one sample (no batch line): x[4, 3], h0[1, 5], c0[1, 5] (nn.LSTM's unbatched layouts); rnn, h, c = lstm(x, 5, h0=h0, c0=c0) (nn.LSTM(3, 5, batch_first=True)); cat(mean of rnn over the steps, h + c flattened) -> linear 2; MSE; SGD lr 0.3.",
     "source": """network LSTMUnbatched
input x[4, 3]
input h0[1, 5]
input c0[1, 5]
rnn, h, c = lstm(x, 5, h0=h0, c0=c0)
m = mean(rnn, dim=0)
s = h + c
f = flatten(s)
z = cat(m, f, dim=0)
y = linear(z, 2)
output y
loss mse(y, target[2])
optimizer sgd(lr=0.3)
""",
     "module": LSTMUnbatched, "batch": None, "inputs": {"x": [4, 3], "h0": [1, 5], "c0": [1, 5]},
     "outputs": ["y"], "targets": {"target": [2]},
     "loss": lambda o, i, t: mse(o["y"], t["target"]),
     "optimizer": lambda p: torch.optim.SGD(p, lr=0.3),
     "onnx_none": "one sample with several inputs: nngen's ONNX front end reads x [4, 3] as a batch of 4, which h0 [1, 5] does not share",
     "seed": 174},
    {"name": "gru_bidirectional",
     "description": "x[5, 4], h0[4, 4] (batch first: layer 0, layer 0 reverse, layer 1, layer 1 reverse); rnn, h = gru(x, 4, num_layers=2, bidirectional=true, h0=h0) (nn.GRU(4, 4, num_layers=2, batch_first=True, bidirectional=True)) -> cat(mean of rnn [B, 5, 8] over the steps, h flattened) -> linear 3; MSE; SGD lr 0.5; batch 3.",
     "source": """network GRUBidirectional
batch 3
input x[5, 4]
input h0[4, 4]
rnn, h = gru(x, 4, num_layers=2, bidirectional=true, h0=h0)
m = mean(rnn, dim=1)
f = flatten(h)
z = cat(m, f, dim=1)
y = linear(z, 3)
output y
loss mse(y, target[3])
optimizer sgd(lr=0.5)
""",
     "module": GRUBidirectional, "batch": 3, "inputs": {"x": [5, 4], "h0": [4, 4]},
     "outputs": ["y"], "targets": {"target": [3]},
     "loss": lambda o, i, t: mse(o["y"], t["target"]),
     "optimizer": lambda p: torch.optim.SGD(p, lr=0.5),
     "seed": 175},
    {"name": "lstm_bidirectional",
     "description": "x[6, 3]; rnn, h, c = lstm(x, 5, bidirectional=true) (nn.LSTM(3, 5, batch_first=True, bidirectional=True), zero initial states) -> the last step of rnn [B, 10] + (h + c) flattened -> linear 4; cross-entropy; Adam lr 0.02; batch 3.",
     "source": """network LSTMBidirectional
batch 3
input x[6, 3]
rnn, h, c = lstm(x, 5, bidirectional=true)
last = slice(rnn, start=5, end=6, dim=1)
lf = flatten(last)
s = h + c
f = flatten(s)
z = lf + f
y = linear(z, 4)
output y
loss cross_entropy(y, label)
optimizer adam(lr=0.02)
""",
     "module": LSTMBidirectional, "batch": 3, "inputs": {"x": [6, 3]},
     "outputs": ["y"], "targets": {"label": "classes"},
     "loss": lambda o, i, t: F.cross_entropy(o["y"], t["label"]),
     "optimizer": lambda p: torch.optim.Adam(p, lr=0.02),
     "seed": 176},
]


# ---------------------------------------------------------------- an interpreter of the .nn source
#
# Independent of the modules above: it reads the source as the extended
# language describes it and evaluates it with the module's parameters (by
# state_dict name), so that a module that does not compute what its source
# says is caught.

TOKEN = re.compile(r"\s*(?:(?P<num>(?:\d+\.?\d*|\.\d+)(?:[eE][+-]?\d+)?)|(?P<name>[A-Za-z_][A-Za-z0-9_.]*)"
                   r"|(?P<str>'[^']*'|\"[^\"]*\")|(?P<op>[-+*/(),=\[\]]))")


CASES += [
    {"name": "gru_1layer",
     "description": "x[5, 4] ([B, seq 5, 4]); rnn, h = gru(x, 6) (nn.GRU(4, 6, batch_first=True), zero initial state) -> linear 3 on every step, a tagger's scores; output y, h (h [B, 1, 6]: batch first, nn.GRU's h.transpose(0, 1)); cross_entropy with a class index per step (label [B, 5]), F.cross_entropy(y.flatten(0, 1), label.flatten()); SGD lr 0.5; batch 3.",
     "source": """network GRU1
batch 3
input x[5, 4]
rnn, h = gru(x, 6)
y = linear(rnn, 3)
output y, h
loss cross_entropy(y, label)
optimizer sgd(lr=0.5)
""",
     "module": GRU1, "batch": 3, "inputs": {"x": [5, 4]},
     "outputs": ["y", "h"], "targets": {"label": "classes"},
     "loss": lambda o, i, t: F.cross_entropy(o["y"].flatten(0, 1), t["label"].flatten()),
     "optimizer": lambda p: torch.optim.SGD(p, lr=0.5),
     "seed": 170},
    {"name": "gru_2layers",
     "description": "x[6, 3], h0[2, 5] ([B, layers, hidden]: batch first, nn.GRU's h0.transpose(0, 1)); rnn, h = gru(x, 3, 5, num_layers=2, h0=h0) -> cat(mean of rnn over the steps, the final states of both layers flattened) -> linear 3; output y (one output: its ONNX exports train); MSE; Adam lr 0.02; batch 3.",
     "source": """network GRU2
batch 3
input x[6, 3]
input h0[2, 5]
rnn, h = gru(x, 3, 5, num_layers=2, batch_first=true, h0=h0)
m = mean(rnn, dim=1)
f = flatten(h)
z = cat(m, f, dim=1)
y = linear(z, 3)
output y
loss mse(y, target[3])
optimizer adam(lr=0.02)
""",
     "module": GRU2, "batch": 3, "inputs": {"x": [6, 3], "h0": [2, 5]},
     "outputs": ["y"], "targets": {"target": [3]},
     "loss": lambda o, i, t: mse(o["y"], t["target"]),
     "optimizer": lambda p: torch.optim.Adam(p, lr=0.02),
     "seed": 171},
    {"name": "lstm_1layer",
     "description": "x[5, 4]; rnn, h, c = lstm(x, 7, bias=false) (nn.LSTM(4, 7, batch_first=True, bias=False), zero initial states) -> mean over the steps -> linear 4; output y, h, c; cross-entropy with class indices; SGD lr 0.5; batch 3.",
     "source": """network LSTM1
batch 3
input x[5, 4]
rnn, h, c = lstm(x, 7, bias=false)
m = mean(rnn, dim=1)
y = linear(m, 4)
output y, h, c
loss cross_entropy(y, label)
optimizer sgd(lr=0.5)
""",
     "module": LSTM1, "batch": 3, "inputs": {"x": [5, 4]},
     "outputs": ["y", "h", "c"], "targets": {"label": "classes"},
     "loss": lambda o, i, t: F.cross_entropy(o["y"], t["label"]),
     "optimizer": lambda p: torch.optim.SGD(p, lr=0.5),
     "seed": 172},
    {"name": "lstm_2layers",
     "description": "x[4, 3], h0[2, 5], c0[2, 5] (states batch first: nn.LSTM's h0.transpose(0, 1)); rnn, h, c = lstm(x, 3, 5, num_layers=2, h0=h0, c0=c0) (nn.LSTM(3, 5, num_layers=2, batch_first=True)); cat(mean of rnn over the steps, h + c flattened) -> linear 4; output y (one output: its ONNX exports train); cross-entropy; Adam lr 0.02; batch 3.",
     "source": """network LSTM2
batch 3
input x[4, 3]
input h0[2, 5]
input c0[2, 5]
rnn, h, c = lstm(x, 3, 5, num_layers=2, h0=h0, c0=c0)
m = mean(rnn, dim=1)
s = h + c
f = flatten(s)
z = cat(m, f, dim=1)
y = linear(z, 4)
output y
loss cross_entropy(y, label)
optimizer adam(lr=0.02)
""",
     "module": LSTM2, "batch": 3, "inputs": {"x": [4, 3], "h0": [2, 5], "c0": [2, 5]},
     "outputs": ["y"], "targets": {"label": "classes"},
     "loss": lambda o, i, t: F.cross_entropy(o["y"], t["label"]),
     "optimizer": lambda p: torch.optim.Adam(p, lr=0.02),
     "seed": 173},
    {"name": "encoder_2layers",
     "description": "x[4, 8], m[4] -> nn.TransformerEncoder(nn.TransformerEncoderLayer(8, 2, 16, 0.0, batch_first=True), num_layers=2)(x, src_key_padding_mask=m) (two transformer_encoder_layer lines named encoder.layers.0 and encoder.layers.1, as the module's state_dict names them: relu, norm_first false, no dropout; m a float key padding mask, 0 or -1e9, added to the scores by PyTorch as by nngen) -> linear 3; MSE; SGD lr 0.1; batch 2. Its ONNX exports (opset 14 dynamic, opset 17) train: the acceptance of issue #17's transformer encoder.",
     "source": """network Encoder2Layers
batch 2
input x[4, 8]
input m[4]
encoder.layers.0 = transformer_encoder_layer(x, d_model=8, nhead=2, dim_feedforward=16, dropout=0.0, key_padding_mask=m)
encoder.layers.1 = transformer_encoder_layer(encoder.layers.0, d_model=8, nhead=2, dim_feedforward=16, dropout=0.0, key_padding_mask=m)
out = linear(encoder.layers.1, 3)
output out
loss mse(out, target[4, 3])
optimizer sgd(lr=0.1)
""",
     "module": Encoder2Layers, "batch": 2, "inputs": {"x": [4, 8], "m": ("padding_mask", [4])},
     "outputs": ["out"], "targets": {"target": [4, 3]},
     "loss": lambda o, i, t: mse(o["out"], t["target"]),
     "optimizer": lambda p: torch.optim.SGD(p, lr=0.1),
     "init": {"encoder.layers.%d.norm%d.%s" % (k, j, w): r for k in (0, 1) for j in (1, 2)
              for w, r in (("weight", (0.5, 1.5)), ("bias", (-0.5, 0.5)))},
     "seed": 174},
]


def tokenize(s):
    out, pos = [], 0
    s = s.rstrip()
    while pos < len(s):
        m = TOKEN.match(s, pos)
        if not m:
            raise SyntaxError("bad token at %r" % s[pos:])
        pos = m.end()
        kind = m.lastgroup
        v = m.group(kind)
        out.append((kind, v if kind != "str" else v[1:-1]))
    return out


class Parser:
    """expr := term {(+|-) term}; term := unary {(*|/) unary}; unary := -unary | primary."""

    def __init__(self, toks):
        self.t, self.i = toks, 0

    def peek(self, v=None):
        if self.i >= len(self.t):
            return None
        k = self.t[self.i]
        return k if v is None or k[1] == v else None

    def take(self, v=None):
        k = self.peek()
        if k is None or (v is not None and k[1] != v):
            raise SyntaxError("expected %r, found %r" % (v, k))
        self.i += 1
        return k

    def expr(self):
        n = self.term()
        while self.peek() and self.peek()[1] in "+-" and self.peek()[0] == "op":
            op = self.take()[1]
            n = ("bin", op, n, self.term())
        return n

    def term(self):
        n = self.unary()
        while self.peek() and self.peek()[1] in ("*", "/") and self.peek()[0] == "op":
            op = self.take()[1]
            n = ("bin", op, n, self.unary())
        return n

    def unary(self):
        if self.peek("-") and self.peek()[0] == "op":
            self.take()
            return ("neg", self.unary())
        return self.primary()

    def primary(self):
        k = self.take()
        if k[0] == "num":
            return ("num", float(k[1]))
        if k[1] == "(":
            e = self.expr()
            if self.peek(","):  # a tuple, as a keyword value
                items = [e]
                while self.peek(","):
                    self.take(",")
                    items.append(self.expr())
                self.take(")")
                return ("tuple", items)
            self.take(")")
            return e
        if k[0] in ("name", "str"):
            if self.peek("("):
                self.take("(")
                args, kw = [], {}
                while not self.peek(")"):
                    if self.i + 1 < len(self.t) and self.t[self.i][0] == "name" and self.t[self.i + 1][1] == "=":
                        key = self.take()[1]
                        self.take("=")
                        kw[key] = self.expr()
                    else:
                        args.append(self.expr())
                    if not self.peek(")"):
                        self.take(",")
                self.take(")")
                return ("call", k[1], args, kw)
            if self.peek("["):
                self.take("[")
                dims = [int(self.take()[1])]
                while self.peek(","):
                    self.take(",")
                    dims.append(int(self.take()[1]))
                self.take("]")
                return ("decl", k[1], dims)
            return ("name", k[1])
        raise SyntaxError("unexpected %r" % (k,))


def parse_expr(text):
    p = Parser(tokenize(text))
    e = p.expr()
    if p.i != len(p.t):
        raise SyntaxError("trailing %r in %r" % (p.t[p.i:], text))
    return e


def parse_source(src):
    prog = {"batch": None, "inputs": [], "params": [], "buffers": [], "assigns": [], "outputs": None,
            "loss": None, "optimizer": None}
    for raw in src.splitlines():
        line = raw.split("#", 1)[0].strip()
        if not line:
            continue
        word, _, rest = line.partition(" ")
        if word == "network":
            prog["network"] = rest.strip()
        elif word == "batch":
            prog["batch"] = int(rest)
        elif word == "dtype":
            raise SyntaxError("the sources must not have a dtype line")
        elif word == "input":
            rest, ints = re.subn(r"\]\s*int$", "]", rest.strip())
            d = parse_expr(rest)
            if ints:
                d = ("decl", d[1], d[2], "int")
            assert d[0] == "decl", line
            prog["inputs"].append((d[1], d[2]))
        elif word == "param":
            decl, _, init = rest.partition("=")
            d = parse_expr(decl)
            assert d[0] == "decl" and init.strip() in ("ones", "zeros"), line
            prog["params"].append((d[1], d[2], init.strip()))
            prog["assigns"].append(("param", d[1], d[2]))
        elif word == "buffer":
            decl, _, init = rest.partition("=")
            d = parse_expr(decl)
            assert d[0] == "decl" and init.strip() in ("ones", "zeros"), line
            prog["buffers"].append((d[1], d[2], init.strip()))
            prog["assigns"].append(("buffer", d[1], d[2]))
        elif word == "output":
            assert prog["outputs"] is None, "two output lines"
            prog["outputs"] = [n.strip() for n in rest.split(",")]
        elif word == "loss":
            assert prog["loss"] is None, "two loss lines"
            prog["loss"] = parse_expr(rest)
        elif word == "optimizer":
            assert prog["optimizer"] is None, "two optimizer lines"
            prog["optimizer"] = parse_expr(rest)
        else:
            name, eq, rhs = line.partition("=")
            names = [n.strip() for n in name.split(",")]
            assert eq and all(re.fullmatch(r"[A-Za-z_][A-Za-z0-9_]*(\.[A-Za-z0-9_]+)*", n) for n in names), line
            if len(names) > 1:  # a, b = split(...) or chunk(...)
                prog["assigns"].append(("multi", names, parse_expr(rhs)))
            else:
                prog["assigns"].append(("assign", names[0], parse_expr(rhs)))
    return prog


def names_in(e, acc):
    if e[0] == "name":
        acc.add(e[1])
    elif e[0] == "bin":
        names_in(e[2], acc), names_in(e[3], acc)
    elif e[0] == "neg":
        names_in(e[1], acc)
    elif e[0] == "call":
        for a in e[2]:
            names_in(a, acc)
        for a in e[3].values():
            names_in(a, acc)
    elif e[0] == "tuple":
        for a in e[1]:
            names_in(a, acc)
    return acc


CASES += [
    {"name": "mha_plain",
     "description": "x[5, 8] -> multihead_attention(embed_dim 8, 2 heads), nn.MultiheadAttention(8, 2, batch_first=True)(x, x, x, need_weights=False); MSE; SGD lr 0.1; batch 3.",
     "source": """network MHAPlain
batch 3
input x[5, 8]
a = multihead_attention(x, embed_dim=8, num_heads=2)
output a
loss mse(a, target[5, 8])
optimizer sgd(lr=0.1)
""",
     "module": lambda: MHA(False), "batch": 3, "inputs": {"x": [5, 8]},
     "outputs": ["a"], "targets": {"target": [5, 8]},
     "loss": lambda o, i, t: mse(o["a"], t["target"]),
     "optimizer": lambda p: torch.optim.SGD(p, lr=0.1),
     "input_range": 2.0,
     "onnx_none": "its export is the attention of encoder_2layers' layers, whose exports train: a package less",
     "seed": 170},
    {"name": "mha_causal",
     "description": "x[6, 8] -> multihead_attention(8, 2 heads, causal, key_padding_mask m), PyTorch's attn_mask = the square subsequent mask and a bool key_padding_mask (m < 0; m is 0 or -1e9, added to the scores in nngen), keys of the first sample ignored; MSE; SGD momentum 0.9 (not Adam: see encoder_pre_norm); batch 2.",
     "source": """network MHACausal
batch 2
input x[6, 8]
input m[6]
a = multihead_attention(x, 8, 2, causal=true, key_padding_mask=m, batch_first=true)
output a
loss mse(a, target[6, 8])
optimizer sgd(lr=0.1, momentum=0.9)
""",
     "module": lambda: MHA(True, True), "batch": 2, "inputs": {"x": [6, 8], "m": ("padding_mask", [6])},
     "outputs": ["a"], "targets": {"target": [6, 8]},
     "loss": lambda o, i, t: mse(o["a"], t["target"]),
     "optimizer": lambda p: torch.optim.SGD(p, lr=0.1, momentum=0.9),
     "onnx_none": "the export computes the bool key_padding_mask from the input m (Less, Expand, Or, Where of computed tensors): nngen computes no booleans, and refuses those nodes",
     "seed": 171},
    {"name": "encoder_post_norm",
     "description": "x[5, 8] -> transformer_encoder_layer(d_model 8, 2 heads, dim_feedforward 16, dropout 0.2, relu, norm_first false), nn.TransformerEncoderLayer(8, 2, 16, 0.2, batch_first=True) -> linear 3; dropout in its four places (the attention weights, dropout1, dropout, dropout2) with PyTorch's masks recorded; MSE; SGD momentum 0.9; batch 3; the third step in evaluation mode.",
     "source": """network EncoderPostNorm
batch 3
input x[5, 8]
t = transformer_encoder_layer(x, d_model=8, nhead=2, dim_feedforward=16, dropout=0.2, activation=relu, norm_first=false)
out = linear(t, 3)
output out
loss mse(out, target[5, 3])
optimizer sgd(lr=0.1, momentum=0.9)
""",
     "module": lambda: Encoder(8, 2, 16, 0.2, "relu", False, False), "batch": 3, "inputs": {"x": [5, 8]},
     "outputs": ["out"], "targets": {"target": [5, 3]},
     "loss": lambda o, i, t: mse(o["out"], t["target"]),
     "optimizer": lambda p: torch.optim.SGD(p, lr=0.1, momentum=0.9),
     "init": {"t.norm1.weight": (0.5, 1.5), "t.norm1.bias": (-0.5, 0.5), "t.norm2.weight": (0.5, 1.5), "t.norm2.bias": (-0.5, 0.5)},
     "train": [True, True, False],
     "seed": 172},
    {"name": "encoder_pre_norm",
     "description": "x[4, 8] + pos (a learned positional embedding, param pos[4, 8]) -> transformer_encoder_layer(d_model 8, 2 heads, dim_feedforward 16, dropout 0, gelu, norm_first true, causal), nn.TransformerEncoderLayer(8, 2, 16, 0.0, activation='gelu', batch_first=True, norm_first=True) with the square subsequent mask as src_mask -> linear 3; MSE; SGD lr 0.1 (not Adam: the key part of in_proj_bias has a zero gradient in exact arithmetic, softmax being blind to it, and Adam would scale float32's rounding noise there to full steps); batch 2.",
     "source": """network EncoderPreNorm
batch 2
input x[4, 8]
param pos[4, 8] = zeros
t = transformer_encoder_layer(x + pos, d_model=8, nhead=2, dim_feedforward=16, dropout=0.0, activation=gelu, norm_first=true, causal=true)
out = linear(t, 3)
output out
loss mse(out, target[4, 3])
optimizer sgd(lr=0.1)
""",
     "module": lambda: Encoder(8, 2, 16, 0.0, "gelu", True, True, pos=4), "batch": 2, "inputs": {"x": [4, 8]},
     "outputs": ["out"], "targets": {"target": [4, 3]},
     "loss": lambda o, i, t: mse(o["out"], t["target"]),
     "optimizer": lambda p: torch.optim.SGD(p, lr=0.1),
     "init": {"pos": (-0.5, 0.5), "t.norm1.weight": (0.5, 1.5), "t.norm1.bias": (-0.5, 0.5), "t.norm2.weight": (0.5, 1.5), "t.norm2.bias": (-0.5, 0.5)},
     "seed": 173},
    {"name": "encoder_gemm",
     "description": "x[32, 32] -> transformer_encoder_layer(d_model 32, 2 heads, dim_feedforward 16, dropout 0, relu, norm_first false, causal), nn.TransformerEncoderLayer(32, 2, 16, 0.0, batch_first=True) with the square subsequent mask -> linear 3; MSE; SGD lr 0.1; batch 2, trained on steps of 2 and 1 samples. Sized so that every product of the layer runs on the GEMM kernels (each at least 16K multiply-adds): the projections with the sequence as more rows, attention's per head (k, v and the output's gradient read in place, each head's rows strided), the weights' gradients summed over the sequence and the batch in one product.",
     "source": """network EncoderGemm
batch 2
input x[32, 32]
t = transformer_encoder_layer(x, d_model=32, nhead=2, dim_feedforward=16, dropout=0.0, activation=relu, norm_first=false, causal=true)
out = linear(t, 3)
output out
loss mse(out, target[32, 3])
optimizer sgd(lr=0.1)
""",
     "module": lambda: Encoder(32, 2, 16, 0.0, "relu", False, True), "batch": 2, "sizes": [2, 1], "inputs": {"x": [32, 32]},
     "outputs": ["out"], "targets": {"target": [32, 3]},
     "loss": lambda o, i, t: mse(o["out"], t["target"]),
     "optimizer": lambda p: torch.optim.SGD(p, lr=0.1),
     "init": {"t.norm1.weight": (0.5, 1.5), "t.norm1.bias": (-0.5, 0.5), "t.norm2.weight": (0.5, 1.5), "t.norm2.bias": (-0.5, 0.5)},
     "onnx_none": "the attention exports of the other encoder traces cover the import; this trace is about the GEMM paths, which are the same for an imported graph",
     "seed": 174},
]


WORDS = {"true": True, "false": False, "True": True, "False": False}


class Interp:
    def __init__(self, prog, params, buffers=None, masks=None, training=True):
        self.prog, self.params, self.buffers = prog, params, buffers or {}
        self.masks, self.training = masks or {}, training
        self.batched = prog["batch"] is not None

    def const(self, e):
        if e[0] == "num":
            return e[1]
        if e[0] == "neg":
            return -self.const(e[1])
        if e[0] == "tuple":
            return tuple(int(self.const(a)) for a in e[1])
        if e[0] == "name" and e[1] in WORDS:
            return WORDS[e[1]]
        if e[0] == "name":
            return e[1]
        raise ValueError("not a constant: %r" % (e,))

    def dim(self, e):
        v = self.const(e)
        return v if isinstance(v, tuple) else int(v)

    def ev(self, e, env):
        kind = e[0]
        if kind == "num":
            return e[1]
        if kind == "name":
            if e[1] in env:
                return env[e[1]]
            if e[1] in self.buffers:
                return self.buffers[e[1]]
            return self.params[e[1]]
        if kind == "neg":
            return -self.ev(e[1], env)
        if kind == "bin":
            a, b = self.ev(e[2], env), self.ev(e[3], env)
            return {"+": lambda: a + b, "-": lambda: a - b, "*": lambda: a * b, "/": lambda: a / b}[e[1]]()
        if kind == "call":
            return self.call(e[1], e[2], e[3], env)
        raise ValueError(e)

    def call(self, op, args, kw, env):
        X = lambda: self.ev(args[0], env)
        K = lambda k, d: self.const(kw[k]) if k in kw else d
        simple = {"sigmoid": torch.sigmoid, "relu": torch.relu, "tanh": torch.tanh, "silu": F.silu,
                  "softplus": F.softplus, "mish": F.mish, "hardswish": F.hardswish,
                  "hardsigmoid": F.hardsigmoid, "softsign": F.softsign, "exp": torch.exp,
                  "log": torch.log, "sqrt": torch.sqrt, "neg": torch.neg, "abs": torch.abs,
                  "reciprocal": torch.reciprocal}
        if op in simple:
            assert len(args) == 1 and not kw
            return simple[op](X())
        if op == "leaky_relu":
            s = self.const(args[1]) if len(args) > 1 else K("negative_slope", 0.01)
            return F.leaky_relu(X(), s)
        if op == "gelu":
            return F.gelu(X(), approximate=K("approximate", "none"))
        if op == "elu":
            return F.elu(X(), alpha=K("alpha", 1.0))
        if op in ("softmax", "log_softmax"):
            d = self.dim(args[1]) if len(args) > 1 else K("dim", -1)
            return (torch.softmax if op == "softmax" else F.log_softmax)(X(), dim=int(d))
        if op in ("max_pool1d", "max_pool2d", "avg_pool1d", "avg_pool2d"):
            k = self.const(args[1]) if len(args) > 1 else K("kernel", None)
            toint = lambda v: tuple(int(a) for a in v) if isinstance(v, tuple) else int(v)
            window = {"kernel_size": toint(k), "stride": toint(K("stride", k)), "padding": toint(K("padding", 0))}
            if op.startswith("max"):
                window["dilation"] = toint(K("dilation", 1))
            return getattr(F, op)(X(), **window)
        if op in ("adaptive_avg_pool1d", "adaptive_avg_pool2d"):
            return getattr(F, op)(X(), int(self.const(args[1])))
        if op == "pow":
            return torch.pow(X(), self.const(args[1]))
        if op == "clamp":
            return torch.clamp(X(), min=K("min", None), max=K("max", None))
        if op in ("sum", "mean", "max"):
            d = self.dim(args[1]) if len(args) > 1 else self.dim(kw["dim"])
            keep = K("keepdim", False)
            f = {"sum": torch.sum, "mean": torch.mean, "max": torch.amax}[op]
            return f(X(), dim=d, keepdim=keep)
        if op == "reshape":
            x = X()
            shape = [int(self.const(a)) for a in args[1:]]
            return x.reshape([x.shape[0]] + shape if self.batched else shape)
        if op == "flatten":
            return torch.flatten(X(), 1 if self.batched else 0)
        if op == "squeeze":
            return X().squeeze(self.dim(args[1]) if len(args) > 1 else self.dim(kw["dim"]))
        if op == "unsqueeze":
            return X().unsqueeze(self.dim(args[1]) if len(args) > 1 else self.dim(kw["dim"]))
        if op == "transpose":
            return X().transpose(self.dim(args[1]), self.dim(args[2]))
        if op == "permute":
            return X().permute(*[self.dim(a) for a in args[1:]])
        if op == "cat":
            return torch.cat([self.ev(a, env) for a in args], dim=self.dim(kw["dim"]))
        if op == "slice":
            x = X()
            d = self.dim(kw["dim"])
            idx = [slice(None)] * x.dim()
            idx[d] = slice(int(K("start", 0)), int(K("end", x.shape[d])))
            return x[tuple(idx)]
        if op == "split":  # split(x, 4, dim=1) or split(x, sizes=(2, 3, 3), dim=1)
            sizes = list(self.const(kw["sizes"])) if "sizes" in kw else int(self.const(args[1]))
            return torch.split(X(), sizes, dim=self.dim(kw["dim"]))
        if op == "chunk":
            return torch.chunk(X(), int(self.const(args[1])), dim=self.dim(kw["dim"]))
        if op == "matmul":
            return torch.matmul(self.ev(args[0], env), self.ev(args[1], env))
        raise ValueError("unknown op " + op)

    def forward(self, inputs):
        env = dict(inputs)
        for a in self.prog["assigns"]:
            if a[0] in ("param", "buffer"):
                continue
            if a[0] == "multi" and a[2][1] in RECURRENT:
                env.update(zip(a[1], self.recurrent(a[1][0], a[2], env)))
                continue
            if a[0] == "multi":
                pieces = self.ev(a[2], env)
                assert len(pieces) == len(a[1]), a
                env.update(zip(a[1], pieces))
                continue
            _, name, e = a
            if e[0] == "call" and e[1] == "linear":
                x = self.ev(e[2][0], env)
                b = self.params.get(name + ".bias")
                assert ("bias" in e[3] and self.const(e[3]["bias"]) is False) == (b is None)
                env[name] = F.linear(x, self.params[name + ".weight"], b)
            elif e[0] == "call" and e[1] in ("embedding", "embedding_bag"):
                # Written from the language rules: a lookup of rows; a bag
                # sums or averages the rows of its ids but padding_idx's
                # (zero for a bag of padding only), over the last axis.
                ids, w = self.ev(e[2][0], env), self.params[name + ".weight"]
                assert [int(self.const(a)) for a in e[2][1:]] == list(w.shape)
                pad = int(self.const(e[3]["padding_idx"])) if "padding_idx" in e[3] else None
                if e[1] == "embedding":
                    rows = w[ids]
                    if pad is not None:  # the padding row takes no gradient
                        rows = torch.where((ids == pad).unsqueeze(-1), w.detach()[ids], rows)
                    env[name] = rows
                else:
                    keep = torch.ones_like(ids, dtype=w.dtype) if pad is None else (ids != pad).to(w.dtype)
                    total = (w[ids] * keep.unsqueeze(-1)).sum(dim=-2)
                    if ("mean" if "mode" not in e[3] else self.const(e[3]["mode"])) == "mean":
                        total = total / keep.sum(dim=-1, keepdim=True).clamp(min=1)
                    env[name] = total
            elif e[0] == "call" and e[1] == "dropout":
                x = self.ev(e[2][0], env)
                p = self.const(e[2][1]) if len(e[2]) > 1 else (self.const(e[3]["p"]) if "p" in e[3] else 0.5)
                if not self.training or p == 0:
                    env[name] = x
                elif p == 1:
                    env[name] = x * 0
                else:
                    env[name] = x * self.masks[name] / (1 - p)
            elif e[0] == "call" and e[1] == "layer_norm":
                x = self.ev(e[2][0], env)
                shape = self.const(e[2][1])
                shape = tuple(shape) if isinstance(shape, tuple) else (int(shape),)
                affine = self.const(e[3]["elementwise_affine"]) if "elementwise_affine" in e[3] else True
                assert (name + ".weight" in self.params) == affine
                env[name] = F.layer_norm(x, shape, self.params.get(name + ".weight"), self.params.get(name + ".bias"),
                                         eps=self.const(e[3]["eps"]) if "eps" in e[3] else 1e-5)
            elif e[0] == "call" and e[1] in ("conv1d", "conv2d"):
                x = self.ev(e[2][0], env)
                b = self.params.get(name + ".bias")
                assert ("bias" in e[3] and self.const(e[3]["bias"]) is False) == (b is None)
                kw = {k: self.const(v) for k, v in e[3].items() if k in ("stride", "padding", "dilation", "groups")}
                kw = {k: int(v) if isinstance(v, float) else v for k, v in kw.items()}
                f = F.conv1d if e[1] == "conv1d" else F.conv2d
                env[name] = f(x, self.params[name + ".weight"], b, **kw)
            elif e[0] == "call" and e[1] in ATTENTION:
                env[name] = self.attention_layer(name, e, env)
            elif e[0] == "call" and e[1] in BATCH_NORMS:
                # as nn.BatchNorm1d/2d.forward, on the interpreter's copies of the buffers
                x, kw = self.ev(e[2][0], env), e[3]
                eps = self.const(kw["eps"]) if "eps" in kw else 1e-5
                momentum = self.const(kw["momentum"]) if "momentum" in kw else 0.1
                track = flag(kw, "track_running_stats")
                rm, rv = self.buffers.get(name + ".running_mean"), self.buffers.get(name + ".running_var")
                factor = 0.0 if momentum == "none" else momentum
                if self.training and track:
                    self.buffers[name + ".num_batches_tracked"] += 1
                    if momentum == "none":
                        factor = 1.0 / float(self.buffers[name + ".num_batches_tracked"])
                env[name] = F.batch_norm(x, rm, rv, self.params.get(name + ".weight"), self.params.get(name + ".bias"),
                                         self.training or not track, factor, eps)
            else:
                env[name] = self.ev(e, env)
        return env

    def recurrent(self, name, e, env):
        """gru and lstm, written from the language rules: per step, the
        gates of x_t·W_ihᵀ + b_ih and h·W_hhᵀ + b_hh in PyTorch's order
        (r, z, n; i, f, g, o); layer l+1 reads layer l's states."""
        op, args, kw = e[1], e[2], e[3]
        x = self.ev(args[0], env)
        hidden = int(self.const(args[-1]))
        layers = int(self.const(kw["num_layers"])) if "num_layers" in kw else 1
        first = flag(kw, "batch_first")
        if not self.batched:  # one sample: a batch of one inside
            x = x.unsqueeze(0)
        if not first:
            x = x.transpose(0, 1)
        B, T = x.shape[0], x.shape[1]
        H = hidden
        # states are batch first with batch_first, else [layers, batch, hidden]
        one = (lambda v: v.unsqueeze(0)) if not self.batched else (lambda v: v)
        layer_major = lambda v: one(v).transpose(0, 1) if first else v
        h0 = layer_major(self.ev(kw["h0"], env)) if "h0" in kw else None
        c0 = layer_major(self.ev(kw["c0"], env)) if "c0" in kw else None
        seq = [x[:, t] for t in range(T)]
        hs, cs = [], []
        dirs = 2 if "bidirectional" in kw and self.const(kw["bidirectional"]) else 1
        for l in range(layers):
            states = []
            for d in range(dirs):  # the reverse direction runs from the last step to the first
                P = lambda k: self.params.get("%s.%s_l%d%s" % (name, k, l, "_reverse" if d else ""))
                h = h0[l * dirs + d] if h0 is not None else torch.zeros(B, H, dtype=x.dtype)
                c = c0[l * dirs + d] if c0 is not None else torch.zeros(B, H, dtype=x.dtype)
                states.append([None] * T)
                for t in (reversed(range(T)) if d else range(T)):
                    gi, gh = seq[t] @ P("weight_ih").T, h @ P("weight_hh").T
                    if P("bias_ih") is not None:
                        gi, gh = gi + P("bias_ih"), gh + P("bias_hh")
                    if op == "gru":
                        r = torch.sigmoid(gi[:, :H] + gh[:, :H])
                        z = torch.sigmoid(gi[:, H:2 * H] + gh[:, H:2 * H])
                        n = torch.tanh(gi[:, 2 * H:] + r * gh[:, 2 * H:])
                        h = (1 - z) * n + z * h
                    else:
                        g = gi + gh
                        c = torch.sigmoid(g[:, H:2 * H]) * c + torch.sigmoid(g[:, :H]) * torch.tanh(g[:, 2 * H:3 * H])
                        h = torch.sigmoid(g[:, 3 * H:]) * torch.tanh(c)
                    states[d][t] = h
                hs.append(h), cs.append(c)
            seq = [torch.cat([states[d][t] for d in range(dirs)], dim=1) for t in range(T)]
        out = torch.stack(seq, dim=1 if first else 0)
        batch_major = lambda v: v.transpose(0, 1) if first else v
        results = (out, batch_major(torch.stack(hs))) + ((batch_major(torch.stack(cs)),) if op == "lstm" else ())
        return tuple(v.squeeze(0) for v in results) if not self.batched else results
    def dropout(self, name, x, p):
        if not self.training or p == 0:
            return x
        return x * self.masks[name].reshape(x.shape) / (1 - p)  # PyTorch's attention weights are [B*H, L, S]

    def self_attention(self, prefix, x, heads, causal, pad, p):
        """Written from the language rules: the packed projection, heads,
        q/sqrt(head_dim), q k^T, -inf above the diagonal, + the padding
        mask, softmax, dropout, times v, heads joined, out_proj."""
        P = lambda k: self.params[prefix + "." + k]
        B, L, E = x.shape
        hd = E // heads
        qkv = x @ P("in_proj_weight").t() + P("in_proj_bias")
        split = lambda t: t.reshape(B, L, heads, hd).permute(0, 2, 1, 3)
        q, k, v = (split(qkv[..., i * E:(i + 1) * E]) for i in range(3))
        s = (q / math.sqrt(hd)) @ k.transpose(-1, -2)
        if causal:
            s = s + torch.triu(torch.full((L, L), float("-inf"), dtype=s.dtype), diagonal=1)
        if pad is not None:
            s = s + pad.reshape(B, 1, 1, L)
        w = self.dropout(prefix + ".attn_dropout", torch.softmax(s, dim=-1), p)
        o = (w @ v).permute(0, 2, 1, 3).reshape(B, L, E)
        return o @ P("out_proj.weight").t() + P("out_proj.bias")

    def attention_layer(self, name, e, env):
        args, kw = e[2], e[3]
        x = self.ev(args[0], env)
        C = lambda k, d: self.const(kw[k]) if k in kw else d
        causal = C("causal", False)
        pad = self.ev(kw["key_padding_mask"], env) if "key_padding_mask" in kw else None
        if e[1] == "multihead_attention":
            heads = int(self.const(args[2])) if len(args) > 2 else int(C("num_heads", None))
            return self.self_attention(name, x, heads, causal, pad, C("dropout", 0.0))
        heads, p = int(C("nhead", None)), C("dropout", 0.1)
        P = lambda k: self.params[name + "." + k]
        act = {"relu": torch.relu, "gelu": F.gelu}[C("activation", "relu")]
        eps = C("layer_norm_eps", 1e-5)
        norm = lambda i, t: F.layer_norm(t, t.shape[-1:], P("norm%d.weight" % i), P("norm%d.bias" % i), eps)
        sa = lambda t: self.dropout(name + ".dropout1", self.self_attention(name + ".self_attn", t, heads, causal, pad, p), p)
        ff = lambda t: self.dropout(name + ".dropout2", F.linear(self.dropout(name + ".dropout", act(F.linear(t, P("linear1.weight"), P("linear1.bias"))), p),
                                                                  P("linear2.weight"), P("linear2.bias")), p)
        if C("norm_first", False):
            x = x + sa(norm(1, x))
            return x + ff(norm(2, x))
        x = norm(1, x + sa(x))
        return norm(2, x + ff(x))

    def loss(self, e, env, targets):
        if e[0] == "num":
            return e[1]
        if e[0] == "bin":
            a, b = self.loss(e[2], env, targets), self.loss(e[3], env, targets)
            return {"+": lambda: a + b, "-": lambda: a - b, "*": lambda: a * b, "/": lambda: a / b}[e[1]]()
        assert e[0] == "call", e
        y = self.ev(e[2][0], env)
        t = e[2][1]
        tname = t[1]
        tv = env[tname] if tname in env else targets[tname]
        kw = e[3]
        red = self.const(kw["reduction"]) if "reduction" in kw else "mean"
        if e[1] in ("cross_entropy", "nll_loss"):
            return self.class_loss(e[1], y, tv, kw, red)
        if e[1] in ("smooth_l1", "huber"):
            # 0.5 d²/beta below beta, else |d| - 0.5 beta; huber: 0.5 d² below
            # delta, else delta (|d| - 0.5 delta); beta=0 is l1.
            key = "beta" if e[1] == "smooth_l1" else "delta"
            k = self.const(kw[key]) if key in kw else 1.0
            d = y - tv
            a = d.abs()
            if e[1] == "smooth_l1":
                terms = a if k == 0 else torch.where(a < k, 0.5 * d * d / k, a - 0.5 * k)
            else:
                terms = torch.where(a < k, 0.5 * d * d, k * (a - 0.5 * k))
            return terms.mean() if red == "mean" else terms.sum()
        f = {"mse": F.mse_loss, "l1": F.l1_loss,
             "bce_with_logits": F.binary_cross_entropy_with_logits}[e[1]]
        return f(y, tv, reduction=red)

    def class_loss(self, name, y, t, kw, red):
        """The language's cross_entropy and nll_loss: with logp = y - log Σ e^y
        (cross_entropy) or y (nll_loss), each sample of class c != ignore_index
        adds -(1-eps) w[c] logp[c] - eps/C Σ_j w[j] logp[j]; the mean divides
        by Σ w[c] over those samples."""
        C = y.shape[-1]
        w = torch.ones(C)
        if "weight" in kw:
            w = torch.tensor([float(self.const(a)) for a in kw["weight"][1]])
        ignore = int(self.const(kw["ignore_index"])) if "ignore_index" in kw else -100
        eps = self.const(kw["label_smoothing"]) if "label_smoothing" in kw else 0.0
        logp = y - torch.logsumexp(y, dim=-1, keepdim=True) if name == "cross_entropy" else y
        keep = t != ignore
        c = torch.where(keep, t, torch.zeros_like(t))
        wc = torch.where(keep, w[c], torch.zeros(()))
        terms = -(1 - eps) * wc * logp.gather(-1, c.unsqueeze(-1)).squeeze(-1) \
            - eps / C * torch.where(keep, (logp * w).sum(-1), torch.zeros(()))
        return terms.sum() / wc.sum() if red == "mean" else terms.sum()


def loss_targets(e, inputs, acc):
    """New target declarations in loss order: (name, dims or None)."""
    if e[0] == "bin":
        loss_targets(e[2], inputs, acc), loss_targets(e[3], inputs, acc)
    elif e[0] == "call":
        t = e[2][1]
        if t[0] == "decl":
            acc.append((t[1], t[2]))
        elif t[1] not in inputs:
            acc.append((t[1], None))
    return acc


BATCH_NORMS = ("batch_norm1d", "batch_norm2d")
ATTENTION = ("multihead_attention", "transformer_encoder_layer")
ATTENTION_PARAMS = ["self_attn.in_proj_weight", "self_attn.in_proj_bias", "self_attn.out_proj.weight", "self_attn.out_proj.bias"]
ENCODER_PARAMS = ATTENTION_PARAMS + ["linear1.weight", "linear1.bias", "linear2.weight", "linear2.bias",
                                     "norm1.weight", "norm1.bias", "norm2.weight", "norm2.bias"]


def flag(kw, key):
    """A true-or-false keyword of a call, true when absent."""
    return key not in kw or WORDS[kw[key][1]]


def declared_buffers(a):
    """The buffers a line declares: a buffer statement's, a batch norm's running statistics."""
    if a[0] == "buffer":
        return [a[1]]
    if a[0] == "assign" and a[2][0] == "call" and a[2][1] in BATCH_NORMS and flag(a[2][3], "track_running_stats"):
        return [a[1] + ".running_mean", a[1] + ".running_var", a[1] + ".num_batches_tracked"]
    return []


RECURRENT = ("gru", "lstm")


def recurrent_params(a):
    """A gru's or lstm's parameters, named after its first result, in state_dict order."""
    kw = a[2][3]
    layers = int(kw["num_layers"][1]) if "num_layers" in kw else 1
    suffixes = ["weight_ih", "weight_hh"] + ([] if "bias" in kw and kw["bias"][1] == "false" else ["bias_ih", "bias_hh"])
    dirs = ["", "_reverse"] if "bidirectional" in kw and WORDS[kw["bidirectional"][1]] else [""]
    return ["%s.%s_l%d%s" % (a[1][0], k, l, d) for l in range(layers) for d in dirs for k in suffixes]


def check_source(case, prog, net):
    """Static checks of the source against the case: names, shapes, orders, every value used."""
    assert "network" in prog and prog["outputs"] and prog["loss"] and prog["optimizer"], case["name"]
    assert prog["batch"] == case["batch"], "batch"
    assert [n for n, _ in prog["inputs"]] == list(case["inputs"]), "inputs"
    assert all(list(d) == shape_of(case["inputs"][n]) for n, d in prog["inputs"]), "input shapes"
    assert prog["outputs"] == case["outputs"], "outputs"
    tg = loss_targets(prog["loss"], case["inputs"], [])
    assert [n for n, _ in tg] == list(case["targets"]), ("targets", tg)
    # Parameter order: linear layers and param lines in file order, as named_parameters() gives them.
    order = []
    for a in prog["assigns"]:
        if a[0] == "param":
            order.append(a[1])
        elif a[0] == "multi" and a[2][1] in RECURRENT:
            order += recurrent_params(a)
        elif a[0] in ("multi", "buffer"):
            pass
        elif a[2][0] == "call" and a[2][1] in ("embedding", "embedding_bag"):
            order.append(a[1] + ".weight")
        elif a[2][0] == "call" and a[2][1] == "layer_norm":
            if not ("elementwise_affine" in a[2][3] and a[2][3]["elementwise_affine"][1] == "false"):
                order += [a[1] + ".weight", a[1] + ".bias"]
        elif a[2][0] == "call" and a[2][1] in ("linear", "conv1d", "conv2d"):
            order.append(a[1] + ".weight")
            if not ("bias" in a[2][3] and a[2][3]["bias"][1] == "false"):
                order.append(a[1] + ".bias")
        elif a[2][0] == "call" and a[2][1] == "multihead_attention":
            order += [a[1] + "." + k.split(".", 1)[1] for k in ATTENTION_PARAMS]
        elif a[2][0] == "call" and a[2][1] == "transformer_encoder_layer":
            order += [a[1] + "." + k for k in ENCODER_PARAMS]
        elif a[2][0] == "call" and a[2][1] in BATCH_NORMS:
            if flag(a[2][3], "affine"):
                order += [a[1] + ".weight", a[1] + ".bias"]
        else:
            # linear only as a whole right-hand side
            def nolinear(e):
                if e[0] == "call":
                    assert e[1] != "linear", "linear nested in " + a[1]
                    for x in e[2]:
                        nolinear(x)
                    for x in e[3].values():
                        nolinear(x)
                elif e[0] == "bin":
                    nolinear(e[2]), nolinear(e[3])
                elif e[0] == "neg":
                    nolinear(e[1])
            nolinear(a[2])
    assert order == [k for k, _ in net.named_parameters()], (order, [k for k, _ in net.named_parameters()])
    for n, dims, _ in prog["params"]:
        assert list(dict(net.named_parameters())[n].shape) == dims, n
    # Buffers: in file order, as named_buffers() gives them; parameters and
    # buffers together in state_dict() order.
    declared = [n for a in prog["assigns"] for n in declared_buffers(a)]
    assert declared == [k for k, _ in net.named_buffers()], ("buffers", declared)
    for n, dims, _ in prog["buffers"]:
        assert list(dict(net.named_buffers())[n].shape) == dims, n
    state = [k for k in net.state_dict()]
    assert [k for k in state if k in declared or k in order] == state, "state_dict has more"
    merged, params, buffers = [], iter(order), iter(declared)
    for a in prog["assigns"]:  # file order of the declarations
        if a[0] == "buffer":
            merged.append(next(buffers))
        elif a[0] == "multi" and a[2][1] in RECURRENT:
            merged.extend(recurrent_params(a))
        elif a[0] == "param" or a[0] == "assign" and a[2][0] == "call" and a[2][1] in ("linear", "conv1d", "conv2d", "embedding", "embedding_bag", "layer_norm") + BATCH_NORMS + ATTENTION:
            merged.extend(k for k in order if k == a[1] or k.startswith(a[1] + "."))
            merged.extend(next(buffers) for _ in declared_buffers(a))
    assert merged == state, ("state_dict order", merged, state)
    # Every value used: each input, param and assignment is read by a later line, the output or the loss.
    used = set(prog["outputs"]) | names_in(prog["loss"], set())
    defined = [n for n, _ in prog["inputs"]]
    for a in prog["assigns"]:
        if a[0] in ("param", "buffer"):
            defined.append(a[1])
            continue
        if a[0] == "multi":
            defined.extend(a[1])
            names_in(a[2], used)
            continue
        defined.append(a[1])
        e = a[2]
        if e[0] == "call" and e[1] in ("linear", "embedding", "embedding_bag"):
            used.add(e[2][0][1])
        else:
            names_in(e, used)
    unused = [n for n in defined if n not in used]
    assert not unused, ("unused", unused)
    # Optimizer line: the same settings as the module's optimizer.
    o = prog["optimizer"]
    opt = case["optimizer"](net.parameters())
    kind = {"sgd": torch.optim.SGD, "adam": torch.optim.Adam, "adamw": torch.optim.AdamW}[o[1]]
    assert type(opt) is kind, "optimizer kind"
    group = opt.param_groups[0]
    for k, v in o[3].items():
        val = tuple(x[1] for x in v[1]) if v[0] == "tuple" else (v[1] if v[0] == "num" else WORDS[v[1]])
        assert group[k] == val, ("optimizer setting", k, group[k], val)
    defaults = kind(net.parameters(), lr=group["lr"]).param_groups[0]
    for k in ("momentum", "dampening", "nesterov", "weight_decay", "betas", "eps"):
        if k in group and k not in o[3]:
            assert group[k] == defaults[k], ("optimizer setting not in the source", k)


# ---------------------------------------------------------------- running

def tolist(t):
    return t.detach().tolist()


def as_tuple(out):
    return out if isinstance(out, tuple) else (out,)


def run(case):
    g = torch.Generator().manual_seed(case["seed"])
    net = case["module"]()
    prog = parse_source(case["source"])
    check_source(case, prog, net)
    with torch.no_grad():  # float32-representable starting values, so float32 and float64 runs start equal
        for k, p in net.named_parameters():
            if k in case.get("init", {}):
                lo, hi = case["init"][k]
            else:
                scale = case.get("weight_scale", 1.0)
                if isinstance(scale, dict):  # by layer: {"l1": 3.0}
                    scale = scale.get(k.rsplit(".", 1)[0], 1.0)
                bound = (1.0 / (p.shape[-1] ** 0.5) if p.dim() == 2 else 0.5) * scale
                lo, hi = -bound, bound
            p.copy_((lo + torch.rand(p.shape, generator=g) * (hi - lo)).float().double())
        for k, b in net.named_buffers():  # from the case's range, as a declared param
            if not b.is_floating_point():  # a count: the case's, or PyTorch's 0
                b.fill_(case.get("counts", {}).get(k, 0))
                continue
            lo, hi = case["init"][k]
            b.copy_((lo + torch.rand(b.shape, generator=g) * (hi - lo)).float().double())
    start = {k: tolist(v) for k, v in net.named_parameters()}
    buffers = {k: tolist(v) for k, v in net.named_buffers()}
    opt = case["optimizer"](net.parameters())
    batch = case["batch"]
    rng = case.get("input_range", 1.0)
    steps = []
    # "sizes": the samples of each step, up to the batch (the partial
    # batches a package compiled for the batch runs too).
    for s, rows in enumerate(case.get("sizes", [batch] * case.get("steps", 3))):
        lead = () if batch is None else (rows,)
        inputs = {n: draw_input(case, n, shape, lead, s, g, rng) for n, shape in case["inputs"].items()}
        train = case.get("train", [True] * (s + 1))[s]
        net.train(train)
        # The harness calls Forward, then Backward: in training mode each
        # runs the network and moves batch norm's running statistics, so
        # PyTorch runs it twice too.
        if train and any(isinstance(m, nn.modules.batchnorm._BatchNorm) for m in net.modules()):
            with torch.no_grad():
                net(*inputs.values())
        opt.zero_grad()
        dropouts = {k: m for k, m in net.named_modules() if isinstance(m, RecordedDropout)}
        for m in dropouts.values():
            m.mask, m.gen = None, g
        outs = dict(zip(case["outputs"], as_tuple(net(*inputs.values()))))
        moved = {k: v.detach().clone() for k, v in net.named_buffers()}
        masks = {k: m.mask for k, m in dropouts.items() if m.mask is not None}
        targets = {}
        for n, shape in case["targets"].items():
            if shape == "classes" or isinstance(shape, tuple):  # class indices for the first output's last axis
                # one per row of the logits: per sample, or per position of a sequence's [B, seq, classes]
                rows = tuple(outs[case["outputs"][0]].shape[:-1])
                classes = outs[case["outputs"][0]].shape[-1]
                targets[n] = torch.randint(0, classes, rows, generator=g)
                if isinstance(shape, tuple):  # ("classes", ignore_index): a third of them ignored
                    ignore = shape[1]
                    targets[n] = torch.where(torch.rand(rows, generator=g) < 1 / 3, ignore, targets[n])
                    kept = (targets[n] != ignore).sum().item()
                    assert 0 < kept < targets[n].numel(), (case["name"], "want ignored and kept labels", targets[n])
            else:
                targets[n] = (torch.rand(lead + tuple(shape), generator=g) * 2 - 1).float().double()
        loss = case["loss"](outs, inputs, targets)
        loss.backward()
        grads = {k: v.grad.detach().clone() for k, v in net.named_parameters()}
        check_interpreter(case, prog, net, inputs, targets, outs, loss, grads, masks, train)
        check_finite_differences(case, net, inputs, targets, grads)
        with torch.no_grad():  # the differences ran the network again: back to the statistics of the step
            for k, v in net.named_buffers():
                v.copy_(moved[k])
        opt.step()
        extra = {}
        if "train" in case:  # the mode, and the masks of the dropout layers that drew one
            extra = {"train": train, "masks": {k: tolist(v) for k, v in masks.items()}}
        steps.append({**extra, "inputs": {k: tolist(v) for k, v in inputs.items()},
                      "targets": {k: tolist(v) for k, v in targets.items()},
                      "outputs": {k: tolist(v) for k, v in outs.items()},
                      "loss": loss.item(),
                      "grads": {k: tolist(v) for k, v in grads.items()},
                      "params_after": {k: tolist(v) for k, v in net.named_parameters()}})
        if buffers:
            steps[-1]["buffers_after"] = {k: tolist(v) for k, v in net.named_buffers()}
    trace = {"name": case["name"], "description": case["description"],
             "torch_version": torch.__version__, "dtype": "float64",
             "source": case["source"], "batch": batch,
             "inputs": list(case["inputs"]), "outputs": list(case["outputs"]),
             "targets": list(case["targets"]),
             "params": start, "steps": steps}
    if buffers:
        trace["buffers"] = buffers
    if "padding_rows" in case:
        trace["padding_rows"] = case["padding_rows"]
    sanity(trace)
    return trace


def shape_of(spec):
    """An input's per-sample shape: [6], or ("ids", [6], rows) for ids."""
    return list(spec[1]) if isinstance(spec, tuple) else spec


def draw_input(case, name, spec, lead, step, g, rng):
    """Uniform numbers in [-rng, rng], float32-representable; or ids below
    the table's rows, with the case's padding id in each sample's last
    place (a padded sequence) and, at the second step, filling the first
    sample (a bag of padding only)."""
    if not isinstance(spec, tuple):
        return ((torch.rand(lead + tuple(spec), generator=g) * 2 - 1) * rng).float().double()
    if spec[0] == "padding_mask":  # an additive key padding mask: -1e9 for the ignored keys (in the first sample, the last, then the third, then the last two), 0 for the others; never the first key, which a causal mask leaves alone in the first row
        m = torch.zeros(lead + tuple(spec[1]), dtype=torch.float64)
        m[0, [[-1], [2], [-2, -1]][step % 3]] = -1e9
        return m
    _, shape, rows = spec
    ids = torch.randint(0, rows, lead + tuple(shape), generator=g)
    pad = case.get("padding", {}).get(name)
    if pad is not None:
        ids[..., -1] = pad
        if step == 1:
            ids[0] = pad
    return ids


def check_interpreter(case, prog, net, inputs, targets, outs, loss, grads, masks, train):
    params = {k: v.detach().clone().requires_grad_(True) for k, v in net.named_parameters()}
    # Copies of the buffers (in training mode the outputs do not depend on them).
    it = Interp(prog, params, {k: v.detach().clone() for k, v in net.named_buffers()}, masks, train)
    env = it.forward(inputs)
    for n in case["outputs"]:
        assert env[n].shape == outs[n].shape, (n, env[n].shape, outs[n].shape)
        assert torch.allclose(env[n], outs[n], rtol=1e-12, atol=1e-12), (case["name"], n)
    # Target shapes as declared (per sample) and as the loss needs them.
    for n, dims in loss_targets(prog["loss"], case["inputs"], []):
        if dims is not None:
            assert list(targets[n].shape[1 if case["batch"] else 0:]) == dims, n
    l = it.loss(prog["loss"], env, targets)
    assert abs(l.item() - loss.item()) <= 1e-12 * max(1, abs(loss.item())), (case["name"], l.item(), loss.item())
    l.backward()
    for k, v in params.items():
        assert torch.allclose(v.grad, grads[k], rtol=1e-10, atol=1e-12), (case["name"], k)


def check_finite_differences(case, net, inputs, targets, grads, h=1e-6):
    worst = 0.0
    with torch.no_grad():
        def f():
            outs = dict(zip(case["outputs"], as_tuple(net(*inputs.values()))))
            return case["loss"](outs, inputs, targets).item()
        loss = f()
        for k, p in net.named_parameters():
            flat, gflat = p.view(-1), grads[k].view(-1)
            for i in range(flat.numel()):
                if k in case.get("padding_rows", {}) and i // p.shape[1] == case["padding_rows"][k]:
                    assert gflat[i].item() == 0, (case["name"], k, "padding row gradient")
                    continue
                old = flat[i].item()
                flat[i] = old + h
                up = f()
                flat[i] = old - h
                down = f()
                flat[i] = old
                fd = (up - down) / (2 * h)
                err = abs(fd - gflat[i].item()) / max(1e-3 * max(1.0, abs(loss)), abs(gflat[i].item()))
                worst = max(worst, err)
    assert worst < 1e-5, (case["name"], "finite differences", worst)
    case.setdefault("_fd", []).append(worst)


def flat_numbers(v):
    if isinstance(v, (int, float)):
        return [v]
    if isinstance(v, dict):
        return [x for e in v.values() for x in flat_numbers(e)]
    return [x for e in v for x in flat_numbers(e)]


def sanity(tr):
    assert all(math.isfinite(x) for x in flat_numbers(tr["params"]))
    for st in tr["steps"]:
        for key in ("inputs", "targets", "outputs", "grads", "params_after"):
            assert all(math.isfinite(x) for x in flat_numbers(st[key])), (tr["name"], key)
        assert math.isfinite(st["loss"])
    losses = [st["loss"] for st in tr["steps"]]
    assert all(a != b for a, b in zip(losses, losses[1:])), (tr["name"], "loss unchanged", losses)
    for k in tr["params"]:
        assert any(any(x != 0 for x in flat_numbers(st["grads"][k])) for st in tr["steps"]), (tr["name"], k, "zero gradient")
    before = tr["params"]
    for st in tr["steps"]:
        assert st["params_after"] != before, (tr["name"], "no update")
        before = st["params_after"]


if __name__ == "__main__":
    check_dropout()
    outdir = os.path.dirname(os.path.abspath(__file__))
    only = set(sys.argv[1:])
    for c in CASES:
        if only and c["name"] not in only:
            continue
        tr = run(c)
        with open(os.path.join(outdir, c["name"] + ".json"), "w") as f:
            json.dump(tr, f, indent=1)
            f.write("\n")
        print("wrote %-24s losses %s  finite-difference error %.1e" % (
            c["name"] + ".json", " ".join("%.6g" % st["loss"] for st in tr["steps"]), max(c["_fd"])))
