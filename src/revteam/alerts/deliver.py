"""Delivering an alert: the message (plain text, generic JSON, Slack) and the two transports.

- **E-mail** over SMTP (``smtplib``), configured from the environment only, never from
  ``revteam.toml`` (a file that gets copied around): ``REVTEAM_SMTP_HOST``,
  ``REVTEAM_SMTP_PORT`` (587), ``REVTEAM_SMTP_USER``, ``REVTEAM_SMTP_PASSWORD``,
  ``REVTEAM_SMTP_FROM`` and ``REVTEAM_SMTP_STARTTLS`` (true; port 465 speaks TLS from the
  start). A review pack goes as an attachment.
- **Webhooks** over HTTP(S) (``httpx``, no redirects followed): ``json`` posts the condition
  with the metric's definition, owners, value, interval and the link to the records behind it;
  ``slack`` posts Slack's ``{"text": …, "blocks": […]}``.

Every failure is an :class:`~revteam.exceptions.AlertDeliveryError` saying what failed and the
fix; the runner records it against the attempt. Messages never hold a webhook's full URL.
"""

from __future__ import annotations

import os
import smtplib
import ssl
from collections.abc import Mapping
from dataclasses import dataclass
from email.message import EmailMessage
from email.utils import formatdate, make_msgid
from importlib.metadata import version
from typing import Any

from revteam.alerts.evaluate import public_url
from revteam.alerts.rules import Channel, Rule
from revteam.alerts.store import Attachment, Condition
from revteam.exceptions import AlertDeliveryError

SMTP_ENV = (
    "REVTEAM_SMTP_HOST",
    "REVTEAM_SMTP_PORT",
    "REVTEAM_SMTP_USER",
    "REVTEAM_SMTP_PASSWORD",
    "REVTEAM_SMTP_FROM",
    "REVTEAM_SMTP_STARTTLS",
)
SMTP_FIX = (
    "Set REVTEAM_SMTP_HOST and REVTEAM_SMTP_FROM (and REVTEAM_SMTP_PORT, REVTEAM_SMTP_USER, "
    "REVTEAM_SMTP_PASSWORD, REVTEAM_SMTP_STARTTLS as needed) in the environment of `revteam "
    "serve` or `revteam alerts run`; they are never read from revteam.toml."
)
RECORDS = "Records behind it"
"""What a message's link is, unless the condition says (``link_label``)."""
SLACK_TEXT = 2900
"""Characters of one Slack text block (Slack's limit is 3,000)."""
_TRUE, _FALSE = {"1", "true", "yes", "on"}, {"0", "false", "no", "off"}


@dataclass(frozen=True)
class SmtpSettings:
    host: str
    port: int
    sender: str
    user: str | None
    password: str | None
    starttls: bool

    @classmethod
    def from_env(cls, env: Mapping[str, str] | None = None) -> SmtpSettings:
        """The mail server from ``REVTEAM_SMTP_*``, or the error naming what is missing."""
        env = os.environ if env is None else env
        host = env.get("REVTEAM_SMTP_HOST", "").strip()
        sender = env.get("REVTEAM_SMTP_FROM", "").strip()
        missing = [
            n for n, v in (("REVTEAM_SMTP_HOST", host), ("REVTEAM_SMTP_FROM", sender)) if not v
        ]
        if missing:
            verb = "is" if len(missing) == 1 else "are"
            raise AlertDeliveryError(
                f"E-mail is not set up: {' and '.join(missing)} {verb} not set.", SMTP_FIX
            )
        port_text = env.get("REVTEAM_SMTP_PORT", "").strip() or "587"
        if not port_text.isdigit() or not 1 <= int(port_text) <= 65535:
            raise AlertDeliveryError(
                f"REVTEAM_SMTP_PORT {port_text!r} is not a port.", "Use 587, 465 or 25."
            )
        tls = env.get("REVTEAM_SMTP_STARTTLS", "").strip().lower() or "true"
        if tls not in _TRUE | _FALSE:
            raise AlertDeliveryError(
                f"REVTEAM_SMTP_STARTTLS {tls!r} is neither true nor false.", "Use true or false."
            )
        user = env.get("REVTEAM_SMTP_USER", "").strip() or None
        password = env.get("REVTEAM_SMTP_PASSWORD") or None
        if user and not password:
            raise AlertDeliveryError(
                "REVTEAM_SMTP_USER is set without REVTEAM_SMTP_PASSWORD.", SMTP_FIX
            )
        return cls(host, int(port_text), sender, user, password, tls in _TRUE)


@dataclass(frozen=True)
class Message:
    subject: str
    text: str
    body: dict[str, Any]
    """The generic JSON body of a webhook."""
    slack: dict[str, Any]
    attachment: Attachment | None = None


def compose(rule: Rule, condition: Condition, attachment: Attachment | None = None) -> Message:
    """What every channel says about ``condition``: the same facts in each format."""
    d = condition.detail
    title = " ".join(condition.title.split())
    lines: list[str] = [title, ""]
    lines += [str(t) for t in d.get("text", [])]
    metric = d.get("metric") or {}
    if metric:
        lines.append(
            f"Metric: {metric.get('label')} ({metric.get('id')}): {metric.get('description')}"
        )
    owners = d.get("owners")
    if owners:
        lines.append(f"Owners: {', '.join(owners) if isinstance(owners, list) else owners}")
    if d.get("value_text"):
        value = f"Value: {d['value_text']}"
        interval = d.get("interval") or {}
        if interval.get("text"):
            value += f" (interval {interval['text']})"
        if d.get("expected_text"):
            value += f", expected {d['expected_text']}"
        lines.append(value)
    if d.get("period"):
        lines.append(f"Period: {d['period']}")
    segment = d.get("segment") or {}
    if segment:
        lines.append("Segment: " + ", ".join(f"{k}={v}" for k, v in segment.items()))
    label = str(d.get("link_label") or RECORDS)
    if d.get("link"):
        lines.append(f"{label}: {d['link']}")
    footer = (
        f"Rule {rule.name!r} ({rule.describe()}), owned by {rule.owner}; first seen "
        f"{condition.first_seen:%Y-%m-%d %H:%M} UTC. Alerts: {public_url()}/alerts"
    )
    lines += ["", footer]
    text = "\n".join(lines)
    body = {
        "rule": {
            "id": rule.id,
            "name": rule.name,
            "kind": rule.kind,
            "description": rule.describe(),
            "owner": rule.owner,
        },
        "condition": {
            "id": condition.id,
            "key": condition.key,
            "first_seen": condition.first_seen.isoformat(timespec="seconds"),
        },
        "title": title,
        "text": text,
        **{k: v for k, v in d.items() if k != "text"},
    }
    return Message(
        subject=f"[revteam] {rule.name}: {title}"[:250],
        text=text,
        body=body,
        slack=_slack(title, lines[2:-2], d.get("link"), rule.name, label),
        attachment=attachment,
    )


def _esc(text: str) -> str:
    return text.replace("&", "&amp;").replace("<", "&lt;").replace(">", "&gt;")


def _slack(
    title: str, lines: list[str], link: str | None, rule: str, label: str = RECORDS
) -> dict[str, Any]:
    body = "\n".join(line for line in lines if not line.startswith(f"{label}:"))
    context = f"Rule {_esc(rule)}"
    if link and link.startswith(("http://", "https://")):
        context = f"<{link}|{_esc(label)}> · {context}"
    elif link:
        context = f"{_esc(label)}: {_esc(link)} · {context}"
    blocks: list[dict[str, Any]] = [
        {"type": "section", "text": {"type": "mrkdwn", "text": f"*{_esc(title)}*"[:SLACK_TEXT]}}
    ]
    if body.strip():
        blocks.append(
            {"type": "section", "text": {"type": "mrkdwn", "text": _esc(body)[:SLACK_TEXT]}}
        )
    blocks.append(
        {"type": "context", "elements": [{"type": "mrkdwn", "text": context[:SLACK_TEXT]}]}
    )
    return {"text": title, "blocks": blocks}


class Transport:
    """Sends a message to a channel, or raises :class:`AlertDeliveryError`."""

    def __init__(self, *, timeout: float = 15.0, env: Mapping[str, str] | None = None) -> None:
        self.timeout = timeout
        self._env = env
        """``None``: read ``os.environ`` at each send (a changed setting applies at once)."""

    def send(self, channel: Channel, message: Message) -> None:
        if channel.type == "email":
            self._email(channel.target, message)
        else:
            self._webhook(channel, message)

    def _email(self, to: str, message: Message) -> None:
        smtp = SmtpSettings.from_env(self._env)
        mail = EmailMessage()
        mail["Subject"] = " ".join(message.subject.split())
        mail["From"] = smtp.sender
        mail["To"] = to
        mail["Date"] = formatdate(localtime=False)
        mail["Message-ID"] = make_msgid(domain=smtp.sender.rpartition("@")[2] or None)
        mail.set_content(message.text)
        if message.attachment is not None:
            main, _, sub = message.attachment.mime.partition("/")
            mail.add_attachment(
                message.attachment.content,
                maintype=main,
                subtype=sub,
                filename=message.attachment.name,
            )
        where = f"{smtp.host}:{smtp.port}"
        try:
            if smtp.port == 465:
                context = ssl.create_default_context()
                server: smtplib.SMTP = smtplib.SMTP_SSL(
                    smtp.host, smtp.port, timeout=self.timeout, context=context
                )
            else:
                server = smtplib.SMTP(smtp.host, smtp.port, timeout=self.timeout)
            with server:
                if smtp.starttls and smtp.port != 465:
                    server.starttls(context=ssl.create_default_context())
                if smtp.user and smtp.password:
                    server.login(smtp.user, smtp.password)
                server.send_message(mail)
        except smtplib.SMTPNotSupportedError as exc:
            raise AlertDeliveryError(
                f"The mail server {where} refused: {exc}.",
                "If it offers no STARTTLS (a relay on a trusted network), set "
                "REVTEAM_SMTP_STARTTLS=false; else use port 465 or 587.",
            ) from None
        except smtplib.SMTPAuthenticationError:
            raise AlertDeliveryError(
                f"The mail server {where} refused REVTEAM_SMTP_USER's password.",
                "Check REVTEAM_SMTP_USER and REVTEAM_SMTP_PASSWORD.",
            ) from None
        except (smtplib.SMTPException, OSError) as exc:
            raise AlertDeliveryError(
                f"The mail server {where} failed: {exc or type(exc).__name__}.",
                "Check REVTEAM_SMTP_HOST and REVTEAM_SMTP_PORT; it is retried with back-off.",
            ) from None

    def _webhook(self, channel: Channel, message: Message) -> None:
        import httpx

        body = message.slack if channel.format == "slack" else message.body
        label = channel.label()
        try:
            with httpx.Client(timeout=self.timeout, follow_redirects=False) as client:
                response = client.post(
                    channel.target,
                    json=body,
                    headers={"User-Agent": f"revteam/{version('revteam')}"},
                )
        except httpx.HTTPError as exc:
            text = str(exc).replace(channel.target, label) or type(exc).__name__
            raise AlertDeliveryError(
                f"The {label} could not be reached: {text}.",
                "Check the URL and that the service is up; it is retried with back-off.",
            ) from None
        if not 200 <= response.status_code < 300:
            raise AlertDeliveryError(
                f"The {label} answered HTTP {response.status_code}.",
                "See the receiving service's log; it is retried with back-off.",
            )
