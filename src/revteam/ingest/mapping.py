"""Column-mapping files: how a source file's columns and values become canonical ones.

A mapping file is YAML::

    table: people                  # optional; must agree with the table being loaded
    columns:                       # source column -> canonical column
      Email: email
      Create Date: created_at
    values:                        # canonical column -> {source value: canonical value}
      channel: {Paid Social: paid_social, Google Ads: paid_search}
    date_formats:                  # canonical column -> strptime format (default: ISO 8601)
      created_at: "%m/%d/%Y %H:%M"
    defaults:                      # constant for canonical columns the file lacks
      channel: other
    currency: EUR                  # the file's money is in EUR (needs an exchange rate)
    currency_column: Currency      # or: a source column holding each row's currency
    encoding: windows-1252         # text encoding (utf-8, utf-16, latin-1, windows-1252)
    delimiter: ";"                 # CSV delimiter (default: detected)
    decimal: ","                   # decimal mark of numbers (default: what the file shows)
    locale: de                     # or: the decimal mark of a locale (de: ",", en: ".")
    sheet: Pipeline                # Excel: the sheet by name, or by position (2 = the second)
    header_row: 4                  # CSV and Excel: the row holding the column names
    skip_rows: 3                   # or: the rows above it (title, export notes) to skip
"""

from __future__ import annotations

from pathlib import Path
from typing import Annotated, Any, Literal

import yaml
from pydantic import BaseModel, ConfigDict, Field, StrictInt, ValidationError, model_validator

from revteam.exceptions import SourceFileError

ENCODINGS = ("utf-8", "utf-16", "latin-1", "windows-1252")
ALIASES = {"cp1252": "windows-1252", "utf8": "utf-8", "utf16": "utf-16", "latin1": "latin-1"}
TRANSCODED = frozenset({"windows-1252"})
"""Encodings DuckDB does not read itself: such files are converted to UTF-8 first."""
LOCALES: dict[str, str] = {
    **dict.fromkeys(("en", "us", "uk", "gb", "au", "ca", "in", "jp", "cn", "mx", "ch"), "."),
    **dict.fromkeys(
        ("de", "at", "nl", "be", "es", "it", "pt", "br", "dk", "tr", "id", "ar", "co"), ","
    ),
    **dict.fromkeys(("fr", "se", "fi", "no", "nb", "pl", "cz", "cs", "ru", "za"), ","),
}
"""Decimal mark of each locale (the thousands mark is the other of . and , or a space)."""


class Mapping(BaseModel):
    """A validated mapping; the empty mapping means 'the file already uses canonical names'."""

    model_config = ConfigDict(frozen=True, extra="forbid")

    table: str | None = Field(None, description="Canonical table the mapping is for.")
    columns: dict[str, str] = Field(default_factory=dict, description="Source → canonical column.")
    values: dict[str, dict[str, str]] = Field(
        default_factory=dict, description="Per canonical column: source value → canonical value."
    )
    date_formats: dict[str, str] = Field(
        default_factory=dict, description="Per canonical column: strptime format."
    )
    defaults: dict[str, str | int | float | bool] = Field(
        default_factory=dict, description="Constants for canonical columns the file lacks."
    )
    currency: str | None = Field(None, description="Currency of the file's money columns.")
    currency_column: str | None = Field(None, description="Source column with each row's currency.")
    encoding: str = Field("utf-8", description=f"Text encoding: {', '.join(ENCODINGS)}.")
    delimiter: str | None = Field(None, description="CSV delimiter; detected when absent.")
    decimal: Literal[".", ","] | None = Field(
        None,
        description="Decimal mark of the file's numbers (the other of . and , and spaces are "
        "thousands marks); default: the mark the file's numbers show, and a number that could "
        "be read either way (1.200) is refused.",
    )
    locale: str | None = Field(
        None, description="Shortcut for decimal: de, fr, es, nl … mean ',', en, us, uk … '.'."
    )
    sheet: Annotated[StrictInt, Field(ge=1)] | str | None = Field(
        None,
        description="Excel: the sheet to read, by name or by position (1 = the first tab; quote "
        "a name that is a number: '2024'); default: the first sheet holding the table's "
        "required columns. Ignored for other formats.",
    )
    header_row: int | None = Field(
        None,
        ge=1,
        description="CSV and Excel: the row (line) holding the column names, counted from 1; "
        "the rows above it (a title, export notes) are skipped. Default: the first line of a "
        "CSV, the first non-empty row of a sheet.",
    )
    skip_rows: int | None = Field(
        None, ge=0, description="CSV and Excel: rows before the header row; header_row - 1."
    )

    @model_validator(mode="after")
    def _one_header_row(self) -> Mapping:
        """``header_row`` and ``skip_rows`` say the same thing: they must agree."""
        if (
            self.header_row is not None
            and self.skip_rows is not None
            and self.header_row != self.skip_rows + 1
        ):
            raise ValueError(
                f"header_row: {self.header_row} and skip_rows: {self.skip_rows} disagree (the "
                f"header row after {self.skip_rows} skipped rows is {self.skip_rows + 1}); "
                "give only one of them"
            )
        return self

    @property
    def header_at(self) -> int | None:
        """The declared header row (1-based), from ``header_row`` or ``skip_rows``."""
        if self.header_row is not None:
            return self.header_row
        return None if self.skip_rows is None else self.skip_rows + 1

    @property
    def encoding_name(self) -> str:
        """The encoding's canonical name (``cp1252`` is ``windows-1252``)."""
        name = self.encoding.lower().replace("_", "-")
        return ALIASES.get(name, name)

    @property
    def decimal_mark(self) -> str | None:
        """The declared decimal mark (``decimal`` wins over ``locale``)."""
        if self.decimal is not None:
            return self.decimal
        return (
            LOCALES.get(self.locale.lower().replace("_", "-").split("-")[0])
            if self.locale
            else None
        )


def load_mapping(path: Path | str | None) -> Mapping:
    """Read and validate a mapping file, reporting every problem at once."""
    if path is None:
        return Mapping()
    path = Path(path)
    try:
        raw: Any = yaml.safe_load(path.read_text(encoding="utf-8"))
    except FileNotFoundError:
        raise SourceFileError(path, "mapping file not found") from None
    except yaml.YAMLError as exc:
        raise SourceFileError(path, f"not valid YAML: {exc}") from None
    if raw is None:
        return Mapping()
    if not isinstance(raw, dict):
        raise SourceFileError(path, "a mapping file must be a YAML mapping (key: value)")
    try:
        mapping = Mapping(**raw)
    except ValidationError as exc:
        problems = "; ".join(
            f"{'.'.join(str(p) for p in e['loc'])}: {e['msg']}" for e in exc.errors()
        )
        raise SourceFileError(
            path, problems, "see `revteam ingest --help` for the format"
        ) from None
    if mapping.locale and mapping.decimal_mark is None:
        raise SourceFileError(
            path,
            f"locale {mapping.locale!r} is not known",
            f'use decimal: "," or decimal: ".", or one of {", ".join(sorted(LOCALES))}',
        )
    if mapping.encoding_name not in ENCODINGS:
        raise SourceFileError(
            path,
            f"encoding {mapping.encoding!r} is not supported",
            f"use one of {', '.join(ENCODINGS)}",
        )
    return mapping
