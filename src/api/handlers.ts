import type { XwbService } from './service.js';

/**
 * Registers the handlers that need the engine (training, prediction, explanations). Kept apart from
 * service.ts so that listing datasets never loads TensorFlow.
 */
export async function registerCoreHandlers(_service: XwbService): Promise<void> {
  // Filled in as the training and explanation modules land (see docs/architecture.md).
}
