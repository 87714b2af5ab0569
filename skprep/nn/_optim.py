"""Mini-batch optimizers that update a network's parameter arrays in place.

``step(params, grads)`` takes the flat dicts of :class:`~skprep.nn.Sequential`;
the optimizer's own state (velocities, moment estimates) is keyed the same way,
so a network trained further (``warm_start``, ``partial_fit``) keeps its
momentum. Updates are made in float64 whatever the gradients' dtype.
"""

import numpy as np


class SGD:
    """Stochastic gradient descent with (optionally Nesterov) momentum.

    ``velocity = momentum * velocity - lr * grad``; ``param += velocity`` (or, with
    Nesterov, ``param += momentum * velocity - lr * grad``).
    """

    def __init__(self, lr, *, momentum=0.9, nesterov=True):
        self.lr = lr
        self.momentum = momentum
        self.nesterov = nesterov
        self.velocity = {}

    def step(self, params, grads):
        for key, param in params.items():
            grad = np.asarray(grads[key], dtype=np.float64)
            velocity = self.velocity.get(key)
            if velocity is None:
                velocity = self.velocity[key] = np.zeros_like(param)
            velocity *= self.momentum
            velocity -= self.lr * grad
            if self.nesterov:
                param += self.momentum * velocity - self.lr * grad
            else:
                param += velocity


class Adam:
    """Adam (Kingma & Ba 2015) with bias-corrected moment estimates."""

    def __init__(self, lr, *, beta_1=0.9, beta_2=0.999, epsilon=1e-8):
        self.lr = lr
        self.beta_1 = beta_1
        self.beta_2 = beta_2
        self.epsilon = epsilon
        self.t = 0
        self.first = {}
        self.second = {}

    def step(self, params, grads):
        self.t += 1
        # Both bias corrections folded into one step size.
        step_size = (
            self.lr * np.sqrt(1 - self.beta_2**self.t) / (1 - self.beta_1**self.t)
        )
        for key, param in params.items():
            grad = np.asarray(grads[key], dtype=np.float64)
            if key not in self.first:
                self.first[key] = np.zeros_like(param)
                self.second[key] = np.zeros_like(param)
            m, v = self.first[key], self.second[key]
            m *= self.beta_1
            m += (1 - self.beta_1) * grad
            v *= self.beta_2
            v += (1 - self.beta_2) * grad * grad
            param -= step_size * m / (np.sqrt(v) + self.epsilon)
