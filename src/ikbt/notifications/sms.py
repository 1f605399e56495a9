"""Text messages (SMS), with backends like Django's e-mail backends.

``SMS_BACKEND`` chooses: ``console`` prints the message (the demo: the one-time code appears
in the worker's output), ``locmem`` keeps it in ``outbox`` (tests), ``http`` posts it as JSON
to the region's SMS gateway. Like e-mail, an SMS never carries health content.
"""

import datetime
import http.client
import json
import sys
import urllib.error
import urllib.request
import uuid
from dataclasses import dataclass, field
from pathlib import Path

from django.conf import settings
from django.utils.module_loading import import_string


class SmsError(RuntimeError):
    """The gateway did not take the message."""


@dataclass(frozen=True)
class SmsMessage:
    to: str
    body: str
    sender: str = field(default_factory=lambda: settings.SMS_SENDER)


class BaseBackend:
    def send_messages(self, messages: list[SmsMessage]) -> int:
        raise NotImplementedError


class ConsoleBackend(BaseBackend):
    def send_messages(self, messages: list[SmsMessage]) -> int:
        for message in messages:
            sys.stdout.write(f"SMS from {message.sender} to {message.to}: {message.body}\n")
        sys.stdout.flush()
        return len(messages)


class FileBackend(BaseBackend):
    """One text file per message in ``OUTBOX_DIR/sms`` (demos and manual testing)."""

    def send_messages(self, messages: list[SmsMessage]) -> int:
        folder = Path(settings.OUTBOX_DIR) / "sms"
        folder.mkdir(parents=True, exist_ok=True)
        for message in messages:
            stamp = datetime.datetime.now(tz=datetime.UTC).strftime("%Y%m%dT%H%M%S%f")
            name = f"{stamp}-{uuid.uuid4().hex[:8]}.txt"
            (folder / name).write_text(
                f"From: {message.sender}\nTo: {message.to}\n\n{message.body}\n", encoding="utf-8"
            )
        return len(messages)


outbox: list[SmsMessage] = []


class LocmemBackend(BaseBackend):
    def send_messages(self, messages: list[SmsMessage]) -> int:
        outbox.extend(messages)
        return len(messages)


class HttpBackend(BaseBackend):
    """POST ``{"from", "to", "message"}`` as JSON with a bearer token to ``SMS_HTTP_URL``."""

    timeout_seconds = 10

    def send_messages(self, messages: list[SmsMessage]) -> int:
        for message in messages:
            self._post(message)
        return len(messages)

    def _post(self, message: SmsMessage) -> None:
        if not settings.SMS_HTTP_URL.startswith(("https://", "http://")):
            raise SmsError("SMS_HTTP_URL must be an http(s) address.")
        body = json.dumps({"from": message.sender, "to": message.to, "message": message.body})
        request = urllib.request.Request(  # noqa: S310 (scheme checked above)
            settings.SMS_HTTP_URL,
            data=body.encode(),
            method="POST",
            headers={
                "Content-Type": "application/json",
                "Authorization": f"Bearer {settings.SMS_HTTP_TOKEN}",
            },
        )
        try:
            # The scheme is checked to be http(s) above.
            with urllib.request.urlopen(request, timeout=self.timeout_seconds) as response:  # noqa: S310  # nosec B310
                status = response.status
        except urllib.error.HTTPError as error:
            raise SmsError(f"The SMS gateway answered {error.code}.") from None
        # URLError, refused connections and timeouts are all OSError; a garbled answer is not.
        except (OSError, http.client.HTTPException) as error:
            raise SmsError(f"The SMS gateway could not be reached: {error}") from None
        if not 200 <= status < 300:
            raise SmsError(f"The SMS gateway answered {status}.")


def get_backend() -> BaseBackend:
    return import_string(settings.SMS_BACKEND)()


def send_sms(to: str, body: str) -> int:
    return get_backend().send_messages([SmsMessage(to=to, body=body)])
