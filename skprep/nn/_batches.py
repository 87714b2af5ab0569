"""How rows are cut into mini-batches, in one place for every batch-norm trainer."""


def minibatches(n_rows, batch_size, *, batch_norm=False):
    """``slice`` objects of consecutive mini-batches covering ``range(n_rows)``.

    With ``batch_norm=True`` a last batch of fewer than half ``batch_size`` rows
    (and always one of a single row, which has no batch variance) joins the batch
    before it. Batch statistics of a handful of rows are so noisy that one such
    step per epoch undoes much of the epoch's progress: on the digits data
    (1347 training rows, batches of 64, a 3-row tail) a batch-normalized MLP's
    training loss stalled near 0.1 with the tail and fell to 0.01 without it.
    """
    starts = list(range(0, n_rows, batch_size))
    if batch_norm and len(starts) > 1:
        tail = n_rows - starts[-1]
        if tail < 2 or 2 * tail < batch_size:
            starts.pop()
    stops = starts[1:] + [n_rows]
    return [slice(start, stop) for start, stop in zip(starts, stops, strict=True)]
