"""The email outbox: a message is a row written in the transaction that wants it sent (an
invitation is never lost to a crash, nor sent for a rolled-back change), and the worker sends
due rows over SMTP when `CRM_SMTP_HOST` is set, or otherwise appends them to a local mailbox
file, `<CRM_DATA_DIR>/mail.mbox`, for development. Never to the log: a body can carry a working
sign-in link, and an address is personal data. A body is kept only until it is sent (or finally
fails): then it is blanked, so no link outlives its delivery in the database.

Sending claims rows with `FOR UPDATE SKIP LOCKED`, so several workers never send one twice; a
failed send is retried with backoff, then marked failed.
"""

import asyncio
import logging
import mailbox
import smtplib
import uuid
from datetime import timedelta
from email.message import EmailMessage as MimeMessage

from sqlalchemy import select
from sqlalchemy.ext.asyncio import AsyncSession, async_sessionmaker

from crm_api.core.config import Settings
from crm_api.core.ids import new_id
from crm_api.models import EmailMessage
from crm_api.models.base import utcnow

log = logging.getLogger(__name__)
MAX_ATTEMPTS = 8
BATCH = 20


def queue_email(
    session: AsyncSession, workspace_id: uuid.UUID, to_address: str, subject: str, body: str
) -> EmailMessage:
    message = EmailMessage(
        workspace_id=workspace_id,
        id=new_id(),
        to_address=to_address,
        subject=subject,
        body=body,
        status="pending",
        attempts=0,
        next_attempt_at=utcnow(),
        created_at=utcnow(),
    )
    session.add(message)
    return message


def _mime(settings: Settings, message: EmailMessage) -> MimeMessage:
    mime = MimeMessage()
    mime["From"] = settings.smtp_from
    mime["To"] = message.to_address
    mime["Subject"] = message.subject
    mime.set_content(message.body)
    return mime


def _append_to_mailbox(settings: Settings, message: EmailMessage) -> None:
    settings.data_dir.mkdir(parents=True, exist_ok=True)
    box = mailbox.mbox(settings.data_dir / "mail.mbox")
    try:
        box.lock()
        box.add(_mime(settings, message))
        box.flush()
    finally:
        box.unlock()
        box.close()


def _send_smtp(settings: Settings, message: EmailMessage) -> None:
    mime = _mime(settings, message)
    assert settings.smtp_host is not None
    with smtplib.SMTP(settings.smtp_host, settings.smtp_port, timeout=30) as smtp:
        if settings.smtp_starttls:
            smtp.starttls()
        if settings.smtp_username and settings.smtp_password:
            smtp.login(settings.smtp_username, settings.smtp_password.get_secret_value())
        smtp.send_message(mime)


async def send_due(sessionmaker: async_sessionmaker[AsyncSession], settings: Settings) -> int:
    """Send one batch of due messages; how many were handled."""
    async with sessionmaker() as session, session.begin():
        now = utcnow()
        messages = list(
            await session.scalars(
                select(EmailMessage)
                .where(EmailMessage.status == "pending", EmailMessage.next_attempt_at <= now)
                .order_by(EmailMessage.next_attempt_at)
                .limit(BATCH)
                .with_for_update(skip_locked=True)
            )
        )
        for message in messages:
            message.attempts += 1
            try:
                if settings.smtp_host:
                    await asyncio.to_thread(_send_smtp, settings, message)
                else:
                    await asyncio.to_thread(_append_to_mailbox, settings, message)
                    log.info(
                        "email %s (no CRM_SMTP_HOST) written to %s",
                        message.id,
                        settings.data_dir / "mail.mbox",
                    )
            except (OSError, smtplib.SMTPException) as error:
                # Said in the log too, by the message's id and the kind of error only (an SMTP
                # error may quote the address): an outbox that cannot send must not be silent.
                log.warning(
                    "email %s not sent (attempt %d): %s; see email_outbox.last_error",
                    message.id,
                    message.attempts,
                    type(error).__name__,
                )
                message.last_error = str(error)[:2000]
                if message.attempts >= MAX_ATTEMPTS:
                    message.status = "failed"
                    message.body = ""
                else:
                    message.next_attempt_at = now + timedelta(minutes=2**message.attempts)
                continue
            message.status = "sent"
            message.sent_at = utcnow()
            message.body = ""
        return len(messages)
