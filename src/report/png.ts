/** SVG to PNG through resvg, with a font found once per process (resvg draws no text without one). */
import { existsSync, readdirSync, statSync } from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { Resvg } from '@resvg/resvg-js';
import { ReportError, ReportErrorCode } from './errors.ts';

export interface PngOptions {
  /** Font files to use instead of the discovered ones; the first file's family becomes the default. */
  fontFiles?: string[];
  /** Family name of `fontFiles[0]` (needed when the file name is not one of the known ones). */
  fontFamily?: string;
  /** Scale factor (2 for high-DPI). Default 1: the PNG has the SVG's width and height. */
  scale?: number;
}

interface FontChoice {
  files: string[];
  family: string;
}

/**
 * Preferred fonts, best first. Liberation Sans and Arimo share Arial's metrics, which echarts' server-side text
 * measurement assumes, so labels fit as laid out; DejaVu Sans is wider but nearly always present on Debian.
 */
const PREFERRED: { family: string; files: string[] }[] = [
  { family: 'Liberation Sans', files: ['LiberationSans-Regular.ttf', 'LiberationSans-Bold.ttf'] },
  { family: 'Arimo', files: ['Arimo-Regular.ttf', 'Arimo-Bold.ttf'] },
  { family: 'Arial', files: ['Arial.ttf', 'arial.ttf', 'Arial Bold.ttf', 'arialbd.ttf'] },
  { family: 'DejaVu Sans', files: ['DejaVuSans.ttf', 'DejaVuSans-Bold.ttf'] },
  { family: 'Noto Sans', files: ['NotoSans-Regular.ttf', 'NotoSans-Bold.ttf'] },
  { family: 'Helvetica', files: ['Helvetica.ttc'] },
];

function fontDirs(): string[] {
  const home = os.homedir();
  return [
    '/usr/share/fonts',
    '/usr/local/share/fonts',
    path.join(home, '.local/share/fonts'),
    path.join(home, '.fonts'),
    '/System/Library/Fonts',
    '/Library/Fonts',
    'C:\\Windows\\Fonts',
  ].filter((d) => existsSync(d));
}

/** Font files under the usual directories, by base name; bounded so a huge font tree cannot stall a render. */
function scanFonts(): Map<string, string> {
  const found = new Map<string, string>();
  const stack = fontDirs().map((d) => ({ d, depth: 0 }));
  let visited = 0;
  while (stack.length > 0 && visited < 5000) {
    const { d, depth } = stack.pop()!;
    let names: string[];
    try {
      names = readdirSync(d);
    } catch {
      continue;
    }
    for (const name of names) {
      visited++;
      const full = path.join(d, name);
      if (/\.(ttf|otf|ttc)$/i.test(name)) {
        if (!found.has(name)) found.set(name, full);
      } else if (depth < 6) {
        try {
          if (statSync(full).isDirectory()) stack.push({ d: full, depth: depth + 1 });
        } catch {
          // unreadable entry: skip it
        }
      }
    }
  }
  return found;
}

let cached: FontChoice | null | undefined;

/** The font `svgToPng` uses, or null when the system has none. Cached for the process. */
export function discoverFont(): FontChoice | null {
  if (cached !== undefined) return cached;
  const found = scanFonts();
  for (const p of PREFERRED) {
    const files = p.files.map((f) => found.get(f)).filter((f): f is string => f !== undefined);
    if (files.length > 0) return (cached = { files, family: p.family });
  }
  // Some font exists but none we know by name: let resvg load them all and pick its first as the default.
  cached = found.size > 0 ? { files: [], family: '' } : null;
  return cached;
}

export const NO_FONTS_MESSAGE =
  'no fonts found for PNG rendering (resvg draws no text without one); install one, e.g. ' +
  "'apt-get install fonts-dejavu-core' on Debian/Ubuntu, or pass fontFiles";

/**
 * Renders an SVG (as made by `renderSvg`) to PNG bytes, at the SVG's own size times `scale`, on white.
 * Throws a `ReportError` with code `REPORT_NO_FONTS` when no font is available.
 * @example writeFileSync('confusion.png', svgToPng(chartSvg('counts', { counts: { a: 1 } })))
 */
export function svgToPng(svg: string, opts: PngOptions = {}): Uint8Array {
  let font: FontChoice | null;
  if (opts.fontFiles && opts.fontFiles.length > 0) {
    const known = PREFERRED.find((p) => p.files.includes(path.basename(opts.fontFiles![0]!)));
    font = { files: opts.fontFiles, family: opts.fontFamily ?? known?.family ?? '' };
  } else {
    font = discoverFont();
  }
  if (!font) throw new ReportError(ReportErrorCode.NO_FONTS, NO_FONTS_MESSAGE);
  const scale = opts.scale ?? 1;
  const resvg = new Resvg(svg, {
    background: '#ffffff',
    fitTo: scale === 1 ? { mode: 'original' } : { mode: 'zoom', value: scale },
    font:
      font.files.length > 0
        ? {
            loadSystemFonts: false,
            fontFiles: font.files,
            ...(font.family ? { defaultFontFamily: font.family, sansSerifFamily: font.family } : {}),
          }
        : { loadSystemFonts: true },
    logLevel: 'off',
  });
  const png = resvg.render().asPng();
  return new Uint8Array(png.buffer, png.byteOffset, png.byteLength);
}
