"""Documents under test: storage in a temporary folder, real PDFs and images, and (session
wide) a real clamd with a home-made signature and a real S3 server (moto) on loopback."""

from __future__ import annotations

import io
import os
import shutil
import socket
import subprocess
import time
from pathlib import Path

import pillow_heif
import pytest
from PIL import Image
from reportlab.pdfgen import canvas

from core.clamav import ping

# The EICAR test string: every scanner's harmless "this is malware" sample.
EICAR = rb"X5O!P%@AP[4\PZX54(P^)7CC)7}$EICAR-STANDARD-ANTIVIRUS-TEST-FILE!$H+H*"
SECRET_TEXT = "ZQXJ-RENT-RECEIPT-TESTA-PLAINTEXT"


def pdf_bytes(text: str = SECRET_TEXT) -> bytes:
    buffer = io.BytesIO()
    pdf = canvas.Canvas(buffer, invariant=1, pageCompression=0)
    pdf.drawString(72, 720, text)
    pdf.showPage()
    pdf.save()
    return buffer.getvalue()


def image_bytes(fmt: str = "JPEG") -> bytes:
    buffer = io.BytesIO()
    Image.new("RGB", (40, 30), (200, 80, 40)).save(buffer, fmt)
    return buffer.getvalue()


def heic_bytes(size: tuple[int, int] = (40, 30)) -> bytes:
    """A real HEIC photo, as an iPhone sends it, written by the same library that reads it."""
    buffer = io.BytesIO()
    photo = pillow_heif.from_pillow(Image.new("RGB", size, (30, 120, 200)))
    photo.save(buffer, quality=80)
    return buffer.getvalue()


@pytest.fixture(autouse=True)
def _documents_in_tmp(settings, tmp_path):
    settings.STORAGES = {
        **settings.STORAGES,
        "documents": {
            "BACKEND": "django.core.files.storage.FileSystemStorage",
            "OPTIONS": {"location": str(tmp_path / "documents")},
        },
    }
    settings.CLAMAV_SOCKET = ""
    return tmp_path / "documents"


@pytest.fixture(scope="session")
def clamd_socket(tmp_path_factory):
    """A real clamd whose only signature is EICAR's MD5 (made by sigtool: no download)."""
    clamd, sigtool = shutil.which("clamd"), shutil.which("sigtool")
    if not (clamd and sigtool):
        pytest.skip("clamd is not installed: `make scanner` installs clamav-daemon (root + apt)")
    home = tmp_path_factory.mktemp("clamd")
    (home / "db").mkdir()
    (home / "eicar.txt").write_bytes(EICAR)
    signature = subprocess.run(
        [sigtool, "--md5", str(home / "eicar.txt")], capture_output=True, check=True
    ).stdout
    (home / "db" / "test.hdb").write_bytes(signature)
    # A body signature too, so EICAR hidden inside a real PDF is found (sigtool --hex-dump).
    body = (
        subprocess.run([sigtool, "--hex-dump"], input=EICAR, capture_output=True, check=True)
        .stdout.decode()
        .strip()
    )
    (home / "db" / "test.ndb").write_text(f"HanVoice.Test.EicarInside:0:*:{body}\n")
    sock = home / "clamd.sock"
    (home / "clamd.conf").write_text(
        f"DatabaseDirectory {home / 'db'}\nLocalSocket {sock}\nForeground yes\n"
    )
    log = (home / "clamd.log").open("wb")
    process = subprocess.Popen([clamd, "-c", str(home / "clamd.conf")], stdout=log, stderr=log)
    deadline = time.monotonic() + 90
    while not ping(str(sock)):
        if process.poll() is not None or time.monotonic() > deadline:
            process.kill()
            pytest.fail(f"clamd did not start: {(home / 'clamd.log').read_text()[-2000:]}")
        time.sleep(0.3)
    yield str(sock)
    process.terminate()
    process.wait(timeout=10)


def _free_port() -> int:
    """A free loopback port in this project's test range (S3_TEST_PORTS, 19100-19199)."""
    first, last = (int(p) for p in os.environ.get("S3_TEST_PORTS", "19100-19199").split("-"))
    for port in range(first, last + 1):
        with socket.socket() as s:
            try:
                s.bind(("127.0.0.1", port))
            except OSError:
                continue
            return port
    pytest.skip(f"no free port in {first}-{last} for moto_server")


@pytest.fixture(scope="session")
def s3_endpoint():
    """moto's S3 server on loopback: a real HTTP S3 API, no cloud and no mock of boto3."""
    server = shutil.which("moto_server") or str(Path(__file__).parents[2] / ".venv/bin/moto_server")
    if not Path(server).exists():
        pytest.skip("moto_server is not installed (uv sync installs the dev group)")
    port = _free_port()
    process = subprocess.Popen(
        [server, "-H", "127.0.0.1", "-p", str(port)],
        stdout=subprocess.DEVNULL,
        stderr=subprocess.DEVNULL,
    )
    deadline = time.monotonic() + 30
    while True:
        try:
            socket.create_connection(("127.0.0.1", port), timeout=0.5).close()
            break
        except OSError:
            if process.poll() is not None or time.monotonic() > deadline:
                process.kill()
                pytest.fail("moto_server did not start")
            time.sleep(0.2)
    yield f"http://127.0.0.1:{port}"
    process.terminate()
    process.wait(timeout=10)
