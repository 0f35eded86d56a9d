"""Rebuild ``posture/models/pose_landmarker_full.task`` offline from the mediapipe 0.10.21 wheel.

mediapipe 0.10.21 is the last release whose wheel carries the BlazePose files
(``modules/pose_detection/pose_detection.tflite`` and
``modules/pose_landmark/pose_landmark_full.tflite``, Apache-2.0); later releases only have the
Tasks ``PoseLandmarker``, which needs a ``.task`` bundle. The Tasks API refuses the bare files
("Input tensor has type float32: it requires specifying NormalizationOptions metadata"), so this
script adds image-input metadata with 0.10.21's own
``mediapipe.tasks.python.metadata.metadata_writers`` -- the detector's input normalised to
[-1, 1], the landmark model's to [0, 1], one feature output per output tensor -- and zips the two
as ``pose_detector.tflite`` + ``pose_landmarks_detector.tflite``.

The zip is deterministic (fixed order, fixed timestamps, stored and 4-byte aligned like
MediaPipe's own bundles), so a rebuild gives the same bytes and the sha256 recorded in
``posture/models/SHA256SUMS`` (rewritten when the bundle is built in place).

Run: python models/build_pose_task.py [--python PYTHON3.9-3.12] [--out PATH] [--check]

It makes a throwaway virtual environment, installs the pinned mediapipe 0.10.21 there (without
jax, jaxlib, scipy or sentencepiece, which the metadata writers never import), runs itself inside
it and removes it. ``--python`` picks the interpreter for that environment (mediapipe 0.10.21
has wheels for CPython 3.9 to 3.12 only); ``--check`` rebuilds into a temporary file and
compares it with the shipped one instead of overwriting it. This script needs the network (or a
pip cache) once, to fetch mediapipe 0.10.21; posture itself never downloads anything.
"""

from __future__ import annotations

import argparse
import hashlib
import os
import subprocess
import sys
import tempfile
import venv
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
OUT = ROOT / "posture" / "models" / "pose_landmarker_full.task"
SUMS = OUT.parent / "SHA256SUMS"  # what tests/pose/test_model.py checks the shipped bundle against

MEDIAPIPE = "mediapipe==0.10.21"
# What importing 0.10.21's metadata writers needs (mediapipe/__init__ imports solutions, which
# import cv2, matplotlib and attrs), pinned so the environment is the same on every rebuild.
SUPPORT = [
    "numpy==1.26.4",
    "protobuf==4.25.9",
    "flatbuffers==25.12.19",
    "absl-py==2.5.1",
    "attrs==26.1.0",
    "opencv-contrib-python==4.11.0.86",
    "matplotlib==3.9.4",
]

DETECTOR = "modules/pose_detection/pose_detection.tflite"
LANDMARKER = "modules/pose_landmark/pose_landmark_full.tflite"
# (file in the wheel, name in the bundle, model name, description, norm mean, norm std)
# mean 127.5 / std 127.5 maps 0..255 to [-1, 1]; mean 0 / std 255 maps it to [0, 1].
PARTS = [
    (DETECTOR, "pose_detector.tflite", "BlazePose detector", "Person detector", 127.5, 127.5),
    (LANDMARKER, "pose_landmarks_detector.tflite", "BlazePose GHUM 3D full", "33 body landmarks", 0.0, 255.0),
]
ZIP_DATE = (1980, 1, 1, 0, 0, 0)  # the earliest time a zip can hold: no build time in the file


def sha256(path: Path) -> str:
    return hashlib.sha256(path.read_bytes()).hexdigest()


def build_inside(out: Path) -> None:
    """Write the bundle; runs in an environment that has mediapipe 0.10.21."""
    import zipfile

    import mediapipe
    from mediapipe.tasks.python.metadata.metadata_writers import metadata_writer, writer_utils
    from mediapipe.tasks.python.metadata.metadata_writers.model_asset_bundle_utils import AlignZipFile

    if mediapipe.__version__ != "0.10.21":
        raise SystemExit(f"needs mediapipe 0.10.21, found {mediapipe.__version__}")
    root = Path(mediapipe.__file__).parent
    members: list[tuple[str, bytes]] = []
    for source, name, model_name, description, mean, std in PARTS:
        model = bytearray((root / source).read_bytes())
        writer = metadata_writer.MetadataWriter.create(model)
        writer.add_general_info(model_name, description)
        writer.add_image_input(norm_mean=[mean], norm_std=[std])
        for _ in writer_utils.get_output_tensor_types(model):
            writer.add_feature_output()
        content, _json = writer.populate()
        members.append((name, bytes(content)))
    out.parent.mkdir(parents=True, exist_ok=True)
    with AlignZipFile(out, mode="w", alignment=4) as zf:
        for name, content in members:
            info = zipfile.ZipInfo(name, date_time=ZIP_DATE)
            info.compress_type = zipfile.ZIP_STORED
            info.external_attr = 0o644 << 16
            info.create_system = 3  # Unix, whatever the building machine
            zf.writestr(info, content)


def _venv_python(env: Path) -> Path:
    return env / ("Scripts/python.exe" if os.name == "nt" else "bin/python")


def build_in_throwaway_env(python: str, out: Path) -> None:
    with tempfile.TemporaryDirectory(prefix="posture-build-task-") as tmp:
        env = Path(tmp) / "venv"
        if python == sys.executable:
            venv.create(env, with_pip=True)
        else:
            subprocess.run([python, "-m", "venv", str(env)], check=True)
        py = str(_venv_python(env))
        pip = [py, "-m", "pip", "install", "--quiet", "--disable-pip-version-check"]
        subprocess.run([*pip, *SUPPORT], check=True)
        subprocess.run([*pip, "--no-deps", MEDIAPIPE], check=True)
        subprocess.run([py, str(Path(__file__).resolve()), "--inside", "--out", str(out)], check=True)


def main(argv: list[str] | None = None) -> int:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--out", type=Path, default=OUT, help=f"where to write the bundle (default: {OUT})")
    ap.add_argument("--python", default=sys.executable, help="CPython 3.9-3.12 for the throwaway environment")
    ap.add_argument("--check", action="store_true", help="rebuild and compare with the shipped bundle")
    ap.add_argument("--inside", action="store_true", help=argparse.SUPPRESS)
    args = ap.parse_args(argv)
    if args.inside:
        build_inside(args.out)
        return 0
    if args.check:
        with tempfile.TemporaryDirectory() as tmp:
            fresh = Path(tmp) / OUT.name
            build_in_throwaway_env(args.python, fresh)
            same = fresh.read_bytes() == OUT.read_bytes()
            print(f"rebuilt {sha256(fresh)}\nshipped {sha256(OUT)}\n{'identical' if same else 'DIFFERENT'}")
            return 0 if same else 1
    build_in_throwaway_env(args.python, args.out)
    if args.out.resolve() == OUT:
        SUMS.write_text(f"{sha256(OUT)}  {OUT.name}\n")
    print(f"{args.out} {args.out.stat().st_size} bytes sha256 {sha256(args.out)}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
