/**
 * The report module (echarts, resvg) takes seconds to load: it is imported on the first chart request, not at
 * start-up.
 */
let mod: Promise<typeof import('../../report/index.ts')> | null = null;

export function charts(): Promise<typeof import('../../report/index.ts')> {
  mod ??= import('../../report/index.ts');
  return mod;
}
