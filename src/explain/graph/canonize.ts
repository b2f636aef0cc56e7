/**
 * Canonizers (Zennit's term): rewrite the graph into an equivalent one the relevance rules handle well. The one
 * xwb needs folds inference-mode batch normalisation into the linear layer right before it, so the rule of that
 * layer sees the effective weights and bias: LRP rules are not invariant to splitting one affine map in two.
 */
import { tf } from '../../engine/tf.js';
import type { GraphNode, LinearOp, ModelGraph } from './types.js';

function consumers(nodes: GraphNode[], id: string): GraphNode[] {
  return nodes.filter((n) => n.inputs.includes(id));
}

/** The per-output-channel scale laid out for the kernel: conv [kh,kw,in,out], transposed [kh,kw,out,in], dense [in,out]. */
function scaleKernel(op: LinearOp, kernel: tf.Tensor, scale: tf.Tensor1D): tf.Tensor {
  if (op.kind === 'convTranspose') return tf.mul(kernel, tf.reshape(scale, [1, 1, -1, 1]));
  return tf.mul(kernel, scale);
}

/**
 * A new graph where every batch normalisation directly after a linear layer (and its only consumer) is merged
 * into it: W' = W·s, b' = b·s + t for BN(y) = y·s + t. Other nodes are shared with the input graph; the new
 * graph owns the folded weights and the input graph's own tensors stay with the input graph.
 */
export function foldBatchNorm(graph: ModelGraph): ModelGraph {
  const owned: tf.Tensor[] = [];
  const rename = new Map<string, string>();
  const replaced = new Map<string, GraphNode>();
  for (const node of graph.nodes) {
    if (node.op.type !== 'affine' || node.inputs.length !== 1) continue;
    const prev = replaced.get(node.inputs[0]) ?? graph.byId.get(node.inputs[0]);
    if (prev?.op.type !== 'linear' || consumers(graph.nodes, prev.id).length !== 1) continue;
    const { scale, offset } = node.op;
    const op = prev.op;
    const [kernel, bias] = tf.tidy(() => {
      const k = scaleKernel(op, op.params.kernel, scale);
      const b = op.params.bias ? tf.add(tf.mul(op.params.bias, scale), offset) : tf.clone(offset);
      return [k, b as tf.Tensor1D];
    });
    owned.push(kernel, bias);
    replaced.set(prev.id, { ...prev, op: { ...op, params: { kernel, bias } } });
    rename.set(node.id, prev.id);
  }
  const nodes = graph.nodes
    .filter((n) => !rename.has(n.id))
    .map((n) => {
      const base = replaced.get(n.id) ?? n;
      return { ...base, inputs: base.inputs.map((i) => rename.get(i) ?? i) };
    });
  const mapOutput = graph.mapOutput === null ? null : (rename.get(graph.mapOutput) ?? graph.mapOutput);
  return {
    nodes,
    byId: new Map(nodes.map((n) => [n.id, n])),
    output: rename.get(graph.output) ?? graph.output,
    mapOutput,
    owned,
    dispose: () => tf.dispose(owned),
  };
}
