"""Check a case bundle against its manifest and its WACZ against its datapackage: one line per problem."""

from __future__ import annotations

import hashlib
import json
import os
import shutil
import subprocess
import sys
import zipfile
from pathlib import Path, PurePosixPath

from crawler.case import MANIFEST, sha256_file

WACZ_VALIDATE_TIMEOUT_S = 300


def _safe_member(name: str) -> bool:
    path = PurePosixPath(name)
    return bool(name) and not path.is_absolute() and ".." not in path.parts and "\\" not in name


def check_manifest(bundle: Path) -> tuple[dict | None, list[str]]:
    """Re-hash every file the manifest lists; name missing, changed and unlisted files."""
    try:
        manifest = json.loads((bundle / MANIFEST).read_text(encoding="utf-8"))
        files = manifest["files"]
    except FileNotFoundError:
        return None, [f"{MANIFEST}: missing"]
    except (ValueError, KeyError, TypeError) as exc:
        return None, [f"{MANIFEST}: unreadable ({exc})"]
    problems = []
    for name in sorted(files):
        expected = files[name]
        if not _safe_member(name):
            problems.append(f"{name}: manifest names a path outside the bundle")
            continue
        path = bundle / name
        if not path.is_file():
            problems.append(f"{name}: missing")
        elif sha256_file(path) != expected["sha256"]:
            problems.append(f"{name}: changed (SHA-256 differs from manifest)")
        elif "bytes" in expected and path.stat().st_size != expected["bytes"]:
            problems.append(f"{name}: changed (size differs from manifest)")
    present = {p.relative_to(bundle).as_posix() for p in bundle.rglob("*") if p.is_file() or p.is_symlink()}
    for name in sorted(present - set(files) - {MANIFEST}):
        problems.append(f"{name}: extra file not in manifest")
    return manifest, problems


def check_wacz(path: Path, label: str) -> list[str]:
    """The WACZ's own promises: every resource in datapackage.json present with its hash,
    nothing unlisted, and datapackage.json matching datapackage-digest.json."""
    try:
        zf = zipfile.ZipFile(path)
    except (OSError, zipfile.BadZipFile) as exc:
        return [f"{label}: not a readable WACZ ({exc})"]
    problems = []
    with zf:
        names = set(zf.namelist())
        try:
            package_bytes = zf.read("datapackage.json")
            package = json.loads(package_bytes)
            resources = {r["path"]: r for r in package["resources"]}
        except (KeyError, ValueError, TypeError) as exc:
            return [f"{label}: datapackage.json missing or unreadable ({exc})"]
        for name, resource in sorted(resources.items()):
            if name not in names:
                problems.append(f"{label}: {name} listed in datapackage.json but missing")
                continue
            algorithm, _, expected = str(resource.get("hash", "")).partition(":")
            if algorithm not in hashlib.algorithms_available:
                problems.append(f"{label}: {name} has an unknown hash type {algorithm!r}")
                continue
            digest = hashlib.new(algorithm)
            try:
                with zf.open(name) as fh:
                    for chunk in iter(lambda: fh.read(1 << 20), b""):
                        digest.update(chunk)
            except (zipfile.BadZipFile, OSError) as exc:
                problems.append(f"{label}: {name} unreadable ({exc})")
                continue
            if digest.hexdigest() != expected:
                problems.append(f"{label}: {name} changed (hash differs from datapackage.json)")
        for name in sorted(names - set(resources) - {"datapackage.json", "datapackage-digest.json"}):
            problems.append(f"{label}: {name} not listed in datapackage.json")
        if "datapackage-digest.json" in names:
            try:
                declared = json.loads(zf.read("datapackage-digest.json"))["hash"]
            except (KeyError, ValueError, TypeError):
                problems.append(f"{label}: datapackage-digest.json unreadable")
            else:
                algorithm, _, expected = declared.partition(":")
                if hashlib.new(algorithm or "sha256", package_bytes).hexdigest() != expected:
                    problems.append(f"{label}: datapackage.json differs from datapackage-digest.json")
    return problems


def wacz_command() -> list[str] | None:
    """The `wacz` CLI of this interpreter's environment, or any on PATH."""
    beside = Path(sys.executable).parent / ("wacz.exe" if os.name == "nt" else "wacz")
    if beside.exists():
        return [str(beside)]
    found = shutil.which("wacz")
    return [found] if found else None


def run_wacz_validate(path: Path, label: str) -> list[str]:
    """py-wacz's own judgement, in a subprocess; empty when it is not installed."""
    command = wacz_command()
    if command is None:
        return []
    try:
        result = subprocess.run([*command, "validate", "-f", str(path)], capture_output=True, text=True,
                                timeout=WACZ_VALIDATE_TIMEOUT_S)
    except subprocess.TimeoutExpired:
        return [f"{label}: wacz validate did not finish in {WACZ_VALIDATE_TIMEOUT_S} s"]
    if result.returncode != 0:
        lines = [line for line in (result.stdout + result.stderr).splitlines() if line.strip()]
        return [f"{label}: wacz validate failed: {lines[-1] if lines else 'exit ' + str(result.returncode)}"]
    return []


def verify_bundle(bundle: Path, *, wacz_validate: bool = True) -> list[str]:
    """Every problem with a case bundle, one line each naming the file; empty when it holds up."""
    if not bundle.is_dir():
        return [f"{bundle}: not a directory"]
    manifest, problems = check_manifest(bundle)
    if manifest is None:
        return problems
    for name in sorted(manifest["files"]):
        path = bundle / name
        if name.endswith(".wacz") and _safe_member(name) and path.is_file():
            problems += check_wacz(path, name)
            if wacz_validate:
                problems += run_wacz_validate(path, name)
    return problems
