"""Render result DataFrames as rich tables for the terminal (numbers kept readable)."""

from __future__ import annotations

import math

import pandas as pd
from rich import box
from rich.table import Table


def format_cell(value: object) -> str:
    """One cell as text: floats with 2 decimals, missing values as a dash.

    >>> [format_cell(v) for v in (1.23456, None, float("nan"), pd.NA, 3, "a.csv")]
    ['1.23', '-', '-', '-', '3', 'a.csv']
    """
    if value is None or value is pd.NA or (isinstance(value, float) and math.isnan(value)):
        return "-"
    if isinstance(value, float):
        return f"{value:.2f}"
    return str(value)


def frame_table(frame: pd.DataFrame, title: str | None = None) -> Table:
    """A rich table with one column per frame column, numbers right-aligned.

    Numbers are never cut: their columns are as wide as their widest cell, and
    on a narrow terminal the text columns (names) wrap instead.
    """
    table = Table(title=title, title_justify="left", box=box.SIMPLE_HEAD, pad_edge=False)
    cells = [[format_cell(v) for v in row] for row in frame.itertuples(index=False)]
    for i, column in enumerate(frame.columns):
        numeric = pd.api.types.is_numeric_dtype(frame[column])
        if numeric:
            width = max([len(str(column)), *(len(row[i]) for row in cells)])
            table.add_column(str(column), justify="right", no_wrap=True, min_width=width)
        else:
            table.add_column(str(column), justify="left", overflow="fold", min_width=6)
    for row in cells:
        table.add_row(*row)
    return table
