"""Shared by the Python anchor scripts (learn-anchors.py, nn-torch.py), which import it from their own folder."""
import numpy as np


def macro_f1(y, p):
    """Macro-averaged F1 over the classes present in the labels or the predictions (as Veil's macroF1)."""
    present = np.union1d(np.unique(y), np.unique(p))
    f1s = []
    for c in present:
        tp = np.sum((p == c) & (y == c))
        fp = np.sum((p == c) & (y != c))
        fn = np.sum((p != c) & (y == c))
        d = 2 * tp + fp + fn
        f1s.append(2 * tp / d if d else 0.0)
    return float(np.mean(f1s)) if f1s else 0.0
