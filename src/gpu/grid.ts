/**
 * Dispatch grids. WebGPU caps each dimension at 65,535 workgroups (a 256 x 32 x
 * 28 x 28 activation already needs more), so a long 1-D range is folded into 2-D.
 * Kernels recover the flat workgroup index as `wid.x + wid.y * nwg.x` and guard
 * against the few extra workgroups the fold may add.
 */

const MAX_WORKGROUPS_PER_DIM = 65535;

/** Workgroup counts (x, y, z) for `dispatchWorkgroups`, each at most MAX_WORKGROUPS_PER_DIM. */
export type Grid = [number, number, number];

/** Workgroups needed to cover `count` items, `perWorkgroup` items per workgroup. */
export function workgroupsFor(count: number, perWorkgroup: number): number {
  if (!Number.isInteger(count) || count < 0) {
    throw new RangeError(
      `Cannot size a dispatch: count must be a non-negative integer, got ${count}`,
    );
  }
  return Math.ceil(count / perWorkgroup);
}

/** A grid of at least `workgroups` workgroups, 2-D when one dimension is not enough. */
export function grid1d(workgroups: number, maxPerDim = MAX_WORKGROUPS_PER_DIM): Grid {
  if (workgroups <= maxPerDim) return [Math.max(workgroups, 1), 1, 1];
  const y = Math.ceil(workgroups / maxPerDim);
  if (y > maxPerDim) {
    throw new RangeError(
      `Cannot dispatch ${workgroups} workgroups: more than ${maxPerDim}^2 even folded into 2-D`,
    );
  }
  return [Math.ceil(workgroups / y), y, 1];
}
