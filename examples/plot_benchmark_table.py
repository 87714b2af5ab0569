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

fig, ax = plt.subplots(figsize=(9, 0.32 * len(cases) + 1.2))
labels = [case for _, case, _ in cases]
ratios = [ratio for _, _, ratio in cases]
colors = ["tab:blue" if section == "scalers" else "tab:orange" for section, *_ in cases]
ax.barh(range(len(cases)), ratios, color=colors)
ax.axvline(1.0, color="black", linewidth=1)
ax.set_yticks(range(len(cases)), labels, fontsize=7)
ax.invert_yaxis()
ax.set_xscale("log")
ax.set_xlabel("scikit-learn time / skprep time (log scale; > 1: skprep faster)")
ax.set_title(machine.removeprefix("Machine: ")[:90], fontsize=8)
fig.tight_layout()

for section, case, ratio in cases:
    print(f"{section:>8}  {ratio:6.2f}x  {case}")
