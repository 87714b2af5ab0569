"""
The benchmark table as a picture
================================

``python benchmarks/run.py --write-docs`` times skprep against the estimator a
user would otherwise pick and writes the results to ``docs/benchmarks.md`` (see
:doc:`/benchmarks`). This example reads that file, as committed with the
documentation, and draws each case's speed ratio against scikit-learn: bars to
the right of the line are cases where skprep is faster. The benchmarks
themselves take minutes and are not rerun here.
"""

import textwrap
from pathlib import Path

import matplotlib.pyplot as plt

try:
    HERE = Path(__file__).resolve().parent
except NameError:  # run cell by cell in an interactive session
    HERE = Path.cwd()
RESULTS = HERE.parent / "docs" / "benchmarks.md"


def read_tables(text):
    """Markdown tables of ``text`` as ``{section: [row dict, ...]}``."""
    tables, section, header = {}, None, None
    for line in text.splitlines():
        if line.startswith("## "):
            section, header = line[3:].strip(), None
        elif line.startswith("|") and section is not None:
            cells = [cell.strip() for cell in line.strip().strip("|").split("|")]
            if header is None:
                header = cells
            elif not set(line) <= set("|-: "):
                tables.setdefault(section, []).append(
                    dict(zip(header, cells, strict=True))
                )
        else:
            header = None
    return tables


tables = read_tables(RESULTS.read_text(encoding="utf-8"))
machine = next(
    (line for line in RESULTS.read_text().splitlines() if line.startswith("Machine")),
    "",
)
cases = [
    (section, row["case"], float(row["vs scikit-learn"].rstrip("x")))
    for section, rows in tables.items()
    for row in rows
    if row.get("vs scikit-learn")
]

# %%
# Speed-up over scikit-learn, by case:

fig, ax = plt.subplots(figsize=(9, 0.32 * len(cases) + 1.6), layout="constrained")
labels = [case for _, case, _ in cases]
ratios = [ratio for _, _, ratio in cases]
colors = {"scalers": "tab:blue"}
for section in dict.fromkeys(section for section, *_ in cases):
    rows = [i for i, case in enumerate(cases) if case[0] == section]
    ax.barh(
        rows,
        [ratios[i] for i in rows],
        color=colors.get(section, "tab:orange"),
        label=section,
    )
ax.axvline(1.0, color="black", linewidth=1)
ax.set_yticks(range(len(cases)), labels, fontsize=7)
ax.invert_yaxis()
ax.set_xscale("log")
ax.set_xlabel("scikit-learn time / skprep time (log scale; > 1: skprep faster)")
ax.legend(loc="lower right", fontsize=8)
# The machine line is long: wrapped, it stays inside the figure at any width.
fig.suptitle(
    "Speed-up over scikit-learn\n"
    + textwrap.fill(machine.removeprefix("Machine: "), width=120),
    fontsize=8,
)

for section, case, ratio in cases:
    print(f"{section:>8}  {ratio:6.2f}x  {case}")
