// Times the workloads' forward passes in ONNX Runtime, one intra-op
// thread, the way torch_bench.py times PyTorch's: compare.sh runs it as
//
//	NODE_PATH=DIR/node_modules node bench/ort_bench.js ONNXDIR [WORKLOAD...]
//
// with the models from ort_export.py in ONNXDIR. It prints one line per
// workload, "W2/Forward 41.2": microseconds, the median of several timed
// runs, less the cost of a call through the Node.js binding (the run of
// ONNXDIR/_identity.onnx, an Add of one number), which it prints first as
// "ORT/Call 15.7". Inputs are random numbers in [0, 1).
"use strict";
const fs = require("fs");
const path = require("path");
const ort = require("onnxruntime-node");

// ORT_THREADS intra-op threads (compare.sh's THREADS), default 1.
const options = {
  intraOpNumThreads: Number(process.env.ORT_THREADS || 1),
  interOpNumThreads: 1,
  executionMode: "sequential",
  graphOptimizationLevel: "all",
};

async function session(file) {
  const s = await ort.InferenceSession.create(file, options);
  const meta = s.inputMetadata ? s.inputMetadata[0] : null;
  // The input's shape from the file (inputMetadata where the binding has it).
  let dims = meta && meta.shape ? meta.shape : null;
  if (!dims) {
    throw new Error(`${file}: no input shape`);
  }
  const size = dims.reduce((a, b) => a * b, 1);
  const data = new Float32Array(size);
  for (let i = 0; i < size; i++) data[i] = Math.random();
  const feeds = { [s.inputNames[0]]: new ort.Tensor("float32", data, dims) };
  return { run: () => s.run(feeds) };
}

// timeit is torch_bench.py's: runs for about 0.2 s to size a repetition,
// then the median of 5 repetitions filling about budget seconds, in us.
async function timeit(run, budget = 1.0) {
  await run();
  const now = () => Number(process.hrtime.bigint()) / 1e9;
  let start = now(), n = 0;
  while (now() - start < 0.2) {
    await run();
    n++;
  }
  const per = Math.max((now() - start) / n, 1e-7);
  const reps = Math.max(1, Math.floor(budget / 5 / per));
  const runs = [];
  for (let k = 0; k < 5; k++) {
    const t0 = now();
    for (let i = 0; i < reps; i++) await run();
    runs.push(((now() - t0) / reps) * 1e6);
  }
  runs.sort((a, b) => a - b);
  return runs[2];
}

async function main() {
  const [dir, ...only] = process.argv.slice(2);
  const call = await timeit((await session(path.join(dir, "_identity.onnx"))).run);
  console.log(`ORT/Call ${call.toFixed(3)}`);
  const names = fs.readdirSync(dir).filter((f) => f.endsWith(".onnx") && !f.startsWith("_")).map((f) => f.slice(0, -5));
  for (const name of names.sort()) {
    if (only.length > 0 && !only.includes(name)) continue;
    const t = await timeit((await session(path.join(dir, name + ".onnx"))).run);
    console.log(`${name}/Forward ${Math.max(t - call, 0).toFixed(3)}`);
  }
}

main().catch((e) => {
  console.error(e);
  process.exit(1);
});
