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
    """A rich table with one column per frame column, numbers right-aligned."""
    table = Table(title=title, title_justify="left", box=box.SIMPLE_HEAD, pad_edge=False)
    for column in frame.columns:
        numeric = pd.api.types.is_numeric_dtype(frame[column])
        justify = "right" if numeric else "left"
        table.add_column(str(column), justify=justify, no_wrap=True, min_width=len(str(column)))
    for row in frame.itertuples(index=False):
        table.add_row(*(format_cell(v) for v in row))
    return table
