# PyTorch traces for the activations added after cases.py: silu, elu (alpha
# 1 and 0.7), softplus (beta 1, threshold 20), mish, hardswish, hardsigmoid
# and softsign, each on both hidden layers of a 5-8-8-3 network. Make them
# with (from this folder):
#   /usr/bin/python3 make_reference.py cases_activations.py .
# or name the cases to remake after the "." . Inputs and starting values are
# wider than the usual ones ("input_range", "weight_scale": the hard ones
# 2x and up to 8x the usual starting range) so that the pre-activations
# reach the interesting parts of each function: both sides of elu's 0,
# and all three pieces of hardswish and hardsigmoid (below -3, between,
# above 3) in both layers at every step, with none within 1e-2 of a kink
# (make_reference.py checks this, and stops on a case that fails it).


PIECES = "; pre-activations below -3, between and above 3 in both layers at every step"


def act_mlp(name, act, spelled, note="", **case):
    rng, scale = case["input_range"], case["weight_scale"]
    c = {"name": name,
         "description": "5-8-8-3 with %s on both hidden layers, %s loss%s, %s, batch %d; inputs in [-%g, %g], l1's and l2's starting values %gx and %gx the usual range%s." % (
             spelled, case["loss"]["type"], ", reduction " + case["loss"]["reduction"] if "reduction" in case["loss"] else "",
             ", ".join([case["optimizer"]["type"]] + ["%s %s" % kv for kv in case["optimizer"].items() if kv[0] != "type"]),
             case["batch"], rng, rng, scale["l1"], scale["l2"], note),
         "model": {"layers": [
             {"name": "l1", "in": 5, "out": 8, "activation": act},
             {"name": "l2", "in": 8, "out": 8, "activation": act},
             {"name": "l3", "in": 8, "out": 3}]}}
    c.update(case)
    return c


CASES = [
    act_mlp("act_silu", "silu", "silu (F.silu)",
            loss={"type": "mse"}, optimizer={"type": "sgd", "lr": 0.1, "momentum": 0.9},
            batch=4, steps=4, seed=41, input_range=2, weight_scale={"l1": 2, "l2": 2}),
    act_mlp("act_elu", "elu", "elu (F.elu, alpha 1)",
            loss={"type": "mse"}, optimizer={"type": "adam", "lr": 0.01},
            batch=5, steps=3, seed=42, input_range=2, weight_scale={"l1": 2, "l2": 2}),
    act_mlp("act_elu_alpha07", "elu_0.7", "elu with alpha 0.7 (F.elu(x, alpha=0.7))", "; pre-activations on both sides of the kink at 0",
            loss={"type": "l1"}, optimizer={"type": "sgd", "lr": 0.05, "momentum": 0.9, "nesterov": True},
            batch=6, steps=4, seed=57, input_range=2, weight_scale={"l1": 2, "l2": 2}),
    act_mlp("act_softplus", "softplus", "softplus (F.softplus, beta 1, threshold 20)",
            loss={"type": "cross_entropy"}, optimizer={"type": "sgd", "lr": 0.2},
            batch=6, steps=3, seed=44, input_range=2, weight_scale={"l1": 2, "l2": 2}),
    act_mlp("act_mish", "mish", "mish (F.mish)",
            loss={"type": "mse", "reduction": "sum"}, optimizer={"type": "adamw", "lr": 0.01, "weight_decay": 0.05},
            batch=4, steps=4, seed=45, input_range=2, weight_scale={"l1": 2, "l2": 2}),
    act_mlp("act_hardswish", "hardswish", "hardswish (F.hardswish)", PIECES,
            loss={"type": "mse"}, optimizer={"type": "sgd", "lr": 0.05},
            batch=6, steps=4, seed=49, input_range=4, weight_scale={"l1": 2, "l2": 2}),
    act_mlp("act_hardsigmoid", "hardsigmoid", "hardsigmoid (F.hardsigmoid)", PIECES,
            loss={"type": "bce_with_logits"}, optimizer={"type": "adam", "lr": 0.02},
            batch=6, steps=4, seed=47, input_range=4, weight_scale={"l1": 2, "l2": 8}),
    act_mlp("act_softsign", "softsign", "softsign (F.softsign)",
            loss={"type": "mse"}, optimizer={"type": "sgd", "lr": 0.1, "weight_decay": 0.01},
            batch=5, steps=3, seed=48, input_range=2, weight_scale={"l1": 2, "l2": 2}),
]
