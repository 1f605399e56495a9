import json
import socket
import threading
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer

import pytest

from ikbt.notifications import sms


class Gateway(BaseHTTPRequestHandler):
    """A stand-in for the region's SMS gateway on loopback: records what it was sent."""

    received: list[dict] = []
    status = 200

    def do_POST(self) -> None:
        length = int(self.headers["Content-Length"])
        Gateway.received.append(
            {
                "authorization": self.headers["Authorization"],
                "body": json.loads(self.rfile.read(length)),
            }
        )
        self.send_response(Gateway.status)
        self.end_headers()

    def log_message(self, *args) -> None:
        pass


@pytest.fixture
def gateway(settings):
    Gateway.received = []
    Gateway.status = 200
    server = ThreadingHTTPServer(("127.0.0.1", 0), Gateway)
    thread = threading.Thread(target=server.serve_forever, daemon=True)
    thread.start()
    settings.SMS_BACKEND = "ikbt.notifications.sms.HttpBackend"
    settings.SMS_HTTP_URL = f"http://127.0.0.1:{server.server_port}/send"
    settings.SMS_HTTP_TOKEN = "gateway-token"
    settings.SMS_SENDER = "Region"
    yield Gateway
    server.shutdown()
    server.server_close()


def test_http_backend_posts_json_with_the_token(gateway):
    assert sms.send_sms("+46701234567", "Din kod är 123456.") == 1
    assert gateway.received == [
        {
            "authorization": "Bearer gateway-token",
            "body": {"from": "Region", "to": "+46701234567", "message": "Din kod är 123456."},
        }
    ]


def test_http_backend_reports_a_refusing_gateway(gateway):
    gateway.status = 500
    with pytest.raises(sms.SmsError, match="answered 500"):
        sms.send_sms("+46701234567", "Hej")


def test_http_backend_reports_an_unreachable_gateway(gateway, settings):
    # A port that is bound but not listening refuses the connection.
    with socket.socket() as closed:
        closed.bind(("127.0.0.1", 0))
        settings.SMS_HTTP_URL = f"http://127.0.0.1:{closed.getsockname()[1]}/send"
        with pytest.raises(sms.SmsError, match="could not be reached"):
            sms.send_sms("+46701234567", "Hej")
    assert gateway.received == []


def test_http_backend_needs_a_gateway_address(settings):
    settings.SMS_BACKEND = "ikbt.notifications.sms.HttpBackend"
    settings.SMS_HTTP_URL = ""
    with pytest.raises(sms.SmsError, match="SMS_HTTP_URL"):
        sms.send_sms("+46701234567", "Hej")


def test_locmem_backend_keeps_messages(settings):
    settings.SMS_BACKEND = "ikbt.notifications.sms.LocmemBackend"
    sms.outbox.clear()
    sms.send_sms("+46701234567", "Hej")
    assert [(message.to, message.body) for message in sms.outbox] == [("+46701234567", "Hej")]


def test_console_backend_prints(settings, capsys):
    settings.SMS_BACKEND = "ikbt.notifications.sms.ConsoleBackend"
    settings.SMS_SENDER = "iKBT"
    sms.send_sms("+46701234567", "Hej")
    assert capsys.readouterr().out == "SMS from iKBT to +46701234567: Hej\n"


def test_file_backend_writes_one_file_per_message(settings, tmp_path):
    settings.SMS_BACKEND = "ikbt.notifications.sms.FileBackend"
    settings.OUTBOX_DIR = tmp_path
    sms.send_sms("+46701234567", "Du har ett nytt meddelande från vården")
    (written,) = (tmp_path / "sms").iterdir()
    assert written.read_text(encoding="utf-8").endswith("Du har ett nytt meddelande från vården\n")
