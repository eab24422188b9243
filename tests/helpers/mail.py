"""A real SMTP server on loopback that keeps what it receives, for the mail the app sends."""

from __future__ import annotations

import re
from email import message_from_bytes
from email.message import EmailMessage
from email.policy import default as default_policy
from urllib.parse import urlsplit

from aiosmtpd.controller import Controller

from tests.helpers.services import free_port
from tests.helpers.waiting import wait_for


class MailCatcher:
    """A real SMTP server on loopback that keeps every message it receives."""

    def __init__(self) -> None:
        self.messages: list[EmailMessage] = []
        self.port = free_port()
        self._controller = Controller(self, hostname="127.0.0.1", port=self.port)

    async def handle_DATA(self, _server, _session, envelope) -> str:  # noqa: N802 - aiosmtpd API
        self.messages.append(message_from_bytes(envelope.content, policy=default_policy))
        return "250 OK"

    def start(self) -> None:
        self._controller.start()

    def stop(self) -> None:
        self._controller.stop()

    def wait_for(self, to: str, subject_part: str = "", timeout: float = 30) -> EmailMessage:
        """The first message to `to` (whose subject contains `subject_part`), waiting for it."""

        def find() -> EmailMessage | None:
            for message in self.messages:
                if message["To"] == to and subject_part in message["Subject"]:
                    return message
            return None

        return wait_for(find, timeout=timeout)

    @staticmethod
    def link_in(message: EmailMessage) -> str:
        """The path of the first link in the message body (the host is the configured BASE_URL)."""
        body = message.get_body(preferencelist=("plain",)).get_content()
        url = re.search(r"https?://\S+", body).group(0)
        parts = urlsplit(url)
        return parts.path + (f"?{parts.query}" if parts.query else "")
