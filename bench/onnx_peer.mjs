// SPDX-License-Identifier: MIT
// The ONNX Runtime peer of bench-engine: the network bench/onnx_export.py
// exported, on ONNX Runtime's CPU execution provider (onnxruntime-node, its
// MLAS kernels), intra-op threads = THREADS, inter-op 1, sequential
// execution, every graph optimisation on. It first checks its logits for the
// first images of the input against PyTorch's (MODEL.onnx.json) and fails
// above the tolerance; then it times the same rounds as engine_peer.py: 3
// warm-up calls, rounds until SECONDS have passed (at least 5), each round 10
// calls at batch 1, the median round. Times include the binding's per-call
// cost (a setImmediate and the tensor wrapping, a few microseconds).
//
// usage: node onnx_peer.mjs MODEL.onnx BATCH THREADS [SECONDS]
// The package lives in bench/onnx/ (npm install --ignore-scripts there);
// bench/run-engine.sh installs it on first use.
import { readFileSync } from 'node:fs';
import { createRequire } from 'node:module';

const TOLERANCE = 1e-3; // max abs logit difference; float sums in another order stay far below

const require = createRequire(new URL('./onnx/package.json', import.meta.url));
const ort = require('onnxruntime-node');

function benchInput(batch, shape) {
  // engine_peer.bench_input: element i is (i * 2654435761 % 1000) / 500 - 1
  // (exact in doubles: i * 2654435761 < 2^53 for any batch here).
  const n = batch * shape[0] * shape[1] * shape[2];
  const x = new Float32Array(n);
  for (let i = 0; i < n; i++) x[i] = ((i * 2654435761) % 1000) / 500 - 1;
  return new ort.Tensor('float32', x, [batch, ...shape]);
}

async function main() {
  const [model, batchArg, threadsArg, secondsArg] = process.argv.slice(2);
  if (!model || !batchArg || !threadsArg) {
    console.error('usage: node onnx_peer.mjs MODEL.onnx BATCH THREADS [SECONDS]');
    process.exit(2);
  }
  const batch = parseInt(batchArg, 10), threads = parseInt(threadsArg, 10);
  const seconds = secondsArg ? parseFloat(secondsArg) : 5.0;
  const ref = JSON.parse(readFileSync(model + '.json', 'utf8'));
  const session = await ort.InferenceSession.create(model, {
    executionProviders: ['cpu'],
    intraOpNumThreads: threads,
    interOpNumThreads: 1,
    executionMode: 'sequential',
    graphOptimizationLevel: 'all',
  });
  const feeds = { input: benchInput(batch, ref.input_shape) };

  const logits = (await session.run(feeds)).logits.data;
  const n = Math.min(batch, ref.check_images) * ref.classes;
  let diff = 0;
  for (let i = 0; i < n; i++) diff = Math.max(diff, Math.abs(logits[i] - ref.logits[i]));
  if (!(diff <= TOLERANCE)) {
    console.error(`onnx_peer: logits differ from PyTorch's by ${diff} (tolerance ${TOLERANCE})`);
    process.exit(1);
  }

  const inner = batch === 1 ? 10 : 1;
  const times = [];
  for (let i = 0; i < 3; i++) await session.run(feeds);
  const t0 = performance.now();
  while (performance.now() - t0 < 1e3 * seconds || times.length < 5) {
    const s = performance.now();
    for (let k = 0; k < inner; k++) await session.run(feeds);
    times.push((performance.now() - s) / inner);
  }
  times.sort((a, b) => a - b);
  console.log(`ort: ${ort.env.versions.node}\nbatch: ${batch}\nthreads: ${threads}`);
  console.log(`ort_max_abs_diff: ${diff.toExponential(2)}`);
  console.log(`ort_ms: ${times[times.length >> 1].toFixed(4)}\nort_best_ms: ${times[0].toFixed(4)}`);
}

main().catch((e) => {
  console.error(`onnx_peer: ${e.message}`);
  process.exit(1);
});
