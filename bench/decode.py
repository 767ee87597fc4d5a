"""decode: barcode decoding at the till, per 1280×720 camera frame and per format.

Frames: each dev-set image (zxing-cpp's samples, ../shared/data/barcodes/dev) placed at the
centre of a grey 1280×720 BGR canvas (scaled down to fit when larger, never up), and empty
canvases, the common case at a till: flat grey, and grey with camera noise (σ = 6). Each is
decoded as the camera worker will: `DecoderChain.decode` on the BGR frame (grayscale
conversion included), by zxing-cpp alone, zbar alone, the chain (zxing-cpp, then zbar when it
found nothing) and zxing-cpp without its try-harder searches ("zxing fast"). The chain is
timed with its fallback on every frame and, on empty frames, as the camera worker runs it:
frames back to back, the fallback pass at most every `--fallback-interval` seconds of wall
clock, for "zxing,zbar" and "zxing-fast,zxing,zbar". Then the read rate per format of each
decoder on the dev-set images themselves, and which images and frames the zbar fallback rescued.
No server is started; figures are median and p95 in ms per frame.
"""

from __future__ import annotations

import argparse
import csv
import statistics
import time
from collections import Counter
from dataclasses import dataclass
from pathlib import Path

import cv2
import numpy as np

from bench.common import ROOT, Report, percentile, say
from kiosk import scanner

NAME = "decode"
DEV = ROOT.parent / "shared" / "data" / "barcodes" / "dev"
WIDTH, HEIGHT = 1280, 720
BACKGROUND = 180
CAMERA_CHAINS = (["zxing", "zbar"], ["zxing-fast", "zxing", "zbar"])


@dataclass(frozen=True)
class Sample:
    file: str
    folder: str
    format: str
    expected: str | bytes

    def matches(self, read: scanner.Read) -> bool:
        return read.raw == self.expected if isinstance(self.expected, bytes) else read.text == self.expected


def add_arguments(p: argparse.ArgumentParser) -> None:
    p.add_argument("--dev", type=Path, default=DEV, help=f"the dev set's directory (default {DEV})")
    p.add_argument("--empty-frames", type=int, default=100, help="empty frames timed per kind (default 100)")
    p.add_argument("--repeat", type=int, default=1, help="times each placed dev image is decoded (default 1)")
    p.add_argument("--fallback-interval", type=float, default=0.2,
                   help="the camera chains' minimum seconds between fallback passes (default 0.2: 5 per second)")


def load_samples(dev: Path) -> list[Sample]:
    with open(dev / "manifest.csv", newline="", encoding="utf-8") as f:
        rows = list(csv.DictReader(f))
    return [Sample(r["file"], r["folder"], r["format"],
                   bytes.fromhex(r["expected_bin_hex"]) if r["expected_bin_hex"] else r["expected_text"])
            for r in rows]


def place(image: np.ndarray) -> np.ndarray:
    """`image` at the centre of a grey 1280×720 BGR frame, scaled down to fit if needed."""
    gray = scanner.to_gray(image)
    h, w = gray.shape
    scale = min(1.0, (WIDTH - 40) / w, (HEIGHT - 40) / h)
    if scale < 1.0:
        gray = cv2.resize(gray, (int(w * scale), int(h * scale)), interpolation=cv2.INTER_AREA)
        h, w = gray.shape
    frame = np.full((HEIGHT, WIDTH), BACKGROUND, np.uint8)
    top, left = (HEIGHT - h) // 2, (WIDTH - w) // 2
    frame[top : top + h, left : left + w] = gray
    return cv2.cvtColor(frame, cv2.COLOR_GRAY2BGR)


def empty_frames() -> dict[str, np.ndarray]:
    flat = np.full((HEIGHT, WIDTH, 3), BACKGROUND, np.uint8)
    noise = np.random.default_rng(4).normal(0, 6, (HEIGHT, WIDTH, 1))
    noisy = np.clip(flat + noise, 0, 255).astype(np.uint8)
    return {"empty frame": flat, "empty frame, camera noise": noisy}


def chains() -> dict[str, scanner.DecoderChain]:
    return {
        "zxing": scanner.DecoderChain([scanner.ZxingDecoder()]),
        "zbar": scanner.DecoderChain([scanner.ZbarDecoder()]),
        "chain": scanner.DecoderChain([scanner.ZxingDecoder(), scanner.ZbarDecoder()]),
        "zxing fast": scanner.DecoderChain([scanner.ZxingDecoder(try_harder=False)]),
    }


def timed(chain: scanner.DecoderChain, frame: np.ndarray) -> tuple[float, list[scanner.Read]]:
    t0 = time.perf_counter()
    reads = chain.decode(frame)
    return (time.perf_counter() - t0) * 1000, reads


def time_figures(report: Report, label: str, times: list[float]) -> None:
    report.figure(f"{label}: median", statistics.median(times), "ms/frame", fmt="{:,.1f}")
    report.figure(f"{label}: p95", percentile(times, 95), "ms/frame", fmt="{:,.1f}")


def rescued_by_zbar(samples: list[Sample], results: dict[str, list[scanner.Read]]) -> list[str]:
    return [s.file for s in samples if any(r.decoder == "zbar" and s.matches(r) for r in results[s.file])]


def run(args: argparse.Namespace) -> Report:
    report = Report(NAME)
    if not (args.dev / "manifest.csv").exists():
        raise SystemExit(f"{args.dev}/manifest.csv not found: pass --dev DIR (the barcode dev set)")
    samples = load_samples(args.dev)
    images = {s.file: scanner.load_image(args.dev / s.file) for s in samples}
    frames = {s.file: place(images[s.file]) for s in samples}
    say(f"  {len(samples)} dev-set images in {len({s.folder for s in samples})} folders; frames {WIDTH}×{HEIGHT} BGR")
    decoders = chains()

    say("  -- time per frame --")
    for kind, frame in empty_frames().items():
        for name, chain in decoders.items():
            times = [timed(chain, frame)[0] for _ in range(args.empty_frames)]
            time_figures(report, f"{kind}, {name}", times)
        for names in CAMERA_CHAINS:
            # as the camera worker runs it: frames back to back, the fallback limited by the wall clock
            chain = scanner.DecoderChain.from_names(names, fallback_interval=args.fallback_interval)
            limit = f"≤ {1 / args.fallback_interval:g}/s" if args.fallback_interval else "every frame"
            label = f"{kind}, {','.join(names)}, fallback {limit}"
            times = [timed(chain, frame)[0] for _ in range(args.empty_frames)]
            time_figures(report, label, times)
            report.figure(f"{label}: mean", statistics.fmean(times), "ms/frame", fmt="{:,.1f}")
    on_frames: dict[str, dict[str, list[scanner.Read]]] = {}
    for name, chain in decoders.items():
        times, results = [], on_frames.setdefault(name, {})
        for s in samples:
            for _ in range(args.repeat):
                ms, results[s.file] = timed(chain, frames[s.file])
                times.append(ms)
        read = sum(any(s.matches(r) for r in results[s.file]) for s in samples)
        time_figures(report, f"frame with a dev-set code, {name}", times)
        report.figure(f"frame with a dev-set code, {name}: read correctly", read, f"of {len(samples)}", fmt="{:,.0f}")
    rescued = rescued_by_zbar(samples, on_frames["chain"])
    say(f"  frames: zbar rescued {len(rescued)} that zxing-cpp could not read: {', '.join(rescued) or 'none'}")

    say("  -- read rate per format on the dev-set images --")
    formats = sorted({s.format for s in samples})
    by_decoder: dict[str, dict[str, list[scanner.Read]]] = {}
    for name, chain in decoders.items():
        results = by_decoder[name] = {s.file: chain.decode(images[s.file]) for s in samples}
        for fmt in formats:
            of_format = [s for s in samples if s.format == fmt]
            ok = sum(any(s.matches(r) for r in results[s.file]) for s in of_format)
            report.figure(f"{name}: {fmt} read correctly", 100 * ok / len(of_format), f"% of {len(of_format)}",
                          fmt="{:,.0f}")
        ok = sum(any(s.matches(r) for r in results[s.file]) for s in samples)
        report.figure(f"{name}: all formats read correctly", 100 * ok / len(samples), f"% of {len(samples)}",
                      fmt="{:,.1f}")
        for s in samples:
            reads = results[s.file]
            if reads and not any(s.matches(r) for r in reads):
                say(f"  {name}: misread {s.file}: {[r.text for r in reads]!r} (expected {s.expected!r})")
            elif len(reads) > sum(s.matches(r) for r in reads):
                extra = [r.text for r in reads if not s.matches(r)]
                say(f"  {name}: {s.file} read correctly, but also as {extra!r}")
    rescued = rescued_by_zbar(samples, by_decoder["chain"])
    say(f"  images: zbar rescued {len(rescued)} that zxing-cpp could not read: {', '.join(rescued) or 'none'}")
    missed = Counter(s.folder for s in samples if not any(s.matches(r) for r in by_decoder["chain"][s.file]))
    say(f"  images: the chain read nothing right in: {dict(missed) or 'none'} (per folder)")
    return report
