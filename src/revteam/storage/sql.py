"""Quoting for the SQL text revteam builds itself: one contract for every package.

Both helpers return the whole SQL token, quotes included. Use them where a statement cannot
take a parameter: identifiers (table and column names, including a source file's own column
names), and constants in ``SET``, DDL or the options of table functions such as
``read_csv``. Values that come from users (filters, ids, search text) should be bound
parameters instead (``con.execute(sql, [value])``) wherever the statement allows them.
"""

from __future__ import annotations


def quote_ident(name: str) -> str:
    """A SQL identifier: ``name`` in double quotes, inner double quotes doubled.

    ``quote_ident('Deal "Stage" ID')`` gives ``"Deal ""Stage"" ID"``.
    """
    return '"' + name.replace('"', '""') + '"'


def quote_literal(value: str) -> str:
    """A SQL string literal: ``value`` in single quotes, inner single quotes doubled.

    ``quote_literal("O'Brien")`` gives ``'O''Brien'``. Bind the value instead where the
    statement takes parameters.
    """
    return "'" + value.replace("'", "''") + "'"
