"""k-nearest neighbours by the definition, one query at a time, with the same tie rules as jaxdl.analysis.knn:
equal distances go to the training example that comes first, equal votes to the class voted for nearest."""

import numpy as np


def predict(train_x, train_y, queries, k, metric):
  out = []
  for q in np.asarray(queries, np.float64):
    diff = np.asarray(train_x, np.float64) - q
    d = np.abs(diff).sum(1) if metric == "l1" else np.square(diff).sum(1)
    order = sorted(range(len(d)), key=lambda i: (d[i], i))[:k]
    labels = [int(train_y[i]) for i in order]
    counts = {c: labels.count(c) for c in labels}
    best = max(counts.values())
    out.append(next(c for c in labels if counts[c] == best))  # the tied class met first, i.e. nearest
  return np.array(out)
