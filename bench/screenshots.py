"""Screenshots of every tab of ``python app.py`` serving the shipped ensembles, on real images.

The browser tests take screenshots too, but with tiny untrained models; these show what a user
sees. They are for looking at, not for comparing, and land in ``out/screenshots-shipped/`` (not
committed: they show images from ../shared).

    python bench/screenshots.py [--out out/screenshots-shipped]
"""
from __future__ import annotations

import argparse
import shutil
import socket
import subprocess
import sys
import tempfile
import time
from pathlib import Path

import numpy as np
from PIL import Image

ROOT = Path(__file__).resolve().parents[1]
SHARED = ROOT.parent / "shared" / "data"


def _wait_for_port(port: int, process: subprocess.Popen, seconds: float = 120) -> None:
    deadline = time.time() + seconds
    while time.time() < deadline:
        try:
            with socket.create_connection(("127.0.0.1", port), timeout=1):
                return
        except OSError:
            if process.poll() is not None:
                raise RuntimeError("app.py exited before serving")
            time.sleep(0.5)
    raise RuntimeError("app.py did not start")


def _inputs(folder: Path) -> dict[str, Path]:
    """A real cell, a real Mars frame (a whole 128x128 photograph: both halves) and a small real subset."""
    cell = sorted((SHARED / "blood" / "pbc96" / "eosinophil").glob("*.jpg"))[0]
    mars = np.load(SHARED / "mars" / "mars_dev.npz")
    pairs, source = mars["training_set"], mars["source_id"]
    rows = np.flatnonzero(source == source[40])
    frame = np.concatenate([pairs[r, 0] for r in rows[:2]], 0)
    Image.fromarray(frame).save(folder / "mars_frame.png")
    shutil.copyfile(cell, folder / "cell.jpg")
    blood = np.load(SHARED / "blood" / "challenge_like.npz")
    np.savez(folder / "blood_400.npz", images=blood["images"][:400], labels=blood["labels"][:400])
    return {"cell": folder / "cell.jpg", "mars": folder / "mars_frame.png", "subset": folder / "blood_400.npz"}


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--out", type=Path, default=ROOT / "out" / "screenshots-shipped")
    parser.add_argument("--explore", type=Path, help="dataset for the Data explorer (default: 400 blood rows)")
    args = parser.parse_args()
    args.out.mkdir(parents=True, exist_ok=True)
    work = Path(tempfile.mkdtemp(prefix="autobot-shots-"))
    files = _inputs(work)
    if args.explore:
        files["subset"] = args.explore.resolve()
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        port = sock.getsockname()[1]
    log = open(work / "app.log", "w")
    app = subprocess.Popen([sys.executable, "app.py", "--port", str(port), "--runs", str(work / "runs"),
                            "--data", str(files["subset"])],
                           cwd=ROOT, stdout=log, stderr=subprocess.STDOUT)
    from playwright.sync_api import sync_playwright

    try:
        _wait_for_port(port, app)
        with sync_playwright() as playwright:
            browser = playwright.chromium.launch(executable_path=shutil.which("chromium"), args=["--no-sandbox"])
            page = browser.new_context(viewport={"width": 1400, "height": 1000}).new_page()
            page.goto(f"http://127.0.0.1:{port}/")

            page.locator("#classify-upload input[type=file]").set_input_files(str(files["cell"]))
            page.locator("#classify-explain").get_by_text("covering").wait_for(timeout=60_000)
            page.screenshot(path=str(args.out / "classify.png"), full_page=True)

            page.get_by_role("tab", name="Segment").click()
            page.locator("#segment-upload input[type=file]").set_input_files(str(files["mars"]))
            page.locator("#segment-note").get_by_text("stitched back").wait_for(timeout=60_000)
            page.locator("#segment-overlay img").first.wait_for(state="visible", timeout=15_000)
            time.sleep(1)
            page.screenshot(path=str(args.out / "segment.png"), full_page=True)

            page.get_by_role("tab", name="Data explorer").click()
            page.get_by_role("button", name="Load dataset").click()
            page.wait_for_function("() => document.body.innerText.includes('fingerprint')", timeout=60_000)
            page.get_by_role("button", name="Find outliers and duplicates").click()
            page.wait_for_function("() => document.body.innerText.includes('duplicate groups')", timeout=240_000)
            page.locator("#outlier-gallery button.thumbnail-item").first.click()
            page.wait_for_function("() => document.body.innerText.includes('outlier score')", timeout=60_000)
            time.sleep(2)
            page.screenshot(path=str(args.out / "explorer.png"), full_page=True)

            page.get_by_role("tab", name="Train").click()
            time.sleep(2)
            page.screenshot(path=str(args.out / "train.png"), full_page=True)
            browser.close()
    finally:
        app.terminate()
        app.wait(timeout=30)
    print("\n".join(str(p) for p in sorted(args.out.glob("*.png"))))


if __name__ == "__main__":
    main()
