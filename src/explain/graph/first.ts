/**
 * Which linear layers are "first" for LRP composites: those whose relevance reaches the image without passing
 * another layer with weights. The first-layer rules (z^B, flat) are derived for the layer that sees the pixels,
 * and that layer need not read the image directly: a dense layer behind a flatten, or a convolution behind a
 * pooling, dropout or the expclass gate, sees the pixels just the same.
 */
import type { GraphNode, ModelGraph } from './types.js';
import { INPUT_ID } from './types.js';

/** Inputs relevance flows back into: the gate (multiply) passes it only to the features, never to the map. */
export function relevanceInputs(node: GraphNode): string[] {
  return node.op.type === 'multiply' ? node.inputs.slice(0, 1) : node.inputs;
}

/** Ids of the linear nodes whose input is the image, up to weight-free nodes (graph in topological order). */
export function firstLinearNodes(graph: ModelGraph): Set<string> {
  // Nodes whose value is the image seen through weight-free operations only.
  const pixelLike = new Set<string>([INPUT_ID]);
  const first = new Set<string>();
  for (const node of graph.nodes) {
    const sees = relevanceInputs(node).some((id) => pixelLike.has(id));
    if (!sees) continue;
    if (node.op.type === 'linear') first.add(node.id);
    else if (node.op.type !== 'input' && node.op.type !== 'ones') pixelLike.add(node.id);
  }
  return first;
}
