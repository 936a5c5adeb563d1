"""Real-browser check of the tour: `dapr-nb lab`, headless Chromium runs 00_quickstart, then a screenshot.

Manual (not part of the test suite): needs Debian's chromium and `pip install playwright` (its driver only; the
system Chromium is used, nothing is downloaded).

    python scripts/browser_check.py [--out docs/quickstart.png]
"""

from __future__ import annotations

import argparse
import os
import re
import shutil
import signal
import socket
import subprocess
import sys
import tempfile
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
TOKEN = "browser-check"


def free_port() -> int:
    """Return a free TCP port on loopback."""
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])


def start_lab(port: int, notebooks: Path) -> subprocess.Popen[str]:
    """Start `dapr-nb lab` on a copy of the notebooks folder (Lab autosaves); return once Jupyter answers."""
    lab_args = ["--", "--no-browser", f"--port={port}", f"--IdentityProvider.token={TOKEN}", "--ServerApp.ip=127.0.0.1"]
    if os.geteuid() == 0:
        lab_args.append("--allow-root")
    proc = subprocess.Popen(
        [sys.executable, "-m", "dapr_nb.cli", "lab", "--notebooks", str(notebooks), *lab_args],
        stdout=subprocess.PIPE, stderr=subprocess.STDOUT, text=True,
    )  # fmt: skip
    deadline = time.monotonic() + 90
    assert proc.stdout is not None
    for line in proc.stdout:
        if re.search(r"http://127\.0\.0\.1:\d+/lab", line) or time.monotonic() > deadline:
            break
    return proc


def run_quickstart(port: int, out: Path) -> None:
    """Open 00_quickstart, run all cells, wait for the stream widget, take a screenshot."""
    from playwright.sync_api import sync_playwright

    url = f"http://127.0.0.1:{port}/lab/tree/00_quickstart.ipynb?token={TOKEN}"
    flags = ["--no-sandbox", "--disable-gpu", "--disable-background-networking", "--disable-component-update",
             "--disable-sync", "--no-first-run", "--disable-quic"]  # fmt: skip
    with sync_playwright() as pw:
        browser = pw.chromium.launch(executable_path="/usr/bin/chromium", headless=True, args=flags)
        page = browser.new_page(viewport={"width": 1400, "height": 2200})
        page.goto(url)
        page.wait_for_selector(".jp-Notebook", timeout=60_000)
        page.wait_for_selector(".jp-Notebook-ExecutionIndicator[data-status='idle']", timeout=60_000)
        page.evaluate("localStorage.setItem('@jupyterlab/apputils-extension:notification', '{}')")
        page.click("text=Run", timeout=10_000)
        page.click("text=Run All Cells", timeout=10_000)
        try:
            page.wait_for_function(
                "() => [...document.querySelectorAll('.jp-InputPrompt')].filter(p => /\\[\\d+\\]/.test(p.textContent))"
                ".length >= 6 && document.body.innerText.includes('Idle')",
                timeout=120_000,
            )
        finally:
            time.sleep(2)
            page.screenshot(path=str(out), full_page=True)
        text = page.inner_text(".jp-Notebook")
        browser.close()
    for expected in ("customer.city", "received", "pubsub/orders"):
        print(f"{expected!r} on the page: {expected in text}")


def main() -> None:
    """Run the check."""
    parser = argparse.ArgumentParser()
    parser.add_argument("--out", type=Path, default=ROOT / "docs" / "quickstart.png")
    args = parser.parse_args()
    port = free_port()
    workdir = Path(tempfile.mkdtemp(prefix="dapr-nb-browser-"))
    shutil.copytree(ROOT / "notebooks", workdir / "notebooks")
    lab = start_lab(port, workdir / "notebooks")
    try:
        run_quickstart(port, args.out)
        print(f"screenshot: {args.out}")
    finally:
        lab.send_signal(signal.SIGINT)
        try:
            lab.wait(30)
        except subprocess.TimeoutExpired:
            lab.kill()


if __name__ == "__main__":
    main()
