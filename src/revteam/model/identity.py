"""How people's and companies' identifying values are cleaned before they are compared.

Identity resolution uses them, and so do CRM reports that name an account instead of giving
its id.

The rules, as DuckDB SQL so that a million records are cleaned without a Python loop:

- e-mail: lower case; ``+tag`` dropped (plus-addressing, every provider); dots in a Gmail local
  part dropped (Gmail ignores them); ``googlemail.com`` read as ``gmail.com``;
- names: lower case, accents stripped, anything but letters, spaces and hyphens dropped;
- company names: like names, with legal forms (Inc, LLC, GmbH, SA, BV …) and a leading
  "the" dropped, so ``The Acme Corp.`` and ``ACME`` compare equal;
- e-mail domains of free-mail providers say nothing about a person's company, so they never
  link a person to an account.
"""

from __future__ import annotations

FREE_MAIL = (
    "gmail.com", "googlemail.com", "yahoo.com", "yahoo.co.uk", "hotmail.com", "outlook.com",
    "live.com", "msn.com", "icloud.com", "me.com", "aol.com", "gmx.de", "gmx.net", "web.de",
    "proton.me", "protonmail.com", "mail.com", "yandex.ru", "qq.com", "163.com",
)  # fmt: skip
"""Domains that belong to mail providers, not to the companies people work for."""

LEGAL_FORMS = (
    "inc", "incorporated", "llc", "ltd", "limited", "gmbh", "ag", "sa", "sas", "sarl", "srl",
    "spa", "bv", "nv", "plc", "corp", "corporation", "co", "company", "oy", "ab", "as", "aps",
    "kk", "pty", "pte", "lp", "llp", "kg", "se", "group", "holding", "holdings",
)  # fmt: skip


def email_sql(column: str) -> str:
    """SQL for the canonical form of an e-mail address (NULL when it has no ``@``)."""
    e = f"lower(trim({column}))"
    host = f"split_part({e}, '@', 2)"
    domain = f"CASE WHEN {host} = 'googlemail.com' THEN 'gmail.com' ELSE {host} END"
    local = f"regexp_replace(split_part({e}, '@', 1), '\\+.*$', '')"
    gmail_local = (
        f"CASE WHEN {domain} = 'gmail.com' THEN replace({local}, '.', '') ELSE {local} END"
    )
    return f"CASE WHEN {e} LIKE '%_@_%' THEN {gmail_local} || '@' || {domain} END"


def domain_sql(column: str) -> str:
    """The company domain of an e-mail address, NULL for free-mail providers."""
    domain = f"lower(trim(split_part({column}, '@', 2)))"
    free = ", ".join(f"'{d}'" for d in FREE_MAIL)
    return f"CASE WHEN {domain} NOT IN ({free}) THEN NULLIF({domain}, '') END"


def name_sql(column: str) -> str:
    cleaned = f"regexp_replace(strip_accents(lower(trim({column}))), '[^a-z \\-]+', '', 'g')"
    return f"NULLIF(trim(regexp_replace({cleaned}, '\\s+', ' ', 'g')), '')"


def company_sql(column: str) -> str:
    words = "|".join(LEGAL_FORMS)
    cleaned = f"regexp_replace(strip_accents(lower(trim({column}))), '[^a-z0-9 ]+', ' ', 'g')"
    stripped = f"regexp_replace({cleaned}, '^the( |$)|( ({words}))+\\s*$', ' ', 'g')"
    return f"NULLIF(trim(regexp_replace({stripped}, '\\s+', ' ', 'g')), '')"
