#!/usr/bin/python3
"""Anchors for bench/learn-bench.ts: scikit-learn and XGBoost on exactly the folds Veil uses.

Reads DIR/meta.json (rows, features, classes, folds, models, threads, xgb_rounds), DIR/X.f64 (rows x features,
row-major float64, NaN = missing), DIR/y.i32 (class per row) and DIR/folds.i32 (fold number of each row's test
fold, -1 = in no test fold), and prints one JSON line per (model, fold) on stdout:
{"model", "fold", "accuracy", "macro_f1", "fit_s", "fit_cpu_s", "predict_s", "predict_cpu_s", "rows"}.
With "dump_predictions": true in meta.json it also writes DIR/pred-MODEL-FOLD.i32: the predicted class of each of
the fold's test rows, in row order (bench/names-hidden.ts scores them per class).

Fits use `threads` threads; predictions run on one thread (threadpoolctl limits OpenMP, n_jobs=1, nthread=1),
best of three runs.
Run with Debian's interpreter (/usr/bin/python3): python3-sklearn 1.2 and python3-xgboost 1.7.
"""
import json
import os
import sys
import time

import numpy as np
from threadpoolctl import threadpool_limits

from bench_common import macro_f1


def models(names, threads, rounds, seed):
    from sklearn.ensemble import RandomForestClassifier, HistGradientBoostingClassifier
    import xgboost as xgb
    out = {}
    if 'sklearn-rf' in names:
        out['sklearn-rf'] = lambda: RandomForestClassifier(n_estimators=100, class_weight='balanced', n_jobs=threads, random_state=seed)
    if 'sklearn-hgb' in names:
        out['sklearn-hgb'] = lambda: HistGradientBoostingClassifier(random_state=seed)
    if 'xgboost' in names:
        out['xgboost'] = lambda: xgb.XGBClassifier(n_estimators=rounds, tree_method='hist', n_jobs=threads, random_state=seed)
    return out


def main():
    d = sys.argv[1]
    meta = json.load(open(os.path.join(d, 'meta.json')))
    n, f = meta['rows'], meta['features']
    X = np.fromfile(os.path.join(d, 'X.f64'), dtype='<f8').reshape(n, f)
    y = np.fromfile(os.path.join(d, 'y.i32'), dtype='<i4')
    folds = np.fromfile(os.path.join(d, 'folds.i32'), dtype='<i4')
    threads = meta['threads']
    k = meta['classes']
    for name, make in models(meta['models'], threads, meta['xgb_rounds'], meta.get('seed', 0)).items():
        for fold in range(meta['folds']):
            test = folds == fold
            train = (folds != fold) & (y >= 0)
            Xtr, ytr = X[train], y[train]
            # XGBoost wants classes 0..m-1 present in training: remap.
            present = np.unique(ytr)
            remap = np.full(k, -1, dtype=np.int64)
            remap[present] = np.arange(len(present))
            m = make()
            with threadpool_limits(threads):
                t0, c0 = time.perf_counter(), time.process_time()
                m.fit(Xtr, remap[ytr])
                t1, c1 = time.perf_counter(), time.process_time()
            if name == 'xgboost':
                m.get_booster().set_param({'nthread': 1})
            elif hasattr(m, 'n_jobs'):
                m.n_jobs = 1
            # Best of three prediction runs, as on the Veil side.
            predict_s = predict_cpu_s = float('inf')
            Xt = X[test]
            with threadpool_limits(1):
                for _ in range(3):
                    t2, c2 = time.perf_counter(), time.process_time()
                    proba = m.predict_proba(Xt)
                    t3, c3 = time.perf_counter(), time.process_time()
                    predict_s, predict_cpu_s = min(predict_s, t3 - t2), min(predict_cpu_s, c3 - c2)
            pred = present[np.argmax(proba, axis=1)]
            if meta.get('dump_predictions'):
                pred.astype('<i4').tofile(os.path.join(d, 'pred-%s-%d.i32' % (name, fold)))
            yt = y[test]
            print(json.dumps({
                'model': name, 'fold': fold, 'rows': int(test.sum()),
                'accuracy': float(np.mean(pred == yt)), 'macro_f1': macro_f1(yt, pred),
                'fit_s': t1 - t0, 'fit_cpu_s': c1 - c0, 'predict_s': predict_s, 'predict_cpu_s': predict_cpu_s,
            }), flush=True)


if __name__ == '__main__':
    main()
