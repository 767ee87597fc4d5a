"""Decoding barcode images: zxing-cpp's sample images through the real decode path, voucher
codes as head office prints them, and `voucher-kiosk decode` on good, empty and garbage files.

The dev set (../shared/data/barcodes/dev, beside the repository) holds 202 images with their
expected text; its tests are skipped when it is not there. Read rates are asserted per folder
at the level measured with zxing-cpp 3.1.1 and libzbar 0.23.92, so that a regression fails.
"""

from __future__ import annotations

import csv
import json
import subprocess
import sys
from dataclasses import dataclass
from functools import cache
from pathlib import Path

import cv2
import numpy as np
import pytest
import segno
import zxingcpp

from central.images import barcode_png
from kiosk import cli, scanner
from kiosk.scanner import DecoderChain, Read
from vouchers.codes import format_code, new_code, normalise

DEV = Path(__file__).parents[2].parent / "shared/data/barcodes/dev"
CLI = str(Path(sys.executable).parent / "voucher-kiosk")
CONFIGS = {
    "zxing": ["zxing"],
    "zbar": ["zbar"],
    "till": list(scanner.DEFAULT_DECODERS),
    "zxing-fast": ["zxing-fast"],
}

# Images read correctly per folder (zxing, zbar, the till's chain, zxing-fast), as measured. zxing-cpp's
# own BlackboxTestRunner expects, in slow mode, exactly the zxing column (datamatrix-5 is not in
# its runner; the README says 3.1.1 decodes 2). zbar has no DataMatrix, PDF417 or Aztec reader.
# The till's chain reads what zxing-cpp's slow mode and zbar read together (196 of 202, as the
# old default "zxing,zbar" did); zxing-fast alone, 194.
READ = {
    "qrcode-1": (8, 8, 8, 8),
    "qrcode-3": (18, 17, 18, 18),
    "qrcode-5": (16, 12, 16, 16),
    "ean13-1": (14, 10, 14, 13),
    "ean13-3": (8, 8, 8, 8),
    "code128-1": (6, 5, 6, 6),
    "code128-3": (2, 2, 2, 2),
    "datamatrix-1": (30, 0, 30, 30),
    "datamatrix-3": (27, 0, 27, 27),
    "datamatrix-5": (2, 0, 2, 2),
    "pdf417-1": (17, 0, 17, 16),
    "pdf417-3": (16, 0, 16, 16),
    "aztec-1": (32, 0, 32, 32),
}
# Images where a decoder returned text and none of it was right (zbar drops Code 128's FNC4:
# "ssss1234ssabszz" for "óóóó1234óóabózz"). Every other folder: none allowed.
MISREAD = {("zbar", "code128-1"): 1}


@dataclass(frozen=True)
class Sample:
    file: str
    folder: str
    format: str
    expected: str | bytes  # NAME.txt as text, NAME.bin as bytes

    def matches(self, read: Read) -> bool:
        return read.raw == self.expected if isinstance(self.expected, bytes) else read.text == self.expected


@cache
def samples() -> list[Sample]:
    with open(DEV / "manifest.csv", newline="", encoding="utf-8") as f:
        rows = list(csv.DictReader(f))
    out = []
    for row in rows:
        image = DEV / row["file"]
        txt, binary = image.with_suffix(".txt"), image.with_suffix(".bin")
        expected = txt.read_bytes().decode("utf-8") if txt.exists() else binary.read_bytes()
        out.append(Sample(row["file"], row["folder"], row["format"], expected))
    return out


@cache
def results(config: str) -> dict[str, list[Read]]:
    chain = DecoderChain.from_names(CONFIGS[config])
    return {s.file: scanner.decode_file(DEV / s.file, chain) for s in samples()}


needs_dev_set = pytest.mark.skipif(not (DEV / "manifest.csv").exists(), reason=f"no barcode dev set at {DEV}")


def decode_cli(*args: str | Path) -> subprocess.CompletedProcess:
    return subprocess.run(
        [CLI, "decode", *map(str, args)],
        capture_output=True,
        text=True,
        timeout=120,
        stdin=subprocess.DEVNULL,
    )


def json_lines(stdout: str) -> list[dict]:
    return [json.loads(line) for line in stdout.splitlines()]


# -- the dev set ---------------------------------------------------------------------------


@needs_dev_set
def test_the_dev_set_is_what_the_expectations_describe():
    assert len(samples()) == 202
    assert {s.folder for s in samples()} == set(READ)


@needs_dev_set
@pytest.mark.parametrize("folder", READ)
@pytest.mark.parametrize("config", CONFIGS)
def test_read_rate_per_folder(config, folder):
    of_folder = [s for s in samples() if s.folder == folder]
    found = results(config)
    right = [s.file for s in of_folder if any(s.matches(r) for r in found[s.file])]
    wrong = [s.file for s in of_folder if found[s.file] and not any(s.matches(r) for r in found[s.file])]
    expected = READ[folder][list(CONFIGS).index(config)]
    assert len(right) >= expected, (
        f"{config} read {len(right)} of {len(of_folder)} in {folder}, was {expected}"
    )
    assert len(wrong) <= MISREAD.get((config, folder), 0), f"{config} misread {wrong}"
    for s in of_folder:  # a right read names the format the manifest gives
        assert all(r.format == s.format for r in found[s.file] if s.matches(r)), s.file


@needs_dev_set
def test_the_chain_falls_back_only_when_the_readers_decoder_finds_nothing():
    for s in samples():
        till, fast, zxing = results("till")[s.file], results("zxing-fast")[s.file], results("zxing")[s.file]
        assert till == (fast or zxing or results("zbar")[s.file]), s.file


@needs_dev_set
def test_cli_json_gives_the_text_exactly():
    files = [
        "qrcode-1/17.webp",
        "datamatrix-3/dm-6.webp",
        "pdf417-1/12-mixed-ecis.png",
        "aztec-1/Historico.png",
        "code128-1/6.png",
        "ean13-3/03.webp",
        "datamatrix-3/dm-c.jpg",
    ]
    done = decode_cli("--json", *(DEV / f for f in files))
    assert done.returncode == 0, done.stderr
    lines = json_lines(done.stdout)
    by_file = {Path(line["file"]).relative_to(DEV).as_posix(): line for line in lines}
    assert len(lines) == len(by_file) == len(files)
    expected = {s.file: s for s in samples()}
    for name, line in by_file.items():
        sample = expected[name]
        assert line["format"] == sample.format
        if isinstance(sample.expected, bytes):  # a binary payload zxing-cpp gives as Latin-1 text
            assert line["text"].encode("latin-1") == sample.expected
        else:
            assert line["text"] == sample.expected


@needs_dev_set
def test_cli_prints_one_escaped_line_per_code():
    done = decode_cli("--decoders", "zxing", DEV / "qrcode-1/17.webp", DEV / "ean13-1/35.webp")
    assert done.returncode == 0, done.stderr
    lines = done.stdout.splitlines()
    assert lines[0] == (
        f"{DEV / 'qrcode-1/17.webp'}\tQRCode\t"
        r"Sean Owen\r\nsrowen@google.com\r\n917-364-2918\r\nhttp://awesome-thoughts.com"
    )
    # zxing-cpp reads this photo twice: right (5030159003930) and wrong; both are printed
    assert sorted(line.split("\t")[2] for line in lines[1:]) == ["5030159003930", "7034759003930"]


@needs_dev_set
def test_a_file_without_a_code_gives_1_and_the_others_still_print():
    done = decode_cli(DEV / "datamatrix-5/issue1063.webp", DEV / "code128-1/1.png")
    assert done.returncode == 1
    assert done.stdout == f"{DEV / 'code128-1/1.png'}\tCode128\t168901\n"
    assert "issue1063.webp: no barcode found" in done.stderr


# -- voucher codes as head office prints them ------------------------------------------------


@pytest.fixture
def code() -> str:
    return new_code()


@pytest.mark.parametrize("decoder", ["zxing", "zbar"])
def test_a_voucher_qr_and_code128_read_back_exactly(tmp_path, code, decoder):
    grouped = format_code(code)
    qr, url_qr, c128 = tmp_path / "qr.png", tmp_path / "url.png", tmp_path / "c128.png"
    segno.make_qr(grouped).save(qr, scale=4)
    segno.make_qr(f"https://vouchers.example/v/{grouped}").save(url_qr, scale=4)
    barcode = zxingcpp.create_barcode(grouped, zxingcpp.BarcodeFormat.Code128)
    cv2.imwrite(str(c128), np.asarray(zxingcpp.write_barcode_to_image(barcode, scale=3)))
    done = decode_cli("--json", "--decoders", decoder, qr, url_qr, c128)
    assert done.returncode == 0, done.stderr
    assert [(line["format"], line["text"]) for line in json_lines(done.stdout)] == [
        ("QRCode", grouped),
        ("QRCode", f"https://vouchers.example/v/{grouped}"),
        ("Code128", grouped),
    ]
    assert {normalise(line["text"]) for line in json_lines(done.stdout)} == {code}


@pytest.mark.parametrize("symbology", ["qr", "code128", "datamatrix", "pdf417", "aztec"])
def test_every_symbology_head_office_prints_is_read(tmp_path, code, symbology):
    path = tmp_path / f"{symbology}.png"
    path.write_bytes(barcode_png(format_code(code), symbology))
    reads = scanner.decode_file(path, DecoderChain.from_names())
    assert [r.text for r in reads] == [format_code(code)]
    assert reads[0].decoder == "zxing-fast"  # the reader's own decoder: no fallback needed


def test_a_small_qr_in_a_camera_frame_is_read(code):
    modules = np.array(list(segno.make_qr(format_code(code)).matrix), dtype=np.uint8)
    symbol = np.kron(1 - modules, np.ones((3, 3), dtype=np.uint8)) * 255
    frame = np.full((720, 1280, 3), 170, np.uint8)
    frame[300 : 300 + symbol.shape[0], 700 : 700 + symbol.shape[1]] = symbol[:, :, None]
    reads = DecoderChain.from_names().decode(frame)
    assert [normalise(r.text) for r in reads] == [code]


def test_a_transparent_background_counts_as_paper(code):
    """Black modules on transparent black: only compositing over white leaves a code."""
    modules = np.array(list(segno.make_qr(format_code(code)).matrix), dtype=np.uint8)
    alpha = np.pad(np.kron(modules, np.ones((4, 4), dtype=np.uint8)) * 255, 16)
    bgra = np.zeros((*alpha.shape, 4), np.uint8)
    bgra[:, :, 3] = alpha
    assert [r.text for r in DecoderChain.from_names(["zxing"]).decode(bgra)] == [format_code(code)]


def printed(text: str, symbology: str) -> np.ndarray:
    """The symbol as head office draws it (central/images.py), grey."""
    return cv2.imdecode(
        np.frombuffer(barcode_png(text, symbology, with_text=False), np.uint8), cv2.IMREAD_GRAYSCALE
    )


@pytest.mark.parametrize("symbology", ["qr", "code128", "datamatrix", "pdf417", "aztec"])
def test_a_dark_mode_phone_code_is_read_by_the_readers_own_decoder(code, symbology):
    """Light on dark, as a phone in dark mode shows it: the camera's first decoder reads it."""
    symbol = printed(format_code(code), symbology)
    screen = np.full((720, 1280), 20, np.uint8)  # the dark page around the code
    h, w = symbol.shape
    screen[100 : 100 + h, 100 : 100 + w] = 255 - symbol
    reads = DecoderChain.from_names().read(screen)
    assert [(r.text, r.decoder, r.inverted) for r in reads] == [(format_code(code), "zxing-fast", True)]


@pytest.mark.parametrize("decoder", ["zxing", "zbar"])
@pytest.mark.parametrize("symbology", ["qr", "code128"])
def test_the_fallback_decoders_read_light_on_dark_too(code, decoder, symbology):
    """zxing-cpp's own invert option misses an inverted Code 128, and zbar has none: both are
    given the frame inverted by hand."""
    symbol = printed(format_code(code), symbology)
    reads = scanner.make_decoders([decoder])[0].decode(np.ascontiguousarray(255 - symbol))
    assert [r.text for r in reads] == [format_code(code)]
    # zxing-cpp's slow mode reads the QR inverted itself; the rest needed the frame inverted by hand
    assert reads[0].inverted is not (decoder == "zxing" and symbology == "qr")


def test_zbar_gives_upc_in_the_ean13_form_zxing_gives():
    """One symbol, one text, whichever decoder read it (a wedge of the CodeFilter otherwise)."""
    for fmt, digits in (
        (zxingcpp.BarcodeFormat.UPCA, "01234567890"),
        (zxingcpp.BarcodeFormat.UPCE, "0123456"),
    ):
        image = np.asarray(zxingcpp.write_barcode_to_image(zxingcpp.create_barcode(digits, fmt), scale=3))
        image = np.pad(image, 30, constant_values=255)
        zxing, zbar = (scanner.make_decoders([n])[0].decode(image) for n in ("zxing", "zbar"))
        assert [r.text for r in zbar] == [r.text for r in zxing] and len(zbar[0].text) == 13


def test_one_definition_of_the_till_chain():
    from kiosk.settings import KioskSettings

    assert KioskSettings().decoders == list(scanner.DEFAULT_DECODERS) == DecoderChain.from_names().names
    assert scanner.DEFAULT_DECODERS[0] == "zxing-fast"  # the reader's: fast enough for every frame


def test_cli_decodes_with_the_kiosks_decoders(tmp_path, code):
    """voucher-kiosk decode reads what this till's camera reads: its configured chain, or the default."""
    image = tmp_path / "dm.png"
    image.write_bytes(barcode_png(format_code(code), "datamatrix"))
    config = tmp_path / "kiosk.toml"
    config.write_text('decoders = ["zbar"]\n')  # zbar has no DataMatrix reader
    assert json_lines(decode_cli("--json", image).stdout) == [
        {"file": str(image), "format": "DataMatrix", "text": format_code(code)}
    ]
    done = decode_cli("--config", config, image)
    assert done.returncode == 1 and "no barcode found" in done.stderr


@needs_dev_set
def test_cli_thorough_adds_the_slow_searches():
    image = DEV / "datamatrix-5/issue1063.webp"  # nothing for the till's chain (test above)
    done = decode_cli("--thorough", "--json", image)
    assert done.returncode == 0, done.stderr
    [line] = json_lines(done.stdout)
    assert line["format"] == "DataMatrix" and line["text"] == next(
        s.expected for s in samples() if s.file == "datamatrix-5/issue1063.webp"
    )


# -- what the JSON keeps, and what the screen shows -----------------------------------------


@pytest.mark.parametrize("decoder", ["zxing", "zbar"])
def test_json_keeps_control_characters(tmp_path, decoder):
    text = "AB\x1dCD\r\nEF\x04"
    segno.make_qr(text).save(tmp_path / "ctl.png", scale=4)
    done = decode_cli("--json", "--decoders", decoder, tmp_path / "ctl.png")
    assert done.returncode == 0, done.stderr
    assert "\\u001d" in done.stdout and "\\r" in done.stdout and "\x1d" not in done.stdout
    assert json_lines(done.stdout) == [{"file": str(tmp_path / "ctl.png"), "format": "QRCode", "text": text}]
    shown = decode_cli("--decoders", decoder, tmp_path / "ctl.png").stdout
    assert shown == f"{tmp_path / 'ctl.png'}\tQRCode\tAB\\x1dCD\\r\\nEF\\x04\n"


def test_display_text_escapes_like_repr():
    assert scanner.display_text("a\tb\\c\x00\u200b\U000e0001é点") == "a\\tb\\\\c\\x00\\u200b\\U000e0001é点"


# -- unreadable files ------------------------------------------------------------------------


def test_garbage_files_give_a_clear_error_and_2(tmp_path, capsys):
    rng = np.random.default_rng(7)
    (tmp_path / "random.png").write_bytes(rng.integers(0, 256, 4096, dtype=np.uint8).tobytes())
    (tmp_path / "empty.png").write_bytes(b"")
    (tmp_path / "notes.txt").write_text("VOUCHER ABCD-EFGH-JKMN-PQ\n")
    (tmp_path / "folder.png").mkdir()
    segno.make_qr("ok").save(tmp_path / "good.png", scale=4)
    names = ["random.png", "empty.png", "notes.txt", "missing.png", "folder.png"]
    done = decode_cli(*(tmp_path / n for n in names), tmp_path / "good.png")
    assert done.returncode == 2
    assert done.stdout == f"{tmp_path / 'good.png'}\tQRCode\tok\n"
    errors = done.stderr.splitlines()
    assert "Traceback" not in done.stderr
    assert len(errors) == len(names)
    for name, line in zip(names, errors, strict=True):
        assert line.startswith("error: Cannot read the image: ") and str(tmp_path / name) in line
    assert "empty" in errors[1] and "No such file" in errors[3] and "directory" in errors[4]
    for name in names:  # each alone, in-process: the same error, and no code is printed
        assert cli.main(["decode", "--json", str(tmp_path / name)]) == 2
        out, err = capsys.readouterr()
        assert out == "" and err.startswith("error: Cannot read the image: ") and name in err


def test_unknown_decoders_are_refused():
    done = decode_cli("--decoders", "zxing,quagga", "x.png")
    assert done.returncode == 2 and "quagga" in done.stderr and "Traceback" not in done.stderr
    with pytest.raises(scanner.UnknownDecoder):
        scanner.make_decoders(["zxing", "quagga"])


# -- the chain's fallback pass ---------------------------------------------------------------


class Counting:
    """A real decoder, counted: how often the chain called it."""

    def __init__(self, decoder: scanner.Decoder) -> None:
        self.decoder, self.name, self.calls = decoder, decoder.name, 0

    def decode(self, gray: np.ndarray) -> list[Read]:
        self.calls += 1
        return self.decoder.decode(gray)


def test_the_fallback_runs_at_most_once_per_interval(code):
    frame_number = [0]
    zxing, zbar = Counting(scanner.ZxingDecoder()), Counting(scanner.ZbarDecoder())
    # just under 6 frames of a 30 fps camera (0.2 s would sit on a floating-point edge)
    chain = DecoderChain([zxing, zbar], fallback_interval=0.19, clock=lambda: frame_number[0] / 30)
    empty = np.full((720, 1280, 3), 200, np.uint8)
    for frame_number[0] in range(30):  # one second of an empty counter
        assert chain.decode(empty) == []
    assert zxing.calls == 30
    assert zbar.calls == 5  # frames 0, 6, 12, 18 and 24
    modules = np.array(list(segno.make_qr(format_code(code)).matrix), dtype=np.uint8)
    symbol = np.kron(1 - modules, np.ones((4, 4), dtype=np.uint8)) * 255
    frame = empty.copy()
    frame[100 : 100 + symbol.shape[0], 100 : 100 + symbol.shape[1]] = symbol[:, :, None]
    reads = chain.decode(frame)
    assert [(r.decoder, r.text) for r in reads] == [("zxing", format_code(code))]
    assert zbar.calls == 5  # zxing found it: no fallback


def test_a_slow_fallback_pass_cannot_fill_the_readers_time():
    now = [0.0]

    class Slow(Counting):
        def decode(self, gray):
            now[0] += 0.15  # a pass as long as most of the interval
            return super().decode(gray)

    zxing, zbar = Counting(scanner.ZxingDecoder()), Slow(scanner.ZbarDecoder())
    chain = DecoderChain([zxing, zbar], fallback_interval=0.2, clock=lambda: now[0])
    empty = np.full((120, 160, 3), 200, np.uint8)
    while now[0] < 3.0:  # three seconds of an empty counter at 30 fps
        chain.decode(empty)
        now[0] += 1 / 30
    # each pass (0.15 s) is followed by 0.2 s without one: 3 s hold about 3 / 0.35 passes, not 3 / 0.2
    assert 8 <= zbar.calls <= 9


def test_a_chain_needs_a_decoder():
    with pytest.raises(scanner.ScannerError):
        DecoderChain([])
    with pytest.raises(scanner.ScannerError):
        scanner.make_decoders([])


# -- till frames: codes as the camera sees them (tests/support/till_frames.py) -------------------

FRAMES_PER_CONDITION = 10
TILL_FRAMES_REPORT = Path(__file__).parents[2] / "test-artifacts" / "kiosk" / "till-frames.txt"
# Frames read (of 10, seed 17) by the reader's decoder alone and by the till's whole chain, as
# measured with zxing-cpp 3.1.1 and libzbar 0.23.92, less one frame where that leaves any: rates
# that hold on another CPU's rounding, and fail when the decoders get worse.
FLOORS = {
    "plain": (9, 9),
    "perspective": (9, 9),
    "rotation": (3, 5),
    "blur": (9, 9),
    "noise": (7, 8),
    "low light": (8, 8),
    "bright light": (9, 9),
    "glare": (6, 7),
    "JPEG": (9, 9),
    "phone, bright": (9, 9),
    "phone, dark mode": (9, 9),
    "thumb": (5, 7),
    "small": (6, 6),
    "no code": (0, 0),
}


def bare_zxing(gray: np.ndarray) -> list[str]:
    """zxing-cpp as it comes: every format, its slow mode, its own invert option."""
    return [r.text for r in zxingcpp.read_barcodes(gray)]


def test_till_frames_are_read_and_never_misread():
    """The generator's frames, per condition: what the reader's decoder reads of one frame, what
    the whole chain reads of it (a frame held long enough for the fallback), and bare zxing-cpp.
    No decoder of the till may read a wrong text, or anything in a frame without a code. The
    table is printed (pytest -rP) and kept in test-artifacts/kiosk/till-frames.txt."""
    from support.till_frames import CONDITIONS, till_frames

    chain = DecoderChain.from_names()
    rates = {c: [0, 0, 0, 0] for c in CONDITIONS}  # reader, till, bare, frames
    wrong = []
    for frame in till_frames(FRAMES_PER_CONDITION, seed=17):
        gray = scanner.to_gray(frame.image)
        reader = chain.read(gray)
        till = reader or chain.fall_back(gray)
        for reads in (reader, till):
            wrong += [
                f"{frame.condition}: {r.decoder} read {r.text!r} in {frame.look.describe()} ({frame.text!r})"
                for r in reads
                if r.text != frame.text
            ]
        row = rates[frame.condition]
        row[0] += any(r.text == frame.text for r in reader) and frame.symbology is not None
        row[1] += any(r.text == frame.text for r in till) and frame.symbology is not None
        row[2] += frame.symbology is not None and frame.text in bare_zxing(gray)
        row[3] += 1
    lines = [
        f"{'condition':18} {'reader':>8} {'till':>8} {'bare zxing-cpp':>15}   (frames read, of each condition's)"
    ]
    lines += [f"{c:18} {r:>8} {t:>8} {b:>15}   of {n}" for c, (r, t, b, n) in rates.items()]
    totals = [sum(row[i] for row in rates.values()) for i in range(4)]
    lines.append(f"{'all':18} {totals[0]:>8} {totals[1]:>8} {totals[2]:>15}   of {totals[3]}")
    table = "\n".join(lines)
    print(table)
    TILL_FRAMES_REPORT.parent.mkdir(parents=True, exist_ok=True)
    TILL_FRAMES_REPORT.write_text(table + "\n")
    assert not wrong, "\n".join(wrong)
    low = [
        f"{c}: reader {rates[c][0]} (floor {r}), till {rates[c][1]} (floor {t})"
        for c, (r, t) in FLOORS.items()
        if rates[c][0] < r or rates[c][1] < t
    ]
    assert not low, "\n".join(low) + "\n" + table
    assert totals[1] >= totals[2], "the till's chain reads fewer frames than bare zxing-cpp\n" + table
