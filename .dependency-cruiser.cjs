/**
 * The layering of ARCHITECTURE.md, checked on every `npm test` (test/core/boundaries.test.ts) and by
 * `npm run check:deps`: imports point one way, and no module imports itself through others.
 *
 *   core <- wire <- tls / quic <- names <- flow <- dataset <- model <- classify / report / live / learn <- service / cli
 */
const LAYERS = [['core'], ['wire'], ['tls', 'quic'], ['names'], ['flow'], ['dataset'], ['model'], ['classify', 'report', 'live', 'learn'], ['service', 'cli']];
/** Folders of one layer that may import each other (the rest of a layer's folders may not). */
const SIBLINGS = [['tls', 'quic'], ['cli', 'service']];

const forbidden = [
  {
    name: 'no-circular',
    severity: 'error',
    comment: 'A module that reaches itself through its imports: cut the cycle (move the shared part down a layer).',
    from: { path: '^src/' },
    to: { circular: true },
  },
];
LAYERS.forEach((layer, i) => {
  const above = LAYERS.slice(i + 1).flat();
  for (const folder of layer) {
    if (above.length) {
      forbidden.push({
        name: `no-upward-from-${folder}`,
        severity: 'error',
        comment: `src/${folder} is below ${above.join(', ')} (ARCHITECTURE.md): it may not import them`,
        from: { path: `^src/${folder}/` },
        to: { path: `^src/(${above.join('|')})/` },
      });
    }
    const peers = layer.filter((f) => f !== folder && !SIBLINGS.some((s) => s.includes(folder) && s.includes(f)));
    if (peers.length) {
      forbidden.push({
        name: `no-sideways-from-${folder}`,
        severity: 'error',
        comment: `src/${folder} and ${peers.join(', ')} are apart in one layer: neither imports the other`,
        from: { path: `^src/${folder}/` },
        to: { path: `^src/(${peers.join('|')})/` },
      });
    }
  }
});
forbidden.push({
  name: 'no-service-to-cli',
  severity: 'error',
  comment: 'the CLI is thin over the modules and the service; the service never imports a command',
  from: { path: '^src/service/' },
  to: { path: '^src/cli/' },
});

module.exports = {
  forbidden,
  options: {
    doNotFollow: { path: 'node_modules' },
    exclude: { path: '^(node_modules|web)/' },
    tsPreCompilationDeps: true,
    tsConfig: { fileName: 'tsconfig.json' },
    enhancedResolveOptions: { extensions: ['.ts', '.mjs', '.js', '.json'] },
    moduleSystems: ['es6', 'cjs'],
  },
};
