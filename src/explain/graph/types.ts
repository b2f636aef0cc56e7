/**
 * A functional re-statement of an XwbModel's forward pass over its layers' weights: a small DAG the methods
 * that need more than autodiff can walk (modified ReLU backward passes, relevance propagation, Grad-CAM at a
 * chosen layer). Layers with a fused activation become two nodes (the linear part, then the activation) so a
 * rule can treat them separately, as Zennit does.
 */
import type { tf } from '../../engine/tf.js';

export type Padding = 'same' | 'valid';

export interface LinearParams {
  kernel: tf.Tensor;
  bias: tf.Tensor1D | null;
}

export type LinearOp =
  | {
      type: 'linear';
      kind: 'conv';
      params: LinearParams;
      strides: [number, number];
      padding: Padding;
      dilation: [number, number];
    }
  | {
      type: 'linear';
      kind: 'convTranspose';
      params: LinearParams;
      strides: [number, number];
      padding: Padding;
    }
  | { type: 'linear'; kind: 'dense'; params: LinearParams };

export type ActivationFn = 'relu' | 'sigmoid' | 'tanh';

export type GraphOp =
  /** The image input. */
  | { type: 'input' }
  /** The constant white map the `classifier` kind gates with. */
  | { type: 'ones' }
  | LinearOp
  /** Batch normalisation in inference mode: x·scale + offset per channel. */
  | { type: 'affine'; scale: tf.Tensor1D; offset: tf.Tensor1D }
  | { type: 'activation'; fn: ActivationFn }
  | { type: 'pool'; mode: 'max' | 'avg'; size: [number, number]; strides: [number, number]; padding: Padding }
  | { type: 'globalPool'; mode: 'max' | 'avg' }
  | { type: 'upsample'; size: [number, number]; interpolation: 'nearest' | 'bilinear' }
  | { type: 'add' }
  /** Elementwise product; in xwb the second operand is always the explanation map gating the features. */
  | { type: 'multiply' }
  | { type: 'concat'; axis: number }
  | { type: 'flatten' }
  /** Dropout at inference. */
  | { type: 'identity' };

export interface GraphNode {
  /** The layer name, or `<layer>/<activation>` for the activation split off a layer. */
  id: string;
  /** The tfjs layer the node comes from (the input node: 'image'). */
  layer: string;
  part: 'input' | 'explainer' | 'classifier';
  op: GraphOp;
  inputs: string[];
}

export interface ModelGraph {
  /** Topological order: every node after its inputs. */
  nodes: GraphNode[];
  byId: Map<string, GraphNode>;
  /** The logits node. */
  output: string;
  /** The node producing the model's own map (null for the `classifier` kind). */
  mapOutput: string | null;
  /** Tensors the graph created (folded weights); the layer weights it reads are the model's. */
  owned: tf.Tensor[];
  dispose(): void;
}

export const INPUT_ID = 'image';
