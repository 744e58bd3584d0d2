"""Faults and hostile input, made real: a live app server, forged files, SIGKILLed writers, a full disk.

- Uploads go to ``python app.py --public`` over HTTP (gradio_client and raw multipart posts).
- Crashes are ``SIGKILL`` sent to real writer processes at random moments.
- A full disk is the OS refusing writes: ``RLIMIT_FSIZE`` in a subprocess with ``SIGXFSZ`` ignored,
  so writes past the limit fail with ``EFBIG`` exactly as they do on a full disk with ``ENOSPC``.
"""

from __future__ import annotations

import hashlib
import io
import json
import os
import pickle
import random
import re
import signal
import sqlite3
import struct
import subprocess
import sys
import textwrap
import threading
import time
import tracemalloc
import zipfile
import zlib
from pathlib import Path

import numpy as np
import pytest
from PIL import Image

from autobot import DataError
from autobot.data import load_dataset
from conftest import BLOOD_FOLDERS, MARS_NPZ, ROOT, AppServer

UPLOAD_LIMIT_MB = 1


# ============================================================================ hostile files


def png_declaring(width: int, height: int, bit_depth: int = 8) -> bytes:
    """A valid grayscale PNG of zeros, ``width`` x ``height``: tiny on disk however large it declares."""
    def chunk(kind: bytes, data: bytes) -> bytes:
        return struct.pack(">I", len(data)) + kind + data + struct.pack(">I", zlib.crc32(kind + data))

    row = b"\0" * (1 + (width * bit_depth + 7) // 8)  # filter byte + pixels
    compressor, parts, done = zlib.compressobj(9), [], 0
    while done < height:
        rows = min(1000, height - done)
        parts.append(compressor.compress(row * rows))
        done += rows
    parts.append(compressor.flush())
    header = struct.pack(">IIBBBBB", width, height, bit_depth, 0, 0, 0, 0)
    return b"\x89PNG\r\n\x1a\n" + chunk(b"IHDR", header) + chunk(b"IDAT", b"".join(parts)) + chunk(b"IEND", b"")


def a_cell() -> Path:
    return sorted((BLOOD_FOLDERS / "basophil").glob("*.jpg"))[0]


@pytest.fixture(scope="module")
def files(tmp_path_factory):
    folder = tmp_path_factory.mktemp("hostile")
    cell = np.asarray(Image.open(a_cell()).convert("RGB"))
    with np.load(MARS_NPZ) as data:
        terrain = data["test_set"][0]
    Image.fromarray(cell).save(folder / "cell.png")
    Image.fromarray(terrain).save(folder / "terrain.png")
    # not images at all
    (folder / "notes.png").write_text("not an image, just notes")
    (folder / "paper.pdf").write_bytes(b"%PDF-1.4\n1 0 obj << /Type /Catalog >> endobj\ntrailer << >>\n%%EOF\n")
    (folder / "empty.png").write_bytes(b"")
    with zipfile.ZipFile(folder / "cells.zip", "w") as archive:
        archive.write(a_cell(), "basophil/cell.jpg")
    # bombs and huge dimensions
    (folder / "bomb.png").write_bytes(png_declaring(30_000, 30_000, bit_depth=1))  # 900 Mpx, ~110 kB
    (folder / "wide.png").write_bytes(png_declaring(8_000, 6_000))  # 48 Mpx: over MAX_PIXELS, under PIL's guard
    Image.new("L", (10_000, 10_000), 128).save(folder / "square_10000.png")  # a real, complete 100 Mpx file
    # damaged
    jpeg = a_cell().read_bytes()
    (folder / "truncated.jpg").write_bytes(jpeg[: len(jpeg) * 6 // 10])
    png = (folder / "cell.png").read_bytes()
    (folder / "truncated.png").write_bytes(png[: len(png) // 2])
    # odd modes that must be accepted and converted
    Image.fromarray((terrain.astype(np.uint16) * 257)).save(folder / "sixteen.png")
    assert Image.open(folder / "sixteen.png").mode.startswith("I")
    Image.fromarray(cell).convert("CMYK").save(folder / "cmyk.jpg")
    Image.fromarray(cell).quantize(64).save(folder / "palette.png", transparency=0)
    Image.fromarray(np.dstack([cell, np.full(cell.shape[:2], 200, np.uint8)])).save(folder / "alpha.png")
    # over the upload limit
    noise = np.random.default_rng(0).integers(0, 256, (800, 800, 3), dtype=np.uint8)
    Image.fromarray(noise).save(folder / "huge_upload.png")
    assert (folder / "huge_upload.png").stat().st_size > UPLOAD_LIMIT_MB * 2**20
    return folder


# ============================================================================ uploads through the real app


@pytest.fixture(scope="module")
def server():
    """The public app as a Space runs it (shipped ensembles), with a 1 MB upload limit to test cheaply."""
    app = AppServer("--public", "--max-upload-mb", str(UPLOAD_LIMIT_MB))
    yield app
    app.stop()


@pytest.fixture(scope="module")
def client(server):
    from gradio_client import Client

    return Client(server.url, verbose=False)


def peak_rss_mb(pid: int) -> float:
    status = Path(f"/proc/{pid}/status").read_text()
    return int(next(line.split()[1] for line in status.splitlines() if line.startswith("VmHWM:"))) / 1024


def test_a_decompression_bomb_is_refused_before_decoding(server, client, files):
    """A 30000x30000 PNG of 110 kB: refused from its header; the server's peak memory does not move."""
    from gradio_client import handle_file

    assert (files / "bomb.png").stat().st_size < 200_000
    client.predict(handle_file(files / "cell.png"), api_name="/classify")  # warm: ensembles loaded
    client.predict(handle_file(files / "terrain.png"), api_name="/segment")
    before = peak_rss_mb(server.process.pid)
    for endpoint in ("/classify", "/segment"):
        started = time.time()
        with pytest.raises(Exception, match=r"bomb\.png: expected an image of at most 40,000,000 pixels; "
                                            r"found 900,000,000 pixels declared in its header"):
            client.predict(handle_file(files / "bomb.png"), api_name=endpoint)
        assert time.time() - started < 10
    grown = peak_rss_mb(server.process.pid) - before
    assert grown < 150, f"peak memory grew by {grown:.0f} MB: the bomb was decoded (900 MB as 1-bit, 2.7 GB as RGB)"


HOSTILE = {
    # file: what the message must say after "<file>: expected ..."
    "notes.png": r"a decodable image \(PNG, JPEG, BMP, TIFF, GIF, WebP\); found text starting with 'not an image",
    "paper.pdf": r"a decodable image \(PNG, JPEG, BMP, TIFF, GIF, WebP\); found a PDF document",
    "empty.png": r"a decodable image \(PNG, JPEG, BMP, TIFF, GIF, WebP\); found an empty file \(0 bytes\)",
    "cells.zip": r"a decodable image \(PNG, JPEG, BMP, TIFF, GIF, WebP\); found a zip archive",
    "wide.png": r"an image of at most 40,000,000 pixels; found 8000x6000 \(48,000,000 pixels\)",
    "square_10000.png": r"an image of at most 40,000,000 pixels; found 10000x10000 \(100,000,000 pixels\)",
    "truncated.jpg": r"a complete, decodable image; found a damaged file \(image file is truncated",
    "truncated.png": r"a complete, decodable image; found a damaged file",
}


@pytest.mark.parametrize("endpoint", ["/classify", "/segment"])
@pytest.mark.parametrize("name", sorted(HOSTILE))
def test_hostile_uploads_get_a_message_naming_the_file(client, files, name, endpoint):
    from gradio_client import handle_file

    with pytest.raises(Exception) as caught:
        client.predict(handle_file(files / name), api_name=endpoint)
    message = str(caught.value)
    assert message.startswith(f"{name}: expected "), message
    assert re.search(HOSTILE[name], message), message
    assert "Traceback" not in message and "/tmp/" not in message, message


@pytest.mark.parametrize("name, mode_words", [
    ("sixteen.png", "I;16 PNG was converted to RGB"),
    ("cmyk.jpg", "CMYK JPEG was converted to RGB"),
    ("palette.png", "P PNG was converted to RGB"),
    ("alpha.png", "RGBA PNG was converted to RGB (transparency over white)"),
])
def test_odd_image_modes_are_converted_and_classified(client, files, name, mode_words):
    from gradio_client import handle_file

    label, votes, summary = client.predict(handle_file(files / name), api_name="/classify")
    assert label["label"] in {item["label"] for item in label["confidences"]} and len(label["confidences"]) == 8
    assert mode_words in summary, summary


def test_a_16_bit_terrain_image_is_rescaled_and_segmented(client, files):
    from gradio_client import handle_file

    _shown, shares, _uncertainty, note = client.predict(handle_file(files / "sixteen.png"), api_name="/segment")
    assert "converted to 8-bit grayscale (rescaled from its value range)" in note
    assert sum(item["confidence"] for item in shares["confidences"]) == pytest.approx(1.0, abs=1e-3)


def test_a_batch_reports_each_bad_file_on_its_own_row(client, files):
    """One bad file does not sink a batch (Gradio's own file-type check used to refuse the whole request)."""
    from gradio_client import handle_file

    names = ["cell.png", "paper.pdf", "empty.png", "alpha.png"]
    table = client.predict([handle_file(files / n) for n in names], api_name="/classify_batch")
    rows = {row[0]: row for row in table["data"]}
    assert sorted(rows) == sorted(names)
    assert rows["cell.png"][1] and rows["cell.png"][4] == "" and rows["alpha.png"][1]
    assert rows["paper.pdf"][1] == "" and "found a PDF document" in rows["paper.pdf"][4]
    assert "found an empty file" in rows["empty.png"][4]


def test_an_upload_over_the_limit_is_refused_by_the_server(server, client, files):
    import httpx
    from gradio_client import handle_file

    size = (files / "huge_upload.png").stat().st_size
    # A hostile client skips gradio_client's own check and posts the file: the server refuses it.
    with open(files / "huge_upload.png", "rb") as handle:
        response = httpx.post(server.url + "gradio_api/upload", files={"files": ("huge_upload.png", handle, "image/png")},
                              timeout=60)
    assert response.status_code == 413, (response.status_code, response.text[:300])
    assert f"maximum allowed size of {UPLOAD_LIMIT_MB * 2**20} bytes" in response.text
    # A polite client is told before sending, with the file's name.
    with pytest.raises(ValueError, match=rf"huge_upload\.png exceeds the maximum file size of {UPLOAD_LIMIT_MB * 2**20}"):
        client.predict(handle_file(files / "huge_upload.png"), api_name="/classify")
    assert size > UPLOAD_LIMIT_MB * 2**20


def test_after_all_that_the_app_still_serves_and_logged_no_traceback(server, client, files):
    from gradio_client import handle_file

    label, *_ = client.predict(handle_file(files / "cell.png"), api_name="/classify")
    _shown, _shares, _uncertainty, note = client.predict(handle_file(files / "terrain.png"), api_name="/segment")
    # a lone 64x128 half: nothing tiled or resized, 16 rows mirrored below it (the manifest's lone_half_padding)
    assert label["label"] and note.endswith(
        "used as is. Segmented whole at 128 pixels wide, with its last 16 rows mirrored below it (the members learned "
        "on whole photographs, taller than one half)."), note
    assert server.process.poll() is None
    assert "Traceback" not in server.output(), server.output()[-3000:]


# ============================================================================ hostile npz files


GOOD = np.zeros((4, 96, 96, 3), np.uint8)
LABELS = np.array([0, 1, 2, 7], np.uint8)


class Trap:
    """Unpickling this touches a file: proof that a pickle was (or was not) executed."""

    def __init__(self, marker: Path):
        self.marker = marker

    def __reduce__(self):
        return (Path.touch, (self.marker,))


def npy_bytes(array: np.ndarray) -> bytes:
    buffer = io.BytesIO()
    np.save(buffer, array, allow_pickle=array.dtype.hasobject)
    return buffer.getvalue()


def npz_of(path: Path, members: dict[str, bytes]) -> Path:
    with zipfile.ZipFile(path, "w", zipfile.ZIP_DEFLATED) as archive:
        for name, data in members.items():
            archive.writestr(name, data)
    return path


def test_a_member_that_is_a_raw_pickle_is_never_unpickled(tmp_path):
    marker = tmp_path / "pwned"
    path = npz_of(tmp_path / "raw_pickle.npz", {"images.npy": npy_bytes(GOOD),
                                                 "labels.npy": pickle.dumps(Trap(marker))})
    with pytest.raises(DataError, match=r"raw_pickle\.npz \[labels\]: expected a \.npy array; found a Python pickle "
                                        r"\(\d+ bytes; pickled Python objects are never loaded\)"):
        load_dataset(path)
    assert not marker.exists()


def test_an_object_array_of_hostile_pickles_is_never_unpickled(tmp_path):
    marker = tmp_path / "pwned"
    objects = np.empty(4, dtype=object)
    objects[:] = [Trap(marker)] * 4
    path = npz_of(tmp_path / "objects.npz", {"images.npy": npy_bytes(GOOD), "labels.npy": npy_bytes(objects)})
    with pytest.raises(DataError, match=r"\[labels\]: expected a numeric array; found an object array \(pickled"):
        load_dataset(path)
    assert not marker.exists()


@pytest.mark.parametrize("rows", [10_000_000, 60_000])
def test_a_header_declaring_a_huge_array_is_refused_before_allocating(tmp_path, rows):
    """The header says (rows, 96, 96, 3) (276 GB or 1.7 GB); the member holds 100 bytes."""
    header = io.BytesIO()
    np.lib.format.write_array_header_1_0(header, {"descr": "|u1", "fortran_order": False, "shape": (rows, 96, 96, 3)})
    path = npz_of(tmp_path / "forged.npz", {"images.npy": header.getvalue() + bytes(100), "labels.npy": npy_bytes(LABELS)})
    tracemalloc.start()
    try:
        with pytest.raises(DataError, match=rf"forged\.npz \[images\]: expected the data its header declares "
                                            rf"\(shape \({rows}, 96, 96, 3\) dtype uint8, {rows * 27648:,} bytes\); "
                                            r"found only 100 bytes stored"):
            load_dataset(path)
        peak = tracemalloc.get_traced_memory()[1]
    finally:
        tracemalloc.stop()
    assert peak < 20 * 2**20, f"{peak / 2**20:.0f} MB allocated for a forged header"


def test_a_zip_bomb_member_larger_than_memory_is_refused_before_reading(tmp_path):
    """Header and zip directory agree on an array twice this machine's memory: refused before reading a byte of it."""
    from autobot.data.npz import memory_bytes

    rows = 2 * memory_bytes() // 27648 + 1
    header = io.BytesIO()
    np.lib.format.write_array_header_1_0(header, {"descr": "|u1", "fortran_order": False, "shape": (rows, 96, 96, 3)})
    path = tmp_path / "bomb.npz"
    with zipfile.ZipFile(path, "w", zipfile.ZIP_DEFLATED) as archive:
        archive.writestr("images.npy", header.getvalue() + bytes(1000))
        archive.writestr("labels.npy", npy_bytes(LABELS))
        # what a deflate bomb's directory says: this member inflates to the full declared size
        archive.getinfo("images.npy").file_size = len(header.getvalue()) + rows * 27648
    tracemalloc.start()
    try:
        with pytest.raises(DataError, match=rf"bomb\.npz \[images\]: expected an array that fits in this machine's "
                                            rf"memory \({memory_bytes():,} bytes\); found shape \({rows}, 96, 96, 3\)"):
            load_dataset(path)
        peak = tracemalloc.get_traced_memory()[1]
    finally:
        tracemalloc.stop()
    assert peak < 20 * 2**20


MARS_PAIRS = np.zeros((3, 2, 64, 128), np.float32)


def _with(array, index, value):
    array = array.copy()
    array[index] = value
    return array


BAD_VALUES = {
    # not in tests/test_validation.py: infinities, and NaN/inf/negative in Mars masks
    "blood pixels +inf": (dict(images=np.full((4, 96, 96, 3), np.inf), labels=LABELS), "images",
                          "expected finite pixel values; found 110592 NaN/inf values"),
    "blood pixels -inf": (dict(images=_with(GOOD.astype(np.float32), (0, 5, 5, 1), -np.inf), labels=LABELS), "images",
                          "found 1 NaN/inf values"),
    "labels +inf": (dict(images=GOOD, labels=np.array([0, 1, np.inf, 3])), "labels",
                    "expected whole-number labels; found fractional, NaN or infinite values"),
    "mars mask inf": (dict(training_set=_with(MARS_PAIRS, (0, 1, 0, 0), np.inf)), "training_set[:, 1] (masks)",
                      "expected whole-number mask values; found fractional, NaN or infinite values"),
    "mars mask NaN": (dict(training_set=_with(MARS_PAIRS, (2, 1, 9, 9), np.nan)), "training_set[:, 1] (masks)",
                      "found fractional, NaN or infinite values"),
    "mars image NaN": (dict(training_set=_with(MARS_PAIRS, (1, 0, 3, 3), np.nan)), "training_set[:, 0] (images)",
                       "expected finite pixel values; found 1 NaN/inf values"),
    "mars mask negative": (dict(training_set=_with(MARS_PAIRS.astype(np.int16), (0, 1, 0, 0), -1)),
                           "training_set[:, 1] (masks)", "found 1 values outside that range, e.g. [-1]"),
}


@pytest.mark.parametrize("case", sorted(BAD_VALUES))
def test_non_finite_and_negative_values(tmp_path, case):
    arrays, key, words = BAD_VALUES[case]
    path = tmp_path / "bad.npz"
    np.savez(path, **arrays)
    with pytest.raises(DataError) as caught:
        load_dataset(path)
    assert str(caught.value).startswith(f"{path} [{key}]: ") and words in str(caught.value), str(caught.value)


# ============================================================================ killed mid-write


def python(code: str, *args: str, **popen) -> subprocess.Popen:
    env = {**os.environ, "PYTHONPATH": str(ROOT), "TF_CPP_MIN_LOG_LEVEL": "3"}
    return subprocess.Popen([sys.executable, "-c", textwrap.dedent(code), *args], cwd=ROOT, env=env, text=True, **popen)


REVIEW_WRITER = """
    import sys
    from autobot.cleaning.review import ACTIONS, ReviewStore
    store = ReviewStore(sys.argv[1], "fp")
    print("ready", flush=True)
    for i in range(1_000_000):
        action = ACTIONS[i % 4]
        store.decide(i, action, label=i % 8 if action == "relabel" else None, row_id=f"row-{i}")
        print(i, flush=True)  # only after the commit returned
"""

JOB_WRITER = """
    import sys
    from autobot.jobs import JobStore
    store = JobStore(sys.argv[1])
    job = store.submit("crash-test", {"n": 1})
    store.mark_running(job.id, 1)
    print("ready", job.id, flush=True)
    for i in range(1, 1_000_000):
        store.report(job.id, {"epoch": i, "epochs": 10**6, "note": "x" * (i % 50)}, {"loss": 1.0 / i})
        print(i, flush=True)
"""


def kill_at_random_moments(code: str, folders: list[Path], seed: int) -> list[tuple[list[str], list[str]]]:
    """Start one writer per folder, SIGKILL each at a random moment; return (first line, reported ids) each."""
    rng = random.Random(seed)
    writers = [python(code, str(folder), stdout=subprocess.PIPE, stderr=subprocess.PIPE) for folder in folders]
    lines: list[list[str]] = [[] for _ in writers]

    def drain(k):  # read continuously, so a writer never blocks on a full pipe and dies mid-SQLite
        for line in writers[k].stdout:
            lines[k].append(line.split())

    threads = [threading.Thread(target=drain, args=(k,), daemon=True) for k in range(len(writers))]
    for thread in threads:
        thread.start()
    try:
        for k, writer in enumerate(writers):
            deadline = time.time() + 60
            while len(lines[k]) < 2 and writer.poll() is None and time.time() < deadline:
                time.sleep(0.01)
            assert writer.poll() is None, writer.stderr.read()
            time.sleep(rng.uniform(0.05, 0.6))
            os.kill(writer.pid, signal.SIGKILL)
            writer.wait()
    finally:
        for writer in writers:
            if writer.poll() is None:
                writer.kill()
                writer.wait()
    for thread in threads:
        thread.join(10)
    return [(found[0], [line[0] for line in found[1:]]) for found in lines]


def test_review_store_survives_sigkill_mid_write(tmp_path):
    from autobot.cleaning.review import ACTIONS, ReviewStore

    folders = [tmp_path / f"run{k}" for k in range(3)]
    for folder in folders:
        folder.mkdir()
    results = kill_at_random_moments(REVIEW_WRITER, [f / "review.sqlite" for f in folders], seed=7)
    counts = []
    for folder, (_, reported) in zip(folders, results):
        path = folder / "review.sqlite"
        assert reported == [str(i) for i in range(len(reported))] and len(reported) > 0
        with sqlite3.connect(path) as db:
            assert db.execute("PRAGMA integrity_check").fetchone() == ("ok",)
            rows = db.execute("SELECT id, row, row_id, action, label FROM decisions ORDER BY id").fetchall()
        # every reported commit is there; at most one more (committed, killed before printing); nothing torn
        assert len(reported) <= len(rows) <= len(reported) + 1
        for n, (id_, row, row_id, action, label) in enumerate(rows):
            assert (id_, row, row_id, action) == (n + 1, n, f"row-{n}", ACTIONS[n % 4])
            assert label == (n % 8 if action == "relabel" else None)
        with ReviewStore(path, "fp") as store:  # still accepts writes
            store.decide(10**6, "keep")
            assert store.decisions()[10**6] == ("keep", None) and len(store.history()) == len(rows) + 1
        counts.append(len(rows))
    assert len(set(counts)) == len(counts), f"kill points should differ: {counts}"


def test_job_store_survives_sigkill_mid_write(tmp_path):
    from autobot.jobs import JobStore

    folders = [tmp_path / f"runs{k}" for k in range(3)]
    results = kill_at_random_moments(JOB_WRITER, folders, seed=11)
    counts = []
    for folder, (ready, reported) in zip(folders, results):
        job_id = ready[1]
        assert reported == [str(i) for i in range(1, len(reported) + 1)] and len(reported) > 0
        with sqlite3.connect(folder / "jobs.sqlite") as db:
            assert db.execute("PRAGMA integrity_check").fetchone() == ("ok",)
        store = JobStore(folder)
        history = store.history(job_id)
        epochs = [row["epoch"] for row in history]
        assert len(reported) <= len(epochs) <= len(reported) + 1
        assert epochs == list(range(1, len(epochs) + 1))
        assert all(row["loss"] == pytest.approx(1.0 / row["epoch"]) for row in history)
        job = store.get(job_id)  # progress and metrics were written in one transaction: they agree
        assert job.status == "running" and job.progress["epoch"] == epochs[-1]
        assert job.progress["note"] == "x" * (epochs[-1] % 50)
        store.report(job_id, {"epoch": 10**6}, {"loss": 0.0})  # still accepts writes
        store.finish(job_id, "done")
        assert store.get(job_id).status == "done" and store.history(job_id)[-1]["epoch"] == 10**6
        assert store.submit("after-the-crash").status == "queued"
        counts.append(len(epochs))
    assert len(set(counts)) == len(counts), f"kill points should differ: {counts}"


# ============================================================================ concurrent reviewers


REVIEWER = """
    import os, sys, time, random
    from pathlib import Path
    from autobot.cleaning.review import ReviewStore
    path, who, go = sys.argv[1], int(sys.argv[2]), Path(sys.argv[3])
    store = ReviewStore(path, "fp")
    print("ready", flush=True)
    while not go.exists():
        time.sleep(0.005)
    rng = random.Random(who)
    for n in range(60):
        row = rng.randrange(8)
        action = rng.choice(["outlier", "keep", "relabel", "drop_duplicate"])
        store.decide(row, action, label=rng.randrange(8) if action == "relabel" else None, row_id=f"{who}-{n}")
    print("done", flush=True)
"""


def test_concurrent_reviewers_last_write_by_time_wins(tmp_path):
    from autobot.cleaning.review import ReviewStore

    path, go = tmp_path / "shared.sqlite", tmp_path / "go"
    with ReviewStore(path, "fp"):
        pass
    reviewers = [python(REVIEWER, str(path), str(who), str(go), stdout=subprocess.PIPE, stderr=subprocess.PIPE)
                 for who in range(4)]
    for reviewer in reviewers:
        assert reviewer.stdout.readline().strip() == "ready", reviewer.stderr.read()
    go.touch()  # all four start writing the same 8 rows at once
    for reviewer in reviewers:
        out, err = reviewer.communicate(timeout=120)
        assert reviewer.returncode == 0 and "locked" not in err, err[-2000:]
    with ReviewStore(path, "fp") as store:
        history = store.history()
        decisions = store.decisions()
    with sqlite3.connect(path) as db:
        row_ids = [r[0] for r in db.execute("SELECT row_id FROM decisions ORDER BY id")]
    assert sorted(row_ids) == sorted(f"{who}-{n}" for who in range(4) for n in range(60))  # all recorded, once
    times = [entry[3] for entry in history]
    assert times == sorted(times), "commit order and time order disagree"
    for row in range(8):
        latest = max((e for e in history if e[0] == row), key=lambda e: e[3])
        assert decisions[row] == (latest[1], latest[2])


# ============================================================================ a full disk


FULL_DISK = """
    import json, resource, signal, sys
    def limit(nbytes):
        # From here on the OS refuses to grow any file past nbytes (EFBIG), as a full disk refuses (ENOSPC).
        signal.signal(signal.SIGXFSZ, signal.SIG_IGN)
        resource.setrlimit(resource.RLIMIT_FSIZE, (nbytes, resource.getrlimit(resource.RLIMIT_FSIZE)[1]))
    def room_again():
        resource.setrlimit(resource.RLIMIT_FSIZE, (resource.getrlimit(resource.RLIMIT_FSIZE)[1],) * 2)
    def attempt(what, write):
        try:
            write()
            print(json.dumps([what, None]), flush=True)
        except Exception as err:
            print(json.dumps([what, type(err).__name__ + ": " + str(err)]), flush=True)
"""


def full_disk_process(code: str, *args: str) -> subprocess.Popen:
    return python(textwrap.dedent(FULL_DISK) + textwrap.dedent(code), *args, stdin=subprocess.PIPE,
                  stdout=subprocess.PIPE, stderr=subprocess.PIPE)


def attempts(lines) -> dict[str, str | None]:
    """{what: error message or None} for each attempt a FULL_DISK script reported."""
    return dict(json.loads(line) for line in lines if line.startswith("["))


def digest(path: Path) -> str:
    return hashlib.sha256(path.read_bytes()).hexdigest()


def digests(folder: Path) -> dict[str, str]:
    return {p.name: digest(p) for p in sorted(folder.iterdir()) if p.is_file()}


def assert_refused(message: str | None, path: Path) -> None:
    assert message is not None, f"writing {path} under a full disk did not fail"
    assert message.startswith(f"DataError: {path}: expected to write this file"), message
    assert "File too large [Errno 27]" in message and "previous version of the file is unchanged" in message


def test_exports_and_reports_on_a_full_disk_keep_the_previous_files(tmp_path, blood_subset_npz):
    from autobot.cleaning.report import CleaningReport
    from autobot.data import save_course_npz

    out = tmp_path / "export"
    # the previous versions, written normally
    dataset = load_dataset(blood_subset_npz)
    save_course_npz(dataset, out / "course.npz")
    save_course_npz(dataset.take(np.arange(10)), out / "clean.npz")
    CleaningReport(4, [], [], [], [], np.zeros((4, 2)), np.zeros(4, int), np.zeros(4), 0.5).write(out)
    before = digests(out)
    assert sorted(before) == ["clean.npz", "course.npz", "points.csv", "report.json"]

    process = full_disk_process("""
        import numpy as np
        from autobot.cleaning.export import export_cleaned
        from autobot.cleaning.report import CleaningReport
        from autobot.data import load_dataset, save_course_npz
        source, out = sys.argv[1], sys.argv[2]
        dataset = load_dataset(source)
        rng = np.random.default_rng(1)
        report = CleaningReport(len(dataset), [{"index": int(i), "score": 2.0, "reason": "test " * 40}
                                               for i in rng.choice(len(dataset), 8, replace=False)],
                                [[1, 2]], [[1, 2]], [], rng.normal(size=(len(dataset), 2)),
                                np.zeros(len(dataset), int), rng.random(len(dataset)), 1.0)
        limit(1000)  # smaller than every file below
        attempt("course npz", lambda: save_course_npz(dataset.take(rng.permutation(len(dataset))), out + "/course.npz"))
        attempt("cleaned npz", lambda: export_cleaned(dataset, report, out + "/clean.npz", {3: ("relabel", 4)}))
        attempt("report", lambda: report.write(out))
        room_again()
        n = 2000  # report.json fits under 16 kB, points.csv (70 kB) does not
        big = CleaningReport(n, [], [], [], [], np.ones((n, 2)), np.zeros(n, int), np.ones(n), 0.5)
        limit(16384)
        attempt("points", lambda: big.write(out))
    """, str(blood_subset_npz), str(out))
    output, err = process.communicate(timeout=180)
    assert process.returncode == 0, err[-3000:]
    errors = attempts(output.splitlines())
    assert_refused(errors["course npz"], out / "course.npz")
    assert_refused(errors["cleaned npz"], out / "clean.npz")
    assert_refused(errors["report"], out / "report.json")
    assert_refused(errors["points"], out / "points.csv")
    after = digests(out)
    # nothing half-written and no temporary file left; only report.json (which fitted) was replaced, whole
    assert after.keys() == before.keys()
    assert {k: v for k, v in after.items() if k != "report.json"} == {k: v for k, v in before.items() if k != "report.json"}
    assert json.loads((out / "report.json").read_text())["n"] == 2000
    assert (out / "points.csv").read_text().count("\n") == 5  # header + the previous 4 rows
    assert len(load_dataset(out / "course.npz")) == 64 and len(load_dataset(out / "clean.npz")) == 10


CHECKPOINTS = """
    import numpy as np
    from pathlib import Path
    import keras
    from autobot.data import load_dataset
    from autobot.ensemble.bagging import save_for_serving
    from autobot.train.config import TrainConfig
    from autobot.train.member import _write_json, train_member
    run, ensemble = Path(sys.argv[2]), Path(sys.argv[3])
    config = TrainConfig(task="blood", epochs=1, batch_size=16, seed=0, augment=None,
                         model_kwargs={"stem_filters": 8, "stages": [[16, 1, 2], [32, 1, 2]]})
    epochs2 = TrainConfig.from_dict({**config.to_dict(), "epochs": 2})
    dataset = load_dataset(sys.argv[1])
    train, val = np.arange(48), np.arange(48, 64)
    # the previous versions: one finished epoch and its serving copy, written normally
    train_member(config, dataset, train, val, run)
    ensemble.mkdir()
    save_for_serving(run / "last.keras", ensemble / "member_0.keras")
    print("written", flush=True)
    sys.stdin.readline()  # the test takes its fingerprints of the files

    limit(8192)  # JSON files fit; no model file does
    attempt("resume", lambda: train_member(epochs2, dataset, train, val, run))
    attempt("serving copy", lambda: save_for_serving(run / "last.keras", ensemble / "member_0.keras"))
    attempt("state.json", lambda: _write_json(run / "state.json", {"epoch": 2, "padding": "x" * 10000}))
    print("refused", flush=True)
    sys.stdin.readline()  # the test checks the files on disk

    room_again()  # the kept files load: the serving copy, and the checkpoint a resumed run starts from
    keras.models.load_model(ensemble / "member_0.keras", compile=False)
    model = keras.models.load_model(run / "last.keras")
    print(json.dumps(["optimizer steps", int(model.optimizer.iterations.numpy())]), flush=True)
"""


def test_checkpoints_on_a_full_disk_keep_the_previous_ones(tmp_path, blood_subset_npz):
    run, ensemble = tmp_path / "run", tmp_path / "ensemble"
    process = full_disk_process(CHECKPOINTS, str(blood_subset_npz), str(run), str(ensemble))
    lines = []

    def until(word):
        for line in process.stdout:
            lines.append(line)
            if line.strip() == word:
                return
        raise AssertionError(process.stderr.read()[-3000:])

    def go_on():
        process.stdin.write("go\n")
        process.stdin.flush()

    try:
        until("written")
        before, serving = digests(run), digest(ensemble / "member_0.keras")
        assert json.loads((run / "state.json").read_text())["epoch"] == 1
        go_on()

        until("refused")
        errors = attempts(lines)
        refused = errors["resume"]  # best.keras is saved first when validation improved, else last.keras
        assert refused and str(run) in refused, refused
        assert_refused(refused, run / ("best.keras" if str(run / "best.keras") in refused else "last.keras"))
        assert_refused(errors["serving copy"], ensemble / "member_0.keras")
        assert_refused(errors["state.json"], run / "state.json")
        after = digests(run)
        for name in ("last.keras", "best.keras", "state.json", "history.json"):
            assert after[name] == before[name], f"{name} changed under a failed write"
        assert not [name for name in after if ".tmp" in name], f"temporary files left behind: {sorted(after)}"
        assert sorted(p.name for p in ensemble.iterdir()) == ["member_0.keras"]
        assert digest(ensemble / "member_0.keras") == serving
        go_on()

        output, err = process.communicate(timeout=180)
    finally:
        if process.poll() is None:
            process.kill()
            process.wait()
    assert process.returncode == 0, err[-3000:]
    assert attempts(output.splitlines())["optimizer steps"] == 3  # one epoch of 48 images in batches of 16
