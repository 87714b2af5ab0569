"""Training losses of the networks: value and gradient with respect to the output."""

import numpy as np
from scipy.special import log_softmax


def softmax_cross_entropy(logits, onehot):
    """Mean cross-entropy of ``softmax(logits)`` against one-hot targets.

    Returns ``(loss, dlogits)`` with ``dlogits = (softmax(logits) - onehot) / N``.
    """
    log_proba = log_softmax(logits, axis=1)
    n_rows = logits.shape[0]
    loss = -float(np.sum(onehot * log_proba)) / n_rows
    return loss, (np.exp(log_proba) - onehot) / n_rows


def half_squared_error(output, target):
    """``mean((output - target) ** 2) / 2`` over every element, and its gradient."""
    residual = output - target
    loss = 0.5 * float(np.mean(residual * residual))
    return loss, residual / residual.size
