import { spawn } from 'node:child_process';

/**
 * Runs a Python anchor script (Debian's /usr/bin/python3, which has scikit-learn, XGBoost and PyTorch) on a work
 * directory and hands each JSON line it prints on stdout to `onRecord` as it arrives; rejects when the script fails.
 */
export function runPythonLines<T>(script: string, dir: string, onRecord: (r: T) => void): Promise<void> {
  return new Promise<void>((resolve, reject) => {
    const py = spawn('/usr/bin/python3', [script, dir], { stdio: ['ignore', 'pipe', 'inherit'] });
    let buf = '';
    py.stdout.on('data', (d: Buffer) => {
      buf += d.toString();
      let i;
      while ((i = buf.indexOf('\n')) >= 0) {
        const line = buf.slice(0, i);
        buf = buf.slice(i + 1);
        if (line.trim()) onRecord(JSON.parse(line) as T);
      }
    });
    py.on('error', reject);
    py.on('close', (code) => (code === 0 ? resolve() : reject(new Error(`${script} exited with ${code}`))));
  });
}
