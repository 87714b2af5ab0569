"""What the command prints: the demo report, --describe and --list-methods."""

import inspect
import re
import shutil
import textwrap

import numpy as np
import pandas as pd

from .._moments import moments
from ..utils import all_estimators


def transformers():
    """skprep's public transformers, ``{name: class}``, sorted by name."""
    return dict(all_estimators("transformer"))


def summary_line(cls):
    """The first line of a class's docstring."""
    doc = inspect.getdoc(cls) or ""
    return _plain_text(doc.splitlines()[0]) if doc else ""


def accepts_nan(estimator):
    """Whether the transformer's tags say it takes missing values."""
    return bool(estimator.__sklearn_tags__().input_tags.allow_nan)


def nan_methods():
    """Names of the transformers that accept missing values."""
    return [name for name, cls in transformers().items() if accepts_nan(cls())]


def parameter_docs(cls):
    """``{name: first sentence of its description}`` from the Parameters section."""
    lines = (inspect.getdoc(cls) or "").splitlines()
    texts, inside, current = {}, False, None
    for i, line in enumerate(lines):
        underline = i + 1 < len(lines) and set(lines[i + 1].strip()) == {"-"}
        if not inside:
            inside = line.strip() == "Parameters" and underline
            continue
        if not line.strip() or set(line.strip()) == {"-"}:
            continue
        if not line[0].isspace():
            if underline:
                break  # the next section
            current = line.split(":")[0].strip()
            texts[current] = []
        elif current is not None:
            texts[current].append(line.strip())
    return {
        name: _first_sentence(_plain_text(" ".join(words)))
        for name, words in texts.items()
    }


def _plain_text(text):
    """reStructuredText inline markup as plain text: ``x``, :math:`x`, :class:`~a.B`."""
    text = re.sub(r":[a-z:]+:`~?([^`<]*?)(?:\s*<[^>]*>)?`", _role, text)
    return re.sub(r"``(.*?)``", r"\1", text)


def _role(found):
    target = found.group(1)
    # :class:`~skprep.PCA` shows the last name, as Sphinx does.
    return target.rsplit(".", 1)[-1] if "." in target and " " not in target else target


def _first_sentence(text):
    """The whole first sentence, never cut; "e.g." does not end it."""
    found = re.search(r"(?<!e\.g)(?<!i\.e)\.\s", text + " ")
    return text if found is None else text[: found.start() + 1]


def describe(cls):
    """The text of ``skprep --describe``: each parameter, its default, its doc."""
    estimator = cls()
    params = estimator.get_params(deep=False)
    docs = parameter_docs(cls)
    width = max((len(f"{k}={v!r}") for k, v in params.items()), default=0)
    lines = [
        f"{cls.__name__}: {summary_line(cls)}",
        f"  missing values: {'accepted' if accepts_nan(estimator) else 'refused'}; "
        f"fits in chunks (--chunksize): {'yes' if _streams(cls) else 'no'}",
        "parameters (set with --param KEY=VALUE):" if params else "no parameters",
    ]
    wrap = max(40, shutil.get_terminal_size().columns - width - 5)
    for key, value in params.items():
        doc = textwrap.wrap(docs.get(key, ""), wrap) or [""]
        lines.append(f"  {f'{key}={value!r}':<{width}}  {doc[0]}".rstrip())
        lines.extend(f"  {'':<{width}}  {more}" for more in doc[1:])
    return "\n".join(lines)


def _streams(cls):
    from .._base import MomentsEstimator

    return issubclass(cls, MomentsEstimator)


# --- the demo report ------------------------------------------------------------------


def _summary(values, names):
    values = np.asarray(values, dtype=np.float64)
    stats = moments(values, var=True, minmax=True)
    table = pd.DataFrame(
        {
            "mean": stats.observed_mean(),
            "std": np.sqrt(stats.variance(ddof=0)),
            "min": stats.minimum,
            "max": stats.maximum,
        },
        index=names,
    )
    # A mean or std of n values each rounded to eps * |x| is off by up to about
    # n * eps * max|x|; below that it is roundoff, and printing -6e-16 would
    # suggest a real offset.
    magnitude = np.maximum(np.abs(table["min"]), np.abs(table["max"]))
    noise = values.shape[0] * np.finfo(np.float64).eps * magnitude
    for column in ("mean", "std"):
        table.loc[np.abs(table[column]) <= noise, column] = 0.0
    return table


def _format(value):
    return " 0" if value == 0 else f"{value: .4g}"


def report(title, before, after, names_in, names_out):
    """Before/after statistics of every feature, as printed lines."""
    lines = [f"\n{title}"]
    for label, table in (
        ("before", _summary(before, names_in)),
        ("after", _summary(after, names_out)),
    ):
        lines.append(f"  {label} ({table.shape[0]} features)")
        with pd.option_context("display.max_rows", None, "display.width", 200):
            text = table.to_string(float_format=_format)
        lines.extend("    " + line for line in text.splitlines())
    return lines
