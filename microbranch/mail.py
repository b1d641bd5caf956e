"""Mail through the SMTP server in the settings: host, port, STARTTLS, user and password (the password from the
environment or the secrets file, never from a command line). Used for the monthly report and the staff's alerts."""

from __future__ import annotations

import smtplib
import ssl
from email.message import EmailMessage
from email.utils import formatdate, make_msgid

from microbranch import settings


class MailError(RuntimeError):
    """The mail could not be sent; the message says why (never the password)."""


def configured(s: settings.Settings | None = None) -> bool:
    return bool((s or settings.current()).smtp_host)


def send(to: str, subject: str, body: str, attachments: list[tuple[str, bytes, str]] | None = None,
         s: settings.Settings | None = None) -> str:
    """Send one mail (plain text, UTF-8) with attachments given as (file name, bytes, MIME type); returns its
    Message-ID. Raises MailError when no server is set or it refuses."""
    s = s or settings.current()
    if not s.smtp_host:
        msg = "no mail server is set: give smtp_host (MICROBRANCH_SMTP_HOST) and, if it needs one, smtp_user"
        raise MailError(msg)
    m = EmailMessage()
    m["From"], m["To"], m["Subject"] = s.mail_from, to, subject
    m["Date"], m["Message-ID"] = formatdate(localtime=True), make_msgid(domain=s.mail_from.rpartition("@")[2] or None)
    m.set_content(body, charset="utf-8")
    for name, data, mime in attachments or []:
        maintype, _, subtype = mime.partition("/")
        m.add_attachment(data, maintype=maintype, subtype=subtype, filename=name)
    try:
        with smtplib.SMTP(s.smtp_host, s.smtp_port, timeout=60) as smtp:
            if s.smtp_starttls:
                smtp.starttls(context=ssl.create_default_context())
            if s.smtp_user:
                smtp.login(s.smtp_user, s.smtp_password or "")
            smtp.send_message(m)
    except (OSError, smtplib.SMTPException) as exc:
        msg = f"the mail to {to} was not sent: {type(exc).__name__}: {exc}"[:500]
        raise MailError(msg) from None
    return str(m["Message-ID"])


def alert_staff(subject: str, body: str, s: settings.Settings | None = None) -> str | None:
    """Tell the staff address in the settings that something failed. Returns where it went, or None when no staff
    address or no mail server is set, or the mail could not go (the caller has said it on its own output too)."""
    s = s or settings.current()
    if not (s.staff_email and s.smtp_host):
        return None
    try:
        send(s.staff_email, subject, body, s=s)
    except MailError:
        return None
    return s.staff_email
