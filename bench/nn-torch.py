#!/usr/bin/python3
"""PyTorch side of bench/nn-bench.ts: the same architectures, inputs, folds and training protocol as Veil's networks.

Reads DIR/meta.json (rows, steps, channels, classes, folds, archs, epochs, batch_size, lr, seed, hidden, filters,
kernel, units, class_weight, threads), DIR/X.f32 (folds x rows x steps*channels float32: each fold's input grid,
standardised with that fold's training rows exactly as Veil did), DIR/y.i32 (class per row) and DIR/folds.i32 (test
fold of each row, -1 = none), and prints one JSON line per (arch, fold) on stdout:
{"model", "fold", "rows", "accuracy", "macro_f1", "epochs", "epoch_s", "epoch_cpu_s", "fit_s"}.

Architectures (as src/model/nn/spec.ts buildLayers): mlp = flatten, dense+relu per hidden, dense; cnn = conv1d+relu
per filter ('same' padding), max over time, dense+relu per hidden, dense; lstm = LSTM (last hidden state), dense+relu
per hidden, dense; cnn-lstm = conv1d+relu per filter, LSTM, dense. Glorot-uniform weights, zero biases, LSTM forget
bias 1 (one LSTM bias vector, as Veil's: bias_hh stays 0), class-weighted cross-entropy (weighted mean), Adam, shuffled mini-batches, fixed epochs. One thread
(tfjs-wasm runs on one), CPU seconds from time.process_time(). Run with Debian's /usr/bin/python3 (python3-torch).
"""
import json
import os
import sys
import time

# One compute thread, as Veil's wasm backend: BLAS/OpenMP pools are sized when torch loads, before set_num_threads.
for _v in ('OMP_NUM_THREADS', 'MKL_NUM_THREADS', 'OPENBLAS_NUM_THREADS'):
    os.environ.setdefault(_v, '1')

import numpy as np

from bench_common import macro_f1
import torch
import torch.nn as nn


class Net(nn.Module):
    def __init__(self, arch, steps, channels, classes, hidden, filters, kernel, units):
        super().__init__()
        self.arch = arch
        self.convs = nn.ModuleList()
        width = channels
        if arch in ('cnn', 'cnn-lstm'):
            for f in filters:
                self.convs.append(nn.Conv1d(width, f, kernel, padding=(kernel - 1) // 2))
                width = f
        self.lstm = None
        if arch in ('lstm', 'cnn-lstm'):
            self.lstm = nn.LSTM(width, units, batch_first=True)
            width = units
        if arch == 'mlp':
            width = steps * channels
        dense = []
        for h in hidden:
            dense += [nn.Linear(width, h), nn.ReLU()]
            width = h
        dense.append(nn.Linear(width, classes))
        self.dense = nn.Sequential(*dense)
        for m in self.modules():
            if isinstance(m, (nn.Linear, nn.Conv1d)):
                nn.init.xavier_uniform_(m.weight)
                nn.init.zeros_(m.bias)
        if self.lstm is not None:
            h = units
            nn.init.xavier_uniform_(self.lstm.weight_ih_l0)
            nn.init.xavier_uniform_(self.lstm.weight_hh_l0)
            nn.init.zeros_(self.lstm.bias_ih_l0)
            nn.init.zeros_(self.lstm.bias_hh_l0)
            with torch.no_grad():
                self.lstm.bias_ih_l0[h:2 * h] = 1.0  # PyTorch gate order i, f, g, o
            # Veil's LSTM has one bias vector; PyTorch's second (bias_hh) would double the bias's Adam step.
            self.lstm.bias_hh_l0.requires_grad_(False)

    def forward(self, x):  # x: [B, steps, channels]
        if self.arch == 'mlp':
            return self.dense(x.flatten(1))
        if self.convs:
            z = x.transpose(1, 2)
            for c in self.convs:
                z = torch.relu(c(z))
            x = z.transpose(1, 2)
        if self.lstm is not None:
            _, (h, _) = self.lstm(x)
            return self.dense(h[-1])
        return self.dense(x.amax(1))


def load_paired(model, d, arch, fold, epochs, n):
    """--paired: Veil's initial weights for this fold, mapped to PyTorch's layouts, and Veil's batch orders."""
    start = json.load(open(os.path.join(d, f'paired-{arch}-{fold}.json')))
    w = [np.asarray(a, dtype=np.float32) for a in start['weights']]
    linears = [m for m in model.dense if isinstance(m, nn.Linear)]
    convs = list(model.convs)
    i = 0
    with torch.no_grad():
        for layer in start['layers']:
            kind = layer['kind']
            if kind == 'dense':
                lin = linears.pop(0)
                lin.weight.copy_(torch.from_numpy(w[i].reshape(layer['inputs'], layer['units']).T.copy()))
                lin.bias.copy_(torch.from_numpy(w[i + 1]))
                i += 2
            elif kind == 'conv1d':
                conv = convs.pop(0)
                k, c, f = layer['kernel'], layer['channels'], layer['filters']
                # Veil's im2col rows are (offset, channel), offset outer: W[k * C + c, f] is PyTorch's weight[f, c, k].
                conv.weight.copy_(torch.from_numpy(w[i].reshape(k, c, f).transpose(2, 1, 0).copy()))
                conv.bias.copy_(torch.from_numpy(w[i + 1]))
                i += 2
            elif kind == 'lstm':
                h, inp = layer['units'], layer['inputs']
                # Veil's gates are i, f, o, g; PyTorch's i, f, g, o.
                perm = np.concatenate([np.arange(0, 2 * h), np.arange(3 * h, 4 * h), np.arange(2 * h, 3 * h)])
                model.lstm.weight_ih_l0.copy_(torch.from_numpy(w[i].reshape(inp, 4 * h)[:, perm].T.copy()))
                model.lstm.weight_hh_l0.copy_(torch.from_numpy(w[i + 1].reshape(h, 4 * h)[:, perm].T.copy()))
                model.lstm.bias_ih_l0.copy_(torch.from_numpy(w[i + 2][perm].copy()))
                model.lstm.bias_hh_l0.zero_()
                i += 3
    assert i == len(w) and not linears and not convs, 'paired: layer mismatch'
    orders = np.fromfile(os.path.join(d, f'paired-{arch}-{fold}.order.i32'), dtype='<i4').reshape(epochs, n).astype(np.int64)
    return orders


def main():
    d = sys.argv[1]
    meta = json.load(open(os.path.join(d, 'meta.json')))
    n, T, C, K, F = meta['rows'], meta['steps'], meta['channels'], meta['classes'], meta['folds']
    torch.set_num_threads(meta.get('threads', 1))
    torch.set_num_interop_threads(1)
    X = np.fromfile(os.path.join(d, 'X.f32'), dtype='<f4').reshape(F, n, T, C)
    y = np.fromfile(os.path.join(d, 'y.i32'), dtype='<i4')
    folds = np.fromfile(os.path.join(d, 'folds.i32'), dtype='<i4')
    for arch in meta['archs']:
        p = meta['params'][arch]
        for fold in range(F):
            test = folds == fold
            train = (folds != fold) & (y >= 0)
            Xtr = torch.from_numpy(X[fold][train].copy())
            ytr = torch.from_numpy(y[train].astype(np.int64))
            counts = np.bincount(y[train], minlength=K).astype(np.float64)
            present = (counts > 0).sum()
            cw = np.where(counts > 0, len(ytr) / (present * np.maximum(counts, 1)), 1.0) if p['class_weight'] == 'balanced' else np.ones(K)
            torch.manual_seed(meta['seed'] + fold)
            gen = torch.Generator().manual_seed(meta['seed'] + 1000 + fold)
            model = Net(arch, T, C, K, p['hidden'], p['filters'], p['kernel'], p['units'])
            orders = None
            if meta.get('paired'):
                orders = load_paired(model, d, arch, fold, p['epochs'], len(ytr))
            opt = torch.optim.Adam([q for q in model.parameters() if q.requires_grad], lr=p['lr'])
            loss_fn = nn.CrossEntropyLoss(weight=torch.tensor(cw, dtype=torch.float32))
            B = p['batch_size']
            wall, cpu = 0.0, 0.0
            t0 = time.perf_counter()
            for _ in range(p['epochs']):
                e0, c0 = time.perf_counter(), time.process_time()
                model.train()
                order = torch.randperm(len(ytr), generator=gen) if orders is None else torch.from_numpy(orders[_])
                for i in range(0, len(ytr), B):
                    idx = order[i:i + B]
                    opt.zero_grad()
                    loss = loss_fn(model(Xtr[idx]), ytr[idx])
                    loss.backward()
                    opt.step()
                wall += time.perf_counter() - e0
                cpu += time.process_time() - c0
            fit_s = time.perf_counter() - t0
            model.eval()
            with torch.no_grad():
                pred = model(torch.from_numpy(X[fold][test].copy())).argmax(1).numpy()
            yt = y[test]
            print(json.dumps({
                'model': arch, 'fold': fold, 'rows': int(test.sum()), 'accuracy': float(np.mean(pred == yt)),
                'macro_f1': macro_f1(yt, pred), 'epochs': p['epochs'], 'epoch_s': wall / p['epochs'],
                'epoch_cpu_s': cpu / p['epochs'], 'fit_s': fit_s,
            }), flush=True)


if __name__ == '__main__':
    main()
