"""Saving and loading fitted transformers: skops by default, pickle on request."""

import json
import zipfile
from functools import cache
from pathlib import Path

from sklearn.utils.validation import NotFittedError, check_is_fitted

from ._errors import CLIError, UsageError, one_line

PICKLE_SUFFIXES = (".joblib", ".pkl", ".pickle")
_INSTALL = 'pip install "skprep[cli]"'


def require_skops(what):
    """Import ``skops.io`` or say in one line which extra brings it."""
    try:
        import skops.io as sio
    except ImportError:
        raise CLIError(f"{what} needs skops; install it with {_INSTALL}") from None
    return sio


def check_save_path(path):
    """Refuse a model file name that promises a pickle: skprep writes skops."""
    if Path(path).suffix.lower() in PICKLE_SUFFIXES:
        raise UsageError(
            f"--save-model {path}: skprep saves models in the skops format, not as a "
            "pickle; name the file with .skops"
        )


@cache
def trusted_types():
    """The types skprep itself writes into a model file, by full name.

    Its public transformers, the statistics record they keep, and the
    scikit-learn containers that chain them. NumPy's and Python's plain types are
    trusted by skops itself.
    """
    from .._moments import Moments
    from ..utils import all_estimators

    classes = [cls for _, cls in all_estimators()] + [Moments]
    names = {f"{cls.__module__}.{cls.__qualname__}" for cls in classes}
    names |= {"sklearn.pipeline.Pipeline", "sklearn.pipeline.FeatureUnion"}
    return names


_PLAIN = {
    f"builtins.{name}"
    for name in (
        "bool bytes complex dict float frozenset int list NoneType set slice str tuple"
    ).split()
}


def _trusted(name):
    return name in _PLAIN or name in trusted_types() or name.split(".")[0] == "numpy"


def _types_in(path):
    """Every ``module.class`` named by a node of a skops file's schema."""
    with zipfile.ZipFile(path) as archive:
        schema = json.loads(archive.read("schema.json"))
    names, stack = set(), [schema]
    while stack:
        node = stack.pop()
        if isinstance(node, dict):
            if isinstance(node.get("__class__"), str) and "__module__" in node:
                names.add(f"{node['__module__']}.{node['__class__']}")
            stack.extend(node.values())
        elif isinstance(node, list):
            stack.extend(node)
    return names


def _decompressors():
    """joblib's compressed formats by their magic bytes: a stream opener each."""
    import bz2
    import gzip
    import lzma
    import zlib

    return {
        b"\x1f\x8b": lambda raw: gzip.GzipFile(fileobj=raw),
        b"BZh": lambda raw: bz2.BZ2File(raw),
        b"\xfd7zXZ\x00": lambda raw: lzma.LZMAFile(raw),
        b"\x5d\x00\x00": lambda raw: lzma.LZMAFile(raw, format=lzma.FORMAT_ALONE),
        b"\x78": lambda raw: _ZlibReader(raw, zlib.decompressobj()),
    }


class _ZlibReader:
    def __init__(self, raw, decompressor):
        self._raw, self._decompressor = raw, decompressor

    def read(self, size):
        return self._decompressor.decompress(self._raw.read(1 << 12), size)


def _is_pickle(path):
    """Whether ``path`` starts like a pickle of protocol 2 or later, maybe
    compressed as joblib compresses: a PROTO opcode (0x80) then the protocol.

    Python 3 and joblib write protocol 3 or later; the text protocols 0 and 1
    have no signature, so such files are refused rather than guessed at.
    """
    with open(path, "rb") as raw:
        head = raw.read(8)
        opener = next(
            (o for magic, o in _decompressors().items() if head.startswith(magic)),
            None,
        )
        if opener is not None:
            raw.seek(0)
            try:
                head = opener(raw).read(2)
            except Exception:  # a damaged or different stream: not a pickle we read
                return False
    return len(head) >= 2 and head[0] == 0x80 and 2 <= head[1] <= 5


def save_model(estimator, path):
    """Write ``estimator`` to ``path`` in skops' format."""
    sio = require_skops("--save-model")
    sio.dump(estimator, path)


def load_model(path, trust_pickle):
    """Load a fitted transformer saved by skprep (skops) or, if trusted, a pickle.

    Raises
    ------
    CLIError
        If the file holds types skprep does not write, is a pickle and
        ``trust_pickle`` is False, or does not hold a fitted transformer with
        column names.
    """
    path = Path(path)
    if not path.is_file():
        raise CLIError(f"{path}: no such model file")
    if zipfile.is_zipfile(path):
        sio = require_skops("--load-model")
        try:
            found = set(sio.get_untrusted_types(file=path))
            named = _types_in(path)
        except Exception as exc:  # skops raises several kinds on a damaged file
            raise CLIError(
                f"{path}: not a readable skops model file: {one_line(exc)}"
            ) from None
        # skops trusts many scikit-learn types by default; skprep trusts fewer.
        strange = sorted(name for name in found | named if not _trusted(name))
        if strange:
            raise CLIError(
                f"{path}: refused: it holds types skprep does not write "
                f"({', '.join(strange)}); loading them could run their code"
            )
        try:
            model = sio.load(path, trusted=sorted(found))
        except Exception as exc:
            raise CLIError(f"{path}: cannot load the model: {one_line(exc)}") from None
    elif not _is_pickle(path):
        # Never handed to the unpickler, trusted or not.
        raise CLIError(f"{path}: not a skops model and not a pickle/joblib file")
    elif not trust_pickle:
        raise CLIError(
            f"{path}: a pickle/joblib file, not a skops model; loading a pickle runs "
            "any code its author put in it: pass --trust-pickle only if you trust "
            "where it came from"
        )
    else:
        import joblib

        try:
            model = joblib.load(path)
        except Exception as exc:
            raise CLIError(f"{path}: cannot unpickle: {one_line(exc)}") from None
    return _checked(model, path)


def _checked(model, path):
    if not hasattr(model, "transform"):
        raise CLIError(f"{path}: holds a {type(model).__name__}, not a transformer")
    try:
        check_is_fitted(model)
    except NotFittedError:
        raise CLIError(
            f"{path}: the {type(model).__name__} in it is not fitted"
        ) from None
    if getattr(model, "feature_names_in_", None) is None:
        raise CLIError(
            f"{path}: the {type(model).__name__} in it was fitted without column "
            "names, so skprep cannot tell which columns to transform"
        )
    return model
