package syntax

import (
	"errors"
	"strconv"
	"strings"
	"testing"
)

// trainable is a valid network with a loss, five lines long.
const trainable = "network M\ninput x[4]\ny = linear(x, 3)\noutput y\nloss mse(y, t[3])\n"

// errorTests are malformed files, each with every error Compile must report.
var errorTests = []struct {
	name, src, want string
}{{
	name: "buffers: uniform, a missing start value, a reused name, buffer as a name",
	src: `network M
input x[4]
buffer a[4] = uniform
buffer b[4] =
buffer a[4] = zeros
buffer = relu(x)
y = linear(x * a, 3)
output y
`,
	want: `model.nn:3:15: a buffer starts as zeros or ones, found "uniform"
model.nn:4:14: expected zeros or ones, found end of line
model.nn:5:8: duplicate name a; first defined at model.nn:3:8
model.nn:6:1: cannot use buffer as a name: it is a statement keyword`,
}, {
	name: "unknown op, with a hint; names defined from it cause nothing more",
	src: `network M
input x[4]
layer1 = linear(x, 5)
h1 = sigmod(layer1)
h2 = sigmoid(h1)
output h2
`,
	want: `model.nn:4:6: unknown op "sigmod"; did you mean "sigmoid"?`,
}, {
	name: "unknown op, nothing close",
	src:  "network M\ninput x[4]\ny = quantize(x)\noutput y\n",
	want: `model.nn:3:5: unknown op "quantize" (known: abs, adaptive_avg_pool1d, adaptive_avg_pool2d, add, avg_pool1d, avg_pool2d, batch_norm1d, batch_norm2d, cat, chunk, clamp, concat, conv1d, conv2d, div, dropout, elu, embedding, embedding_bag, exp, flatten, gelu, gru, hardsigmoid, hardswish, identity, layer_norm, leaky_relu, linear, log, log_softmax, lstm, matmul, max, max_pool1d, max_pool2d, mean, mish, mul, multihead_attention, neg, permute, pow, reciprocal, relu, reshape, sigmoid, silu, slice, softmax, softplus, softsign, split, sqrt, squeeze, sub, sum, tanh, transformer_encoder_layer, transpose, unsqueeze)`,
}, {
	name: "batch_norm1d and batch_norm2d: every misuse at once",
	src: `network M
batch 4
input x[3, 5]
input v[6]
a = batch_norm1d(x, 4)
b = batch_norm2d(x)
c = batch_norm1d(v, eps=0)
d = batch_norm1d(v, momentum=fast)
e = batch_norm1d(v, affine=maybe, track_running_stats=1)
f = batch_norm1d(v, bias=true)
output f
`,
	want: `model.nn:5:21: a: batch_norm1d expects 4 features but x has 3 channels
model.nn:6:18: batch_norm2d's input x must be [channels, height, width] per sample, found [3,5]
model.nn:7:25: batch_norm1d's eps must be a positive number, found 0
model.nn:8:30: batch_norm1d's momentum (a number, or none) must be a number, found "fast"
model.nn:9:28: affine must be true or false, found "maybe"
model.nn:9:55: track_running_stats must be true or false, found "1"
model.nn:10:21: batch_norm1d has no argument "bias" (it takes: eps, momentum, affine, track_running_stats)`,
}, {
	name: "batch_norm1d without a batch",
	src:  "network M\ninput v[6]\nb = batch_norm1d(v)\noutput b\n",
	want: "model.nn:3:18: batch_norm1d normalizes over the batch: the network needs a batch line",
}, {
	name: "batch_norm1d of one value per channel",
	src:  "network M\nbatch 1\ninput v[6]\nb = batch_norm1d(v)\noutput b\n",
	want: "model.nn:4:18: b: batch_norm1d of [1,6] has one value per channel in a batch: training needs more than one (PyTorch refuses it too)",
}, {
	name: "embedding and embedding_bag: every misuse at once",
	src: `network M
batch 2
input ids[5] int
input x[5]
a = embedding(ids, 10)
b = embedding(x, 10, 4)
c = embedding(ids, 10, 4, padding_idx=10)
d = embedding(ids, 10, 4, padding_idx=1.5)
e = embedding_bag(ids, 10, 4, mode=max)
f = embedding(ids, 10, 4, mode=sum)
g = relu(ids)
h = embedding(ids, 10, 4) + 1
k = embedding_bag(ids, 10, 4, padding_idx=-1)
output k
`,
	want: `model.nn:5:5: embedding takes 3 arguments, as in embedding(ids, num_embeddings, embedding_dim); got 2
model.nn:6:15: embedding's ids must be an input declared int (input x[LENGTH] int), but x holds numbers
model.nn:7:39: padding_idx 10 is not a row of a table of 10 (0 to 9, or -1 to -10)
model.nn:8:39: padding_idx must be an integer, found 1.5
model.nn:9:36: mode must be mean or sum, found "max"
model.nn:10:27: embedding has no argument "mode" (it takes: padding_idx)
model.nn:11:10: relu's input cannot be ids: it holds integer ids, which only embedding and embedding_bag read
model.nn:12:5: embedding must be the whole right-hand side of an assignment, which names its table: e = embedding(ids, num_embeddings, embedding_dim)`,
}, {
	name: "conv1d and conv2d: every misuse at once",
	src: `network M
batch 2
input x[3, 8, 8]
input s[3, 10]
a = conv2d(x, 4)
b = conv2d(x, 4, kernel=(3, 3, 3))
c = conv2d(x, 4, kernel=3, groups=2)
d = conv2d(x, 4, kernel=4, padding=same)
e = conv1d(x, 4, kernel=3)
f = conv2d(x, 5, 4, kernel=3)
g = conv1d(s, 4, kernel=3, stride=0, padding=wide)
h = conv2d(x, 4, kernel=9)
output a
`,
	want: `model.nn:5:5: conv2d needs its kernel size, as in conv2d(x, out, kernel=3) or conv2d(x, in, out, kernel=3)
model.nn:6:25: kernel must be an integer or a tuple of 2, found "(3, 3, 3)"
model.nn:7:35: c: 2 groups must divide the input channels (3) and the output channels (4)
model.nn:8:36: conv2d: padding=same needs stride 1 and an odd kernel (or an even reach, dilation·(kernel-1)), found kernel [4,4], stride [1,1], dilation [1,1]
model.nn:9:12: conv1d's input x must be [batch, channels, length], found one sample of [3,8,8]
model.nn:10:15: f: conv2d expects 5 input channels but x has 3
model.nn:11:35: stride must be from 1 to 16777216, found 0
model.nn:11:46: padding must be an integer, a tuple of 1, same or valid, found "wide"
model.nn:12:1: h: conv: a kernel of [9,9] (dilation [1,1]) does not fit the input [8,8] padded by [0,0]`,
}, {
	name: "pooling: every misuse at once",
	src: `network M
batch 2
input x[3, 8, 8]
a = max_pool2d(x)
b = max_pool2d(x, 2, kernel=2)
c = avg_pool2d(x, 2, dilation=2)
d = max_pool1d(x, 2)
e = adaptive_avg_pool2d(x, 2)
f = max_pool2d(x, 3, padding=2)
output a
`,
	want: `model.nn:4:5: max_pool2d needs its kernel size, as in max_pool2d(x, 2)
model.nn:5:22: max_pool2d got kernel twice, by position and by keyword
model.nn:6:22: avg_pool2d has no argument "dilation" (it takes: kernel, stride, padding)
model.nn:7:16: max_pool1d's input x must be [batch, channels, length], found one sample of [3,8,8]
model.nn:8:28: adaptive_avg_pool2d: only an output size of 1 (global average pooling) is supported, found 2
model.nn:9:1: f: max_pool: kernel [3,3], stride [3,3], dilation [1,1], padding [2,2]: want kernels, strides and dilations of at least 1, and paddings of at most half the window's reach`,
}, {
	name: "split and chunk: every misuse at once, and the names they were to define cause nothing more",
	src: `network M
batch 2
input x[7]
a, b = split(x, 4, dim=1)
c, d = split(x, sizes=(3, 3))
e, f, g = chunk(x, 4)
h = split(x, 2)
i, j = sigmoid(x)
k, l = split(x, 4, sizes=(3, 4))
m, n = chunk(x, 0)
o, p = split(x, sizes=(3, 0, 4))
q, r = split(x, 4, dim=3)
s, = split(x, 4)
t = cat(a, b, c, d, e, f, g, h, i, j, k, l, m, n, o, p, q, r, dim=1)
u = a + b
output t, u
`,
	want: `model.nn:5:23: sizes [3 3] add up to 6, but x has 7 elements along dim
model.nn:6:11: chunk gives 4 pieces of x's 7 elements along dim (sizes [2 2 2 1]), but 3 names receive them
model.nn:7:5: split returns several tensors: name each, as in h, h_2 = split(...)
model.nn:8:8: only split, chunk, gru and lstm return several tensors; 2 names need one of them after =
model.nn:9:8: split takes a size or sizes=(...), one of them: split(x, 4, dim=1) or split(x, sizes=(2, 3, 3), dim=1)
model.nn:10:17: chunk's count must be at least 1, found 0
model.nn:11:27: a size must be at least 1, found 0
model.nn:12:24: dim 3 is out of range for a tensor of 2 dimensions (from -2 to 1)
model.nn:13:4: expected a name after the comma, found "="
model.nn:15:7: add: shapes [2,4] and [2,3] do not broadcast: 4 against 3`,
}, {
	name: "undefined name, with a hint",
	src: `network M
input x[4]
h1 = sigmoid(x)
h2 = sigmoid(h1)
y = linear(h3, 2)
output y
`,
	want: `model.nn:5:12: undefined: h3; did you mean h2?`,
}, {
	name: "undefined name, nothing close",
	src:  "network M\ninput x[4]\ny = linear(features, 2)\noutput y\n",
	want: `model.nn:3:12: undefined: features`,
}, {
	name: "use before definition",
	src:  "network M\ninput x[4]\ny = sigmoid(h)\nh = sigmoid(x)\noutput y\n",
	want: `model.nn:3:13: undefined: h (it is defined later, at model.nn:4:1)`,
}, {
	name: "duplicate name",
	src: `network M
input x[4]
layer1 = linear(x, 5)
layer1 = linear(x, 3)
x = sigmoid(layer1)
output layer1
`,
	want: `model.nn:4:1: duplicate name layer1; first defined at model.nn:3:1
model.nn:5:1: duplicate name x; first defined at model.nn:2:7`,
}, {
	name: "linear(x, in, out) with the wrong in",
	src: `network M
input x[4]
layer1 = linear(x, 5)
h1 = sigmoid(layer1)
layer2 = linear(h1, 7, 3)
output layer2
`,
	want: `model.nn:5:21: layer2: linear expects 7 input features but h1 has 5`,
}, {
	name: "loss target of the wrong size",
	src: `network M
input x[4]
layer3 = linear(x, 3)
output layer3
loss mse(layer3, target[4])
`,
	want: `model.nn:5:25: loss: output layer3 has 3 features but target has 4`,
}, {
	name: "empty file",
	src:  "",
	want: `model.nn:1:1: missing network statement; add one like: network MyModel
model.nn:1:1: missing input statement; add one like: input x[4]
model.nn:1:1: missing output statement; add one like: output y`,
}, {
	name: "duplicate statements",
	src: `network M
network N
batch 2
batch 4
dtype float32
dtype float64
input x[4]
input z[4]
y = linear(z, 3)
output y
output x
loss mse(y, t[3])
loss mse(y, t[3])
optimizer sgd(lr=0.1)
optimizer sgd(lr=0.2)
`,
	want: `model.nn:2:1: duplicate network statement; first at model.nn:1:1
model.nn:4:1: duplicate batch statement; first at model.nn:3:1
model.nn:6:1: duplicate dtype statement; first at model.nn:5:1
model.nn:11:1: duplicate output statement; first at model.nn:10:1
model.nn:13:1: duplicate loss statement; first at model.nn:12:1
model.nn:15:1: duplicate optimizer statement; first at model.nn:14:1`,
}, {
	name: "optimizer without a loss",
	src:  "network M\ninput x[4]\ny = linear(x, 3)\noutput y\noptimizer sgd(lr=0.1)\n",
	want: `model.nn:5:1: optimizer without a loss to minimize; add one like: loss mse(y, target[3])`,
}, {
	name: "sizes out of range",
	src: `network M
batch 16777217
input x[0]
y = linear(x, -3)
z = linear(x, 2.5)
w = linear(x, 99999999999999999999)
output y
`,
	want: `model.nn:2:7: batch must be an integer from 1 to 16777216, found "16777217"
model.nn:3:9: the size of x must be an integer from 1 to 16777216, found "0"
model.nn:4:15: linear's output size must be an integer from 1 to 16777216, found "-3"
model.nn:5:15: linear's output size must be an integer from 1 to 16777216, found "2.5"
model.nn:6:15: linear's output size must be an integer from 1 to 16777216, found "99999999999999999999"`,
}, {
	name: "tensors too large",
	src: `network M
batch 65536
input x[8192]
input small[1]
`,
	want: `model.nn:1:1: missing output statement; add one like: output y
model.nn:3:7: x would be [65536,8192], 536870912 elements; at most 268435456 are allowed`,
}, {
	name: "weight too large",
	src:  "network M\ninput x[65536]\ny = linear(x, 65536)\noutput y\n",
	want: `model.nn:3:1: y.weight would be [65536,65536], 4294967296 elements; at most 268435456 are allowed`,
}, {
	name: "bad keyword values and dtype",
	src: `network M
dtype float16
input x[4]
y = linear(x, 3, bias=maybe)
z = linear(x, 3)
output z
loss mse(z, t[3], reduction=max)
`,
	want: `model.nn:2:7: dtype must be float32 or float64, found "float16"
model.nn:4:23: bias must be true or false, found "maybe"
model.nn:7:29: reduction must be mean or sum, found "max"`,
}, {
	name: "unknown and misplaced arguments",
	src: `network M
input x[4]
a = linear(x, 3, baias=false)
b = linear(x, 3, scale=2)
c = sigmoid(x, slope=2)
d = linear(x, 3, bias=false, bias=true)
e = linear(x)
f = sigmoid(x, x)
g = sigmoid(3)
h = linear(x, bias=false, 3)
output x
`,
	want: `model.nn:3:18: linear has no argument "baias"; did you mean "bias"?
model.nn:4:18: linear has no argument "scale" (it takes: bias)
model.nn:5:16: sigmoid takes no keyword arguments, found "slope"
model.nn:6:30: duplicate argument bias
model.nn:7:5: linear takes 2 or 3 arguments, as in linear(x, out) or linear(x, in, out); got 1
model.nn:8:5: sigmoid takes 1 argument, as in sigmoid(x); got 2
model.nn:9:13: sigmoid's input must be a value name, found "3"
model.nn:10:27: positional argument "3" after keyword arguments`,
}, {
	name: "unknown statements and keywords as names",
	src: `network M
optimiser sgd(lr=0.1)
inputs x[4]
input x[4]
h1 sigmoid(x)
output = sigmoid(x)
input loss[2]
output output
`,
	want: `model.nn:2:1: unknown statement "optimiser"; did you mean "optimizer"?
model.nn:3:1: unknown statement "inputs"; did you mean "input"?
model.nn:5:1: unknown statement "h1"; a line is NAME = op(...) or starts with network, batch, dtype, input, param, buffer, output, loss or optimizer
model.nn:6:1: cannot use output as a name: it is a statement keyword
model.nn:7:7: cannot use loss as a name: it is a statement keyword`,
}, {
	name: "incomplete statements",
	src: `network
batch eight
dtype
input x
input x[4] y
output
loss
loss mse
h = sigmoid(x)
h = sigmoid(h)
`,
	want: `model.nn:1:8: expected a name after network, found end of line
model.nn:2:7: expected a batch size after batch, found "eight"
model.nn:3:6: expected float32 or float64 after dtype, found end of line
model.nn:4:8: expected '[' after x (an input is declared as NAME[SIZE]), found end of line
model.nn:5:12: unexpected "y" at end of statement
model.nn:6:7: expected a name after output, found end of line
model.nn:7:5: expected a loss function after loss, found end of line
model.nn:8:9: expected '(' after mse, found end of line
model.nn:10:1: duplicate name h; first defined at model.nn:9:1`,
}, {
	name: "syntax errors",
	src: `network M
input x[4
h = sigmoid(x
y = linear(x 5)
z = linear(x, 1.2.3)
w = linear(x, 1e999)
v = linear(x, 3) $
u = 
= sigmoid(x)
t = sigmoid(x,)
s = linear(x, 3, bias=)
output y
`,
	want: `model.nn:2:10: expected ']' after size, found end of line
model.nn:3:14: expected ')' after arguments, found end of line
model.nn:4:14: expected ')' after arguments, found "5"
model.nn:5:15: bad number "1.2.3"
model.nn:6:15: number "1e999" is out of range
model.nn:7:18: unexpected character '$'
model.nn:8:5: expected an op after =, found end of line
model.nn:9:1: expected a statement, found "="
model.nn:10:15: expected an argument, found ")"
model.nn:11:23: expected a value after bias=, found ")"`,
}, {
	name: "NUL, invalid UTF-8 and non-ASCII names",
	src:  "network M\ninput x[4]\ny = sigmoid(x)\x00\nz = sigmoid(x) # caf\xe9\nnaïve = sigmoid(x)\noutput y\n",
	want: `model.nn:3:15: invalid NUL character
model.nn:4:21: invalid UTF-8 encoding
model.nn:5:3: unexpected character U+00EF 'ï'; names use ASCII letters, digits and _`,
}, {
	name: "optimizer settings, checked by the ir package",
	src:  trainable + "optimizer sgd(lr=-0.5)\n",
	want: `model.nn:6:15: sgd: lr must be finite and at least 0, got -0.5`,
}, {
	name: "optimizer: missing setting",
	src:  trainable + "optimizer sgd()\n",
	want: `model.nn:6:1: sgd needs lr=...`,
}, {
	name: "optimizer: unknown",
	src:  trainable + "optimizer sdg(lr=0.1)\n",
	want: `model.nn:6:11: unknown optimizer "sdg"; did you mean "sgd"?`,
}, {
	name: "optimizer: misspelt setting",
	src:  trainable + "optimizer sgd(lrr=0.1)\n",
	want: `model.nn:6:15: sgd has no argument "lrr"; did you mean "lr"?`,
}, {
	name: "optimizer: not a number",
	src:  trainable + "optimizer sgd(lr=fast)\n",
	want: `model.nn:6:18: lr must be a number, found "fast"`,
}, {
	name: "optimizer: a boolean setting",
	src:  trainable + "optimizer sgd(lr=0.1, momentum=0.9, nesterov=0.5)\n",
	want: `model.nn:6:46: nesterov must be true or false, found "0.5"`,
}, {
	name: "optimizer: a pair setting, given one number",
	src:  trainable + "optimizer adam(betas=0.9)\n",
	want: `model.nn:6:22: betas takes two numbers, like (0.9, 0.999); found "0.9"`,
}, {
	name: "optimizer: a pair setting, given three",
	src:  trainable + "optimizer adamw(betas=(0.9, 0.99, 0.999))\n",
	want: `model.nn:6:23: betas takes two numbers, like (0.9, 0.999); found "(0.9, 0.99, 0.999)"`,
}, {
	name: "optimizer: a number setting, given a tuple or a word",
	src:  trainable + "optimizer sgd(lr=(0.1, 0.2), momentum=high, nesterov=yes)\n",
	want: `model.nn:6:18: lr must be a number, found "(0.1, 0.2)"
model.nn:6:39: momentum must be a number, found "high"
model.nn:6:54: nesterov must be true or false, found "yes"`,
}, {
	name: "optimizer: nesterov without momentum, at the nesterov setting",
	src:  trainable + "optimizer sgd(lr=0.1, momentum=0, nesterov=true)\n",
	want: `model.nn:6:35: sgd: nesterov needs a momentum above 0 and dampening 0`,
}, {
	name: "optimizer: nesterov with dampening",
	src:  trainable + "optimizer sgd(lr=0.1, momentum=0.9, dampening=0.1, nesterov=True)\n",
	want: `model.nn:6:52: sgd: nesterov needs a momentum above 0 and dampening 0`,
}, {
	name: "optimizer: ranges, the betas positioned at betas",
	src:  trainable + "optimizer adam(betas=(1, 0.999), eps=-1)\n",
	want: `model.nn:6:16: adam: beta1 must be in [0, 1), got 1
model.nn:6:34: adam: eps must be finite and at least 0, got -1`,
}, {
	name: "optimizer: adamw ranges",
	src:  trainable + "optimizer adamw(betas=(0.9, 1), weight_decay=-0.1)\n",
	want: `model.nn:6:17: adamw: beta2 must be in [0, 1), got 1
model.nn:6:33: adamw: weight_decay must be finite and at least 0, got -0.1`,
}, {
	name: "optimizer: misspelt pair setting",
	src:  trainable + "optimizer adam(beta=(0.9, 0.999))\n",
	want: `model.nn:6:16: adam has no argument "beta"; did you mean "betas"?`,
}, {
	name: "optimizer: a setting of another optimizer",
	src:  trainable + "optimizer adam(momentum=0.9)\n",
	want: `model.nn:6:16: adam has no argument "momentum" (it takes: lr, betas, eps, weight_decay)`,
}, {
	name: "tuple syntax",
	src: trainable + `optimizer adam(betas=(0.9 0.999))
optimizer adam(betas=())
optimizer adam(betas=(a, b))
optimizer sgd((0.1))
optimizer adam(lr=1e-3, betas=(0.9, 0.999)
h = linear(x, 3, bias=(1, 2))
`,
	want: `model.nn:6:27: expected ')' after betas's tuple, found "0.999"
model.nn:7:23: expected a number in betas's tuple, found ")"
model.nn:8:23: expected a number in betas's tuple, found "a"
model.nn:9:1: duplicate optimizer statement; first at model.nn:6:1
model.nn:10:43: expected ')' after arguments, found end of line
model.nn:11:23: bias must be true or false, found "(1, 2)"`,
}, {
	name: "optimizer: positional argument",
	src:  trainable + "optimizer sgd(0.1)\n",
	want: `model.nn:6:15: sgd takes keyword arguments only, as in sgd(lr=...); found "0.1"`,
}, {
	name: "optimizer: positional argument to adam",
	src:  trainable + "optimizer adam(1e-3)\n",
	want: `model.nn:6:16: adam takes keyword arguments only, as in adam(lr=...); found "1e-3"`,
}, {
	name: "loss: unknown function; its target is not reported as undefined",
	src: `network M
input x[4]
y = linear(x, 3)
loss mes(y, t[3])
output t
`,
	want: `model.nn:4:6: unknown loss "mes"; did you mean "mse"?`,
}, {
	name: "the loss target is a new name",
	src: `network M
input x[4]
y = linear(x, 3)
loss mse(y, x)
output y
`,
	want: `model.nn:4:13: mse: output y has shape [3] but its target x has [4]`,
}, {
	name: "loss: target not a name, unknown loss, missing target",
	src: `network M
input x[4]
y = linear(x, 3)
output y
loss l1(y, 3)
loss huber(y, t)
`,
	want: `model.nn:5:12: l1's target must be a new name, like target or target[3], found "3"
model.nn:6:1: duplicate loss statement; first at model.nn:5:1`,
}, {
	name: "loss: unknown, nothing close",
	src:  "network M\ninput x[4]\ny = linear(x, 3)\noutput y\nloss triplet(y, t)\nz = relu(t)\n",
	want: `model.nn:5:6: unknown loss "triplet" (known: bce_with_logits, cross_entropy, huber, l1, mse, nll_loss, smooth_l1)`,
}, {
	name: "loss: cross_entropy's options, every problem at once",
	src:  "network M\ninput x[4]\ny = linear(x, 3)\noutput y\nloss cross_entropy(y, label, weight=(1, 2), ignore_index=0.5, label_smoothing=1.5, reduction=none)\n",
	want: `model.nn:5:37: cross_entropy's weight has 2 numbers, one per class, but y has 3 classes
model.nn:5:58: ignore_index must be an integer, found "0.5"
model.nn:5:79: label_smoothing must be between 0 and 1, found "1.5"
model.nn:5:94: reduction must be mean or sum, found "none"`,
}, {
	name: "loss: a weight is a tuple of numbers",
	src:  "network M\ninput x[4]\ny = linear(x, 3)\noutput y\nloss nll_loss(y, label, weight=2)\n",
	want: `model.nn:5:32: weight takes a number per class, like (1, 2, 0.5); found "2"`,
}, {
	name: "loss: smooth_l1's beta and huber's delta",
	src:  "network M\ninput x[4]\ny = linear(x, 3)\noutput y\nloss smooth_l1(y, t, beta=-1) + huber(y, u, delta=0) + huber(y, v, beta=1) + nll_loss(y, c, label_smoothing=0.1)\n",
	want: `model.nn:5:27: beta must not be negative, found "-1"
model.nn:5:51: delta must be positive, found "0"
model.nn:5:68: huber has no argument "beta" (it takes: reduction, delta)
model.nn:5:93: nll_loss has no argument "label_smoothing" (it takes: reduction, weight, ignore_index)`,
}, {
	name: "loss: a missing target",
	src:  "network M\ninput x[4]\ny = linear(x, 3)\noutput y\nloss bce_with_logits(y)\n",
	want: `model.nn:5:6: bce_with_logits takes 2 arguments, as in bce_with_logits(y, target) or bce_with_logits(y, target[N]); got 1`,
}, {
	name: "cross_entropy: the target has no size, and only the loss reads it",
	src: `network M
input x[4]
y = linear(x, 3)
output y
loss cross_entropy(y, label[3])
`,
	want: `model.nn:5:23: cross_entropy's target holds class indices, one per row of the output: write label without a size`,
}, {
	name: "cross_entropy: layers cannot read the class indices",
	src: `network M
input x[4]
y = linear(x, 3)
output y
loss cross_entropy(y, label)
z = relu(label)
w = linear(label, 2)
v = identity(label)
`,
	want: `model.nn:6:10: relu's input cannot be label: it holds the class indices that only the loss reads
model.nn:7:12: linear's input cannot be label: it holds the class indices that only the loss reads
model.nn:8:14: identity's input cannot be label: it holds the class indices that only the loss reads`,
}, {
	name: "a bare loss target: used before the loss, defined by a bad loss line",
	src: `network M
input x[4]
y = linear(x, 3)
z = sigmoid(t)
loss mse(y, t) extra
output y
w = sigmoid(t)
`,
	want: `model.nn:4:13: undefined: t (it is defined later, at model.nn:5:13)
model.nn:5:16: unexpected "extra" at end of statement`,
}, {
	name: "identity: an alias is a name like any other",
	src: `network M
input x[4]
y = linear(x, 3)
alias = identity(y)
alias = relu(y)
output alias
loss mse(alias, t[4])
`,
	want: `model.nn:5:1: duplicate name alias; first defined at model.nn:4:1
model.nn:7:19: loss: output alias has 3 features but target has 4`,
}, {
	name: "layer_norm arguments",
	src: `network M
batch 2
input x[4, 8]
a = layer_norm(x)
b = layer_norm(x, 4)
c = layer_norm(x, (8, 8))
d = layer_norm(x, 8, eps=-1)
e = layer_norm(x, 8, elementwise_affine=maybe)
f = layer_norm(x, 0)
g = layer_norm(x, (2, 4, 8))
h = relu(layer_norm(x, 8))
i = layer_norm(x, 8, affine=false)
j = layer_norm(x, y)
k = relu(layer_norm(x, 8, elementwise_affine=false))
l = layer_norm(x, 4 + 4)
output k
`,
	want: `model.nn:4:5: layer_norm takes 2 arguments, as in layer_norm(x, 16) or layer_norm(x, (8, 16)); got 1
model.nn:5:19: b: layer_norm's normalized_shape [4] must be the last sizes of one sample of x, which is [4,8]
model.nn:6:19: c: layer_norm's normalized_shape [8,8] must be the last sizes of one sample of x, which is [4,8]
model.nn:7:26: eps must be a positive finite number, found "-1"
model.nn:8:41: elementwise_affine must be true or false, found "maybe"
model.nn:9:19: normalized_shape must be an integer from 1 to 16777216, found "0"
model.nn:10:19: g: layer_norm's normalized_shape [2,4,8] must be the last sizes of one sample of x, which is [4,8]
model.nn:11:10: layer_norm with its weight and bias must be the whole right-hand side of an assignment, which names them: y = layer_norm(x, 16)
model.nn:12:22: layer_norm has no argument "affine" (it takes: eps, elementwise_affine)
model.nn:13:19: normalized_shape must be an integer from 1 to 16777216, found "y"
model.nn:15:19: layer_norm's normalized_shape must be a size or a tuple of sizes, found "4"`,
}, {
	name: "dropout arguments",
	src: `network M
batch 2
input x[4]
a = dropout(x, 1.5)
b = dropout(x, p=-0.1)
c = dropout(x, 0.2, p=0.3)
d = relu(dropout(x))
e = dropout(x, p=half)
f = dropout(x, rate=0.1)
g = dropout()
output x
`,
	want: `model.nn:4:16: p must be a probability from 0 to 1, found "1.5"
model.nn:5:18: p must be a probability from 0 to 1, found "-0.1"
model.nn:6:21: dropout got p twice, by position and by keyword
model.nn:7:10: dropout must be the whole right-hand side of an assignment, which names the layer for its masks: y = dropout(x, 0.5)
model.nn:8:18: p must be a number, found "half"
model.nn:9:16: dropout has no argument "rate" (it takes: p)
model.nn:10:5: dropout takes 1 or 2 arguments, as in dropout(x) or dropout(x, p); got 0`,
}, {
	name: "attention misuse",
	src: `network M
batch 2
input x[5, 8]
input m[4]
a = multihead_attention(x, embed_dim=8, num_heads=3)
b = multihead_attention(x, 6, 2)
c = relu(multihead_attention(x, 8, 2))
d = multihead_attention(x, embed_dim=8, num_heads=2, batch_first=false, key_padding_mask=m)
e = multihead_attention(x, 8, 2, key_padding_mask=m)
f = transformer_encoder_layer(x, d_model=8, nhead=2, activation=tanh, norm_first=maybe)
g = transformer_encoder_layer(x, d_model=8)
h = transformer_encoder_layer(x, d_model=8, nhead=2, dropout=2)
output x
`,
	want: `model.nn:5:5: multihead_attention: embed_dim 8 is not divisible by num_heads 3
model.nn:6:25: multihead_attention's input x must be [seq, 6] per sample (batch_first), found [5,8]
model.nn:7:10: multihead_attention must be the whole right-hand side of an assignment, which names its parameters: a = multihead_attention(x, embed_dim=16, num_heads=2)
model.nn:8:66: multihead_attention takes batch_first=true only: nngen's values have the batch axis first
model.nn:9:51: multihead_attention's key_padding_mask m must be [5] per sample (one number per key), found [4]
model.nn:10:65: activation must be relu or gelu, found "tanh"
model.nn:10:82: norm_first must be true or false, found "maybe"
model.nn:11:5: transformer_encoder_layer needs nhead
model.nn:12:62: dropout must be a probability from 0 to 1, found "2"`,
}, {
	name: "activation arguments",
	src: `network M
batch 2
input x[4]
y = linear(x, 3)
a = leaky_relu(y, -0.2)
b = leaky_relu(y, 0.2, negative_slope=0.3)
c = leaky_relu(y, fast)
d = leaky_relu(y, negative_slope=(0.1, 0.2))
e = leaky_relu(y, slope=0.1)
f = gelu(y, approximate=exact)
g = gelu(y, tanh)
h = softmax(y, dim=0)
i = softmax(y, dim=1.0)
j = softmax(y, 2, dim=1)
k = identity(y, 2)
l = identity(3)
m = identity(y, inplace=true)
n = relu(y, inplace=True)
o = tanh(y, y)
output y
`,
	want: `model.nn:5:19: negative_slope must be finite and at least 0, found "-0.2": nngen computes leaky_relu's gradient from its output, which needs the output to have the input's sign
model.nn:6:24: leaky_relu got negative_slope twice, by position and by keyword
model.nn:7:19: negative_slope must be a number, found "fast"
model.nn:8:34: negative_slope must be a number, found "(0.1, 0.2)"
model.nn:9:19: leaky_relu has no argument "slope" (it takes: negative_slope)
model.nn:10:25: approximate must be none or tanh, found "exact"
model.nn:11:5: gelu takes 1 argument, as in gelu(x) or gelu(x, approximate=tanh); got 2
model.nn:13:20: dim must be an integer, found "1.0"
model.nn:14:19: softmax got dim twice, by position and by keyword
model.nn:15:5: identity takes 1 argument, as in identity(x); got 2
model.nn:16:14: identity's input must be a value name, found "3"
model.nn:17:17: identity takes no keyword arguments, found "inplace"
model.nn:18:13: relu takes no keyword arguments, found "inplace"
model.nn:19:5: tanh takes 1 argument, as in tanh(x); got 2`,
}, {
	name: "softmax without a batch dimension",
	src:  "network M\ninput x[4]\ny = softmax(x, dim=1)\nz = softmax(x, dim=-2)\noutput x\n",
	want: `model.nn:3:20: dim 1 is out of range for a tensor of 1 dimension (from -1 to 0)
model.nn:4:20: dim -2 is out of range for a tensor of 1 dimension (from -1 to 0)`,
}, {
	name: "the loss target is not a network output",
	src: `network M
input x[4]
y = linear(x, 3)
loss mse(y, t[3])
output t
`,
	want: `model.nn:5:8: output t: the loss target is not computed by the network`,
}, {
	name: "several errors on different lines, reported together in order",
	src: `# The tutorial network, with mistakes
network MyModel
input x[4]
layer1 = linear(x, 5)
h1 = sigmod(layer1)
layer2 = linear(h1, 7)
h2 = sigmoid(layer2
layer3 = linear(h2, 3)
h3 = sigmoid(layer1)
layer4 = linear(h3, 7, 2)
output layer3
loss mse(layer3, target[3], reduction=max)
optimizer sgd(lr=0.3, momentun=0.9)
`,
	want: `model.nn:5:6: unknown op "sigmod"; did you mean "sigmoid"?
model.nn:7:20: expected ')' after arguments, found end of line
model.nn:10:21: layer4: linear expects 7 input features but h3 has 5
model.nn:12:39: reduction must be mean or sum, found "max"
model.nn:13:23: sgd has no argument "momentun"; did you mean "momentum"?`,
}, {
	name: "quoted words where a keyword takes a number, a bool or another word; a string left open",
	src: `network M
input x[4]
h = linear(x, 5, bias="false")
g = gelu(h, approximate="exact")
y = linear(g, 3)
output y
loss mse(y, target, reduction="avg")
optimizer sgd(lr="0.1")
z = relu("h")
w = relu(y, approximate="tanh
`,
	want: `model.nn:3:23: bias must be true or false, found the string "false"
model.nn:4:25: approximate must be none or tanh, found the string "exact"
model.nn:7:31: reduction must be mean or sum, found the string "avg"
model.nn:8:18: lr must be a number, found the string "0.1"
model.nn:9:10: expected an argument, found the string "h"
model.nn:10:25: string not terminated: add the closing "`,
}, {
	name: "several outputs",
	src:  "network M\ninput x[4]\ny = linear(x, 3)\nz = linear(x, 2)\noutput y, z\noutput z\n",
	want: `model.nn:6:1: duplicate output statement; first at model.nn:5:1`,
}, {
	name: "numbers float32 cannot hold",
	src:  "network M\ninput x[4]\nh = linear(x, 3)\ny = leaky_relu(h, -1e39)\noutput y\nloss mse(y, t)\noptimizer adam(eps=1e39, betas=(0.9, 1e40))\n",
	want: `model.nn:4:19: negative_slope -1e39 does not fit float32, the model's dtype (largest 3.4028235e+38); use a smaller value or dtype float64
model.nn:7:20: eps 1e39 does not fit float32, the model's dtype (largest 3.4028235e+38); use a smaller value or dtype float64
model.nn:7:38: betas 1e40 does not fit float32, the model's dtype (largest 3.4028235e+38); use a smaller value or dtype float64`,
}, {
	name: "gru and lstm: every misuse at once",
	src: `network M
batch 3
input x[5, 4]
input h0[2, 6]
input v[4]
a, ah = gru(x, 6, num_layers=2, bidirectional=true, h0=h0)
b, bh = gru(x, 6, batch_first=false)
c, ch = gru(v, 6)
d, dh = gru(x, 5, 6)
e, eh = gru(x, 6, h0=h0)
f, fh = lstm(x, 6)
g = gru(x, 6)
k, kh = gru(x, 6, c0=h0)
m, mh = gru(x, 6, num_layers=0)
n, nh, nc = lstm(x, 6, num_layers=2, h0=h0, c0=v)
o, oh = gru(x)
t = a + b + c + d + e + f + g + k + m + n + o
output t
`,
	want: `model.nn:6:56: gru's h0 h0 must be [2·num_layers, hidden] = [4,6] per sample, found [2,6]
model.nn:7:31: b: batch_first=false would need x as [seq, batch, in], but every .nn value keeps its batch axis first; x is [batch, seq, in]
model.nn:8:13: gru's input v must be [seq, in] per sample, found [4]
model.nn:9:16: d: gru expects 5 input features but x has 4
model.nn:10:22: gru's h0 h0 must be [num_layers, hidden] = [1,6] per sample, found [2,6]
model.nn:11:1: lstm returns 3 tensors, the sequence output and the final states: out, h, c = lstm(...); found 2 names
model.nn:12:5: gru returns the sequence output and the final states: name each, as in out, h = gru(...)
model.nn:13:19: gru has no argument "c0"; did you mean "h0"?
model.nn:14:30: gru's num_layers must be an integer from 1 to 16777216, found "0"
model.nn:15:48: lstm's c0 v must be [num_layers, hidden] = [2,6] per sample, found [4]
model.nn:16:9: gru takes 2 or 3 arguments, as in gru(x, hidden) or gru(x, in, hidden); got 1`,
}}

func TestErrors(t *testing.T) {
	for _, test := range errorTests {
		t.Run(test.name, func(t *testing.T) {
			g, err := Compile("model.nn", []byte(test.src))
			if g != nil {
				t.Errorf("got a graph with the errors")
			}
			var list ErrorList
			if !errors.As(err, &list) {
				t.Fatalf("got %v, want an ErrorList", err)
			}
			if got := err.Error(); got != test.want {
				t.Errorf("got:\n%s\nwant:\n%s", got, test.want)
			}
		})
	}
}

// TestLargeInputs guards against quadratic work: one huge line, and many
// lines each with a misspelt name among many names.
func TestLargeInputs(t *testing.T) {
	long := "network M\ninput x[4]\ny = sigmoid(" + strings.Repeat("a", 1<<20) + ")\noutput y\n"
	if _, err := Compile("model.nn", []byte(long)); err == nil || !strings.Contains(err.Error(), "undefined: aaaa") {
		t.Errorf("got %.200v", err)
	}
	var b strings.Builder
	b.WriteString("network M\ninput x[4]\n")
	const n = 50000
	for i := range n {
		b.WriteString("value" + strings.Repeat("z", i%7) + strconv.Itoa(i) + " = sigmoid(x)\n")
	}
	for i := range n {
		b.WriteString("use" + strconv.Itoa(i) + " = sigmoid(valu" + strconv.Itoa(i) + ")\n")
	}
	_, err := Compile("model.nn", []byte(b.String()))
	var list ErrorList
	if !errors.As(err, &list) || len(list) != n+1 {
		t.Fatalf("got %d errors, want %d", len(list), n+1)
	}
}
