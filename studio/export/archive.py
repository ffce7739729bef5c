"""A project as one .zip (project.json and its media), and the careful way back in.

An archive may come from anyone, so `import_archive` trusts nothing in it: every member name is
checked (no absolute paths, drive letters, backslashes or `..`; no links, no special files), only the
files a project holds are unpacked (PROJECT_MEMBERS: an .html or .svg never lands where the studio
serves media), the number, the sizes and the compression ratio of the members are bounded (sizes are
counted while extracting, not taken from the header), project.json is validated by the project schema, and everything is written into a
temporary folder under the projects root that is renamed into place only when all of it is good.
An existing project is never replaced unless `overwrite=True`.
"""

from __future__ import annotations

import logging
import os
import re
import shutil
import stat
import tempfile
import zipfile
import zlib
from pathlib import Path, PurePosixPath

from studio.errors import StudioError
from studio.media.images import MAX_UPLOAD_BYTES
from studio.project.lock import project_lock
from studio.project.paths import atomic_path

logger = logging.getLogger(__name__)

MAX_MEMBERS = 10_000
MAX_MEMBER_BYTES = 2 * 1024**3  # 2 GiB: a long refined scene at 720p is a few hundred MB
MAX_TOTAL_BYTES = MAX_UPLOAD_BYTES  # what export writes, import (and the browser upload) takes back
MAX_PROJECT_JSON_BYTES = 16 * 1024**2
# Deflate reaches ~1000:1 on constant data; real frames and project text stay far below this. Small
# members are exempt (a short project.json of repeated keys compresses well and harms no one).
MAX_COMPRESSION_RATIO = 100
RATIO_EXEMPT_BYTES = 1024**2

# What a project folder holds (paths.py), as full-match patterns: nothing else is unpacked. Extend it
# here when a stage adds a kind of file. Every take of every chunk travels (scenes/<scene>/chunks/...);
# the version-1 names (chunk_003.*, takes/...) are still read, and moved into place on import.
_ID = r"[A-Za-z0-9][A-Za-z0-9_-]{0,63}"
PROJECT_MEMBERS = tuple(re.compile(pattern) for pattern in (
    r"project\.json",
    rf"entities/{_ID}\.png",
    rf"scenes/{_ID}/(image|anchor|refined_xt)\.png",
    rf"scenes/{_ID}/chunks/\d{{3}}/take_\d{{2,7}}\.(npz|mp4)",
    rf"scenes/{_ID}/draft\.takes\.json",
    rf"scenes/{_ID}/chunk_\d{{3}}\.(npz|mp4)",
    rf"scenes/{_ID}/(draft|refined)\.mp4",
    rf"scenes/{_ID}/takes/chunk_\d{{3}}/take_\d{{2,7}}\.(npz|mp4)",
    rf"export/{_ID}\.mp4",
    r"final\.mp4",
    r"timeline\.(otio|xml|fcpxml|edl)",  # studio.export.timeline.project_timeline
))


def is_project_member(name: str) -> bool:
    """Whether `name` (a relative posix path) is a file a project folder holds."""
    return any(pattern.fullmatch(name) for pattern in PROJECT_MEMBERS)
SKIPPED_NAMES = {"project.json.bak"}  # the backup of the exporting machine is not part of the project
STORED_SUFFIXES = {".mp4", ".png", ".jpg", ".jpeg", ".webp", ".ts"}  # already compressed


def _archive_members(project_dir: Path, zip_path: Path) -> list[Path]:
    """project.json and every media file under the project folder (no links, temp files or backups)."""
    members = []
    zip_resolved = zip_path.resolve()
    for path in sorted(project_dir.rglob("*")):
        relative = path.relative_to(project_dir)
        if path.is_symlink() or not path.is_file():
            continue
        if any(part.startswith(".") for part in relative.parts) or path.name in SKIPPED_NAMES:
            continue  # temp files being written (".name.XXXX.tmp") and hidden files
        if path.resolve() == zip_resolved or not is_project_member(relative.as_posix()):
            continue
        members.append(relative)
    return members


def export_archive(project_dir: Path, zip_path: Path) -> Path:
    """Write PROJECT as a zip (project.json + media) to `zip_path`, atomically; returns the path."""
    from studio.project.model import load_project
    from studio.project.paths import PROJECT_FILE

    project_dir, zip_path = Path(project_dir), Path(zip_path)
    load_project(project_dir)  # refuses a missing or corrupt project before anything is written
    if zip_path.suffix.lower() != ".zip":
        raise StudioError(f"archive {zip_path} must end in .zip")
    members = _archive_members(project_dir, zip_path)
    total = sum((project_dir / relative).stat().st_size for relative in members)
    if total > MAX_TOTAL_BYTES:
        raise StudioError(f"the project holds {total // 2**20} MB of files; an archive can hold "
                          f"{MAX_TOTAL_BYTES // 2**20} MB (the import limit): delete refined videos or takes first")
    with atomic_path(zip_path, suffix=".zip.tmp") as tmp, zipfile.ZipFile(tmp, "w") as archive:
        archive.write(project_dir / PROJECT_FILE, PROJECT_FILE, compress_type=zipfile.ZIP_DEFLATED)
        for relative in members:
            if relative.as_posix() == PROJECT_FILE:
                continue
            compression = zipfile.ZIP_STORED if relative.suffix.lower() in STORED_SUFFIXES else zipfile.ZIP_DEFLATED
            archive.write(project_dir / relative, relative.as_posix(), compress_type=compression)
    logger.info("archived %s -> %s", project_dir, zip_path)
    return zip_path


def check_member(info: zipfile.ZipInfo) -> str | None:
    """The member's safe relative name, None for a directory entry; StudioError for anything unsafe."""
    name = info.filename
    if not name or "\x00" in name or "\\" in name or ":" in name:
        raise StudioError(f"archive member {name!r} has an unsafe name; this archive is refused")
    if name.startswith("/"):
        raise StudioError(f"archive member {name!r} is an absolute path; this archive is refused")
    parts = PurePosixPath(name).parts
    if ".." in parts:
        raise StudioError(f"archive member {name!r} points outside the project (..); this archive is refused")
    # Unix mode bits (high 16 bits of external_attr); the file type part may be 0 (plain writestr).
    file_type = stat.S_IFMT(info.external_attr >> 16)
    if file_type == stat.S_IFLNK:
        raise StudioError(f"archive member {name!r} is a link; this archive is refused")
    if info.is_dir():
        return None
    if file_type and file_type != stat.S_IFREG:
        raise StudioError(f"archive member {name!r} is not a regular file; this archive is refused")
    if info.file_size > MAX_MEMBER_BYTES:
        raise StudioError(f"archive member {name!r} is {info.file_size} bytes; the limit is {MAX_MEMBER_BYTES}")
    if info.file_size > RATIO_EXEMPT_BYTES and info.file_size > MAX_COMPRESSION_RATIO * max(info.compress_size, 1):
        raise StudioError(f"archive member {name!r} expands {info.file_size // max(info.compress_size, 1)} times "
                          f"(the limit is {MAX_COMPRESSION_RATIO}); it looks like a zip bomb, so this archive is refused")
    return PurePosixPath(*parts).as_posix()


def _checked_members(archive: zipfile.ZipFile) -> list[tuple[zipfile.ZipInfo, str]]:
    infos = archive.infolist()
    if len(infos) > MAX_MEMBERS:
        raise StudioError(f"archive has {len(infos)} members; the limit is {MAX_MEMBERS}")
    members, seen, total = [], set(), 0
    for info in infos:
        name = check_member(info)
        if name is None:
            continue
        if name in seen:
            raise StudioError(f"archive member {name!r} appears twice; this archive is refused")
        seen.add(name)
        if not is_project_member(name):
            logger.warning("archive member %r is not a file a project holds; it is not unpacked", name)
            continue
        total += info.file_size
        if total > MAX_TOTAL_BYTES:
            raise StudioError(f"archive unpacks to more than {MAX_TOTAL_BYTES} bytes; the limit is {MAX_TOTAL_BYTES}")
        members.append((info, name))
    return members


def _extract(archive: zipfile.ZipFile, info: zipfile.ZipInfo, target: Path) -> None:
    """Copy one member, counting bytes: a header that lies about the size cannot overrun the limit."""
    limit = min(info.file_size, MAX_MEMBER_BYTES)
    written = 0
    target.parent.mkdir(parents=True, exist_ok=True)
    try:
        with archive.open(info) as source, open(target, "xb") as sink:
            while block := source.read(1024 * 1024):
                written += len(block)
                if written > limit:
                    raise StudioError(f"archive member {info.filename!r} is larger than its header says; this archive is refused")
                sink.write(block)
    except (zipfile.BadZipFile, zlib.error, EOFError) as error:
        # zipfile stops at the declared size, so a lying header usually ends here, as a bad CRC.
        raise StudioError(f"archive member {info.filename!r} is corrupt ({error}); this archive is refused") from None


def _read_project(archive: zipfile.ZipFile, members: list[tuple[zipfile.ZipInfo, str]]):
    from studio.project.model import project_from_dict
    from studio.project.paths import PROJECT_FILE

    info = next((info for info, name in members if name == PROJECT_FILE), None)
    if info is None:
        raise StudioError(f"archive has no {PROJECT_FILE}; it is not a StreamStudio project archive")
    if info.file_size > MAX_PROJECT_JSON_BYTES:
        raise StudioError(f"{PROJECT_FILE} in the archive is {info.file_size} bytes; the limit is {MAX_PROJECT_JSON_BYTES}")
    from studio.project.json_input import parse_project_json

    with archive.open(info) as handle:
        raw = handle.read(MAX_PROJECT_JSON_BYTES + 1)
    try:
        text = raw.decode("utf-8")
    except UnicodeDecodeError as error:
        raise StudioError(f"{PROJECT_FILE} in the archive is not UTF-8 text ({error})") from None
    data = parse_project_json(text, f"{PROJECT_FILE} in the archive")
    return project_from_dict(data), data


def import_archive(zip_path: Path, projects_root: Path, project_id: str | None = None, *,
                   overwrite: bool = False) -> Path:
    """Unpack a project archive into PROJECTS_ROOT/<id> (the archive's id unless `project_id` is given)."""
    from studio.project.paths import project_dir_for, resolve_inside, validate_id

    zip_path, projects_root = Path(zip_path), Path(projects_root)
    if not zip_path.is_file():
        raise StudioError(f"archive {zip_path} does not exist")
    try:
        archive = zipfile.ZipFile(zip_path)
    except (zipfile.BadZipFile, OSError) as error:
        raise StudioError(f"{zip_path} is not a zip archive ({error})") from None
    with archive:
        # 1. Every name, kind and size, before anything touches the disk.
        members = _checked_members(archive)
        project, data = _read_project(archive, members)
        if project_id is not None:
            project.id = validate_id(project_id, "project id")
        target = project_dir_for(projects_root, project.id)
        if target.exists() and not overwrite:
            raise StudioError(f"project {project.id!r} already exists in {projects_root}; import it under another id or allow overwriting")
        # 2. Unpack into a temporary folder beside the target, confined to it.
        projects_root.mkdir(parents=True, exist_ok=True)
        staging = Path(tempfile.mkdtemp(prefix=f".import-{project.id}.", dir=projects_root))
        try:
            for info, name in members:
                if name == "project.json" or name in SKIPPED_NAMES:
                    continue
                try:
                    _extract(archive, info, resolve_inside(staging, name))
                except OSError as error:  # names that collide on this file system; the message keeps our paths private
                    raise StudioError(f"archive member {name!r} cannot be unpacked ({error.strerror or type(error).__name__}); "
                                      "this archive is refused") from None
            _write_project(project, data, staging)
            _report_missing_media(staging)
            # 3. Swap it into place.
            if target.exists():
                old = Path(tempfile.mkdtemp(prefix=f".replaced-{project.id}.", dir=projects_root))
                with project_lock(target):  # no save of the project being replaced lands half way
                    os.replace(target, old / "project")
                    os.replace(staging, target)
                shutil.rmtree(old, ignore_errors=True)
            else:
                os.replace(staging, target)
        finally:
            if staging.exists():
                shutil.rmtree(staging, ignore_errors=True)
    logger.info("imported %s -> %s", zip_path, target)
    return target


def _write_project(project, data: dict, staging: Path) -> None:
    """project.json into the unpacked folder, with the (possibly new) id; a version-1 project's chunk versions
    are moved to the paths of ids first. No path in the archive's records is ever followed."""
    import json

    from studio.project.layout import migrate_layout, needs_migration
    from studio.project.model import save_project
    from studio.project.paths import PROJECT_FILE, atomic_write_text

    if needs_migration(data):
        atomic_write_text(staging / PROJECT_FILE, json.dumps({**data, "id": project.id}))
        migrate_layout(staging)
    else:
        save_project(project, staging)  # validated, without any path the archive's records held


def _report_missing_media(project_dir: Path) -> None:
    """Open the unpacked project (takes no record names are dropped, drafts rebuilt) and log the chunk
    versions its records name but the archive lacks (the project still opens; generation remakes them)."""
    from studio.project.layout import open_project
    from studio.project.paths import ProjectPaths

    project = open_project(project_dir)
    paths = ProjectPaths(project_dir)
    for scene in project.script.scenes:
        for chunk in scene.chunks:
            for number in [chunk.take, *(take.number for take in chunk.takes)]:
                if not paths.take_frames(scene.id, chunk.index, number).is_file():
                    logger.warning("imported project %s: take %d of chunk %d of scene %s is not in the archive",
                                   project.id, number, chunk.index, scene.id)
