"""
Exporting a pipeline to ONNX and checking it in onnxruntime
===========================================================

``import skprep.onnx`` registers skl2onnx converters for skprep's transformers
(see :doc:`/user_guide/onnx`), after which ``skl2onnx.to_onnx`` converts a
whole scikit-learn pipeline. The exported graph runs in float32 in
onnxruntime, without Python, scikit-learn or skprep; this example checks that
it predicts what the pipeline predicts, on held-out rows and on rows pushed far
outside the training range. Needs the ``onnx`` extra
(``pip install "skprep[onnx]"``).
"""

import matplotlib.pyplot as plt
import numpy as np
import onnxruntime
from skl2onnx import to_onnx
from sklearn.linear_model import LogisticRegression
from sklearn.pipeline import make_pipeline

import skprep.onnx  # noqa: F401  (registers the converters)
from skprep import PCA, ZScoreScaler
from skprep.datasets import load_wine

X_train, X_test, y_train, y_test = load_wine(split=True)
classifier = LogisticRegression(max_iter=1000)
model = make_pipeline(ZScoreScaler(), PCA(5), classifier).fit(X_train, y_train)

# One float32 row tells skl2onnx the input's type and width; zipmap=False makes
# the classifier return a plain probability matrix instead of a list of dicts.
onx = to_onnx(
    model,
    X_train[:1].astype(np.float32),
    options={id(classifier): {"zipmap": False}},
)
print("nodes:", [node.op_type for node in onx.graph.node])

# %%
# Run the graph in onnxruntime on the held-out rows and on the same rows moved
# ten times further from the training mean:

session = onnxruntime.InferenceSession(
    onx.SerializeToString(), providers=["CPUExecutionProvider"]
)
centre = X_train.mean(axis=0)
X_new = np.vstack([X_test, centre + 10 * (X_test - centre)])
labels, probabilities = session.run(None, {"X": X_new.astype(np.float32)})

same_labels = np.array_equal(labels, model.predict(X_new))
gap = np.abs(probabilities - model.predict_proba(X_new)).max()
print(f"labels identical on {len(X_new)} rows: {same_labels}")
print(f"largest probability difference: {gap:.2e}")
assert same_labels and gap < 1e-5

# %%
# Each probability from onnxruntime (float32) against scikit-learn's (float64);
# the differences are at float32 roundoff:

expected = model.predict_proba(X_new)
fig, (left, right) = plt.subplots(1, 2, figsize=(10, 4), layout="constrained")
left.scatter(expected.ravel(), probabilities.ravel(), s=8)
left.plot([0, 1], [0, 1], color="black", linewidth=0.5)
left.set_xlabel("pipeline.predict_proba (float64)")
left.set_ylabel("onnxruntime (float32)")
left.set_title("Class probabilities, held-out and far rows")
right.hist(np.abs(probabilities - expected).ravel(), bins=30)
right.set_xlabel("|onnxruntime - pipeline|")
right.set_ylabel("count")
right.set_title("Differences")
