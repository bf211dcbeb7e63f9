import { growForestTree, type ForestData, type ForestParams, type GrownForestTree } from './forest.ts';
import { growBoostTree, type BoostData, type BoostingParams } from './boosting.ts';
import type { FlatTree } from './ensemble.ts';

/** Work units sent to worker threads (and run in-thread when single-threaded). */
export type TreeTask =
  | { kind: 'forest'; data: ForestData; params: ForestParams; trees: number[] }
  | { kind: 'boost'; data: BoostData; params: BoostingParams; k: number };

export function runTask(task: TreeTask): GrownForestTree[] | FlatTree {
  if (task.kind === 'forest') return task.trees.map((t) => growForestTree(task.data, task.params, t));
  return growBoostTree(task.data, task.params, task.k);
}
