"""Composing layers into a network: activations and a sequential container.

A :class:`Sequential` is itself a :class:`~skprep.nn.Layer`: ``forward`` runs the
layers in order, ``backward`` runs their backward passes in reverse, and its
``params``/``grads`` are flat dicts keyed ``"<index>.<name>"`` whose arrays *are*
the layers' own arrays, so an optimizer that updates them in place trains the
layers.
"""

import numpy as np

from .layers import Layer

__all__ = ["ReLU", "Sequential", "Tanh"]


class ReLU(Layer):
    """Rectified linear unit ``y = max(x, 0)``; the gradient at 0 is taken as 0.

    Examples
    --------
    >>> import numpy as np
    >>> from skprep.nn import ReLU
    >>> relu = ReLU()
    >>> relu.forward(np.array([[-1.0, 2.0]]))
    array([[0., 2.]])
    >>> relu.backward(np.array([[5.0, 5.0]]))
    array([[0., 5.]])
    """

    def forward(self, x):
        self._positive = x > 0
        return np.where(self._positive, x, np.zeros((), dtype=x.dtype))

    def backward(self, dy):
        return np.where(self._saved("_positive"), dy, np.zeros((), dtype=dy.dtype))


class Tanh(Layer):
    """Hyperbolic tangent; the backward pass reuses the output, ``1 - y**2``.

    Examples
    --------
    >>> import numpy as np
    >>> from skprep.nn import Tanh
    >>> layer = Tanh()
    >>> y = layer.forward(np.array([[0.0, 1.0]]))
    >>> bool(np.allclose(layer.backward(np.ones((1, 2))), 1 - y**2))
    True
    """

    def forward(self, x):
        self._y = np.tanh(x)
        return self._y

    def backward(self, dy):
        y = self._saved("_y")
        return dy * (1 - y * y)


class Sequential(Layer):
    """Layers applied one after the other, trained as one.

    Parameters
    ----------
    *layers : Layer
        In the order the input flows through them.

    Attributes
    ----------
    layers : list of Layer
    params, grads : dict
        Flat views ``{"<index>.<name>": array}`` of every layer's parameters and
        gradients; the arrays are shared with the layers, so updating them in
        place updates the network.

    Examples
    --------
    >>> import numpy as np
    >>> from skprep.nn import BatchNorm, Linear, ReLU, Sequential
    >>> net = Sequential(Linear(4, 8, random_state=0), BatchNorm(8), ReLU(),
    ...                  Linear(8, 2, random_state=1))
    >>> x = np.random.default_rng(0).normal(size=(16, 4))
    >>> net.forward(x).shape
    (16, 2)
    >>> net.backward(np.ones((16, 2))).shape
    (16, 4)
    >>> sorted(net.grads)[:3]
    ['0.bias', '0.weight', '1.beta']
    >>> net.eval().layers[1].training
    False
    """

    def __init__(self, *layers):
        for layer in layers:
            if not isinstance(layer, Layer):
                raise TypeError(
                    f"Sequential takes Layer instances; got {type(layer).__name__}."
                )
            if layer._extra_inputs:
                raise TypeError(
                    f"Sequential passes each layer x alone, but "
                    f"{type(layer).__name__}.forward also takes "
                    f"{', '.join(layer._extra_inputs)}; call it yourself between "
                    "two Sequential parts."
                )
        self.layers = list(layers)
        self.training = True

    @property
    def params(self):
        return self._flat("params")

    @property
    def grads(self):
        return self._flat("grads")

    def _flat(self, attribute):
        return {
            f"{i}.{name}": value
            for i, layer in enumerate(self.layers)
            for name, value in getattr(layer, attribute).items()
        }

    def forward(self, x):
        for layer in self.layers:
            x = layer.forward(x)
        return x

    def backward(self, dy):
        for layer in reversed(self.layers):
            dy = layer.backward(dy)
        return dy

    def train(self, mode=True):
        self.training = bool(mode)
        for layer in self.layers:
            layer.train(mode)
        return self

    def zero_grad(self):
        for layer in self.layers:
            layer.zero_grad()

    def state_dict(self, format="skprep"):
        """Every layer's state dict, keys prefixed ``"<index>."`` as in PyTorch's
        ``nn.Sequential``; ``format`` as in :meth:`Layer.state_dict`."""
        return {
            f"{i}.{name}": value
            for i, layer in enumerate(self.layers)
            for name, value in layer.state_dict(format=format).items()
        }

    def load_state_dict(self, state):
        per_layer = [{} for _ in self.layers]
        for key, value in state.items():
            index, _, name = key.partition(".")
            if not index.isdigit() or int(index) >= len(self.layers):
                raise ValueError(f"State key {key!r} names no layer of this network.")
            per_layer[int(index)][name] = value
        for layer, layer_state in zip(self.layers, per_layer, strict=True):
            layer.load_state_dict(layer_state)
        return self
