"""What a preset says about each Hub repository it loads from: revision, variant, files and their sizes.

    models:
      repos:
        h94/IP-Adapter:
          revision: 5c2eae7d8a9c3365ba4745f16b94eb0293e319d3   # a commit: an upstream edit changes nothing here
          variant: ""                                          # "fp16" where the repository publishes one
          files: {models/image_encoder/config.json: 1000, models/image_encoder/model.safetensors: 2528307200}

Every loader passes the revision and the variant (studio.models.hub); `models check` (studio.models.check)
reports the files with these sizes when the Hub is out of reach. A repository not listed is loaded at
`main` with no variant. Standard library only: the preset checks import it.
"""

from __future__ import annotations

from dataclasses import dataclass, field

from studio.errors import StudioError

UNPINNED = "main"


@dataclass(frozen=True)
class RepoPin:
    revision: str = UNPINNED
    variant: str = ""
    files: dict = field(default_factory=dict)  # path in the repository -> bytes
    note: str = ""

    @property
    def pinned(self) -> bool:
        return len(self.revision) == 40 and all(c in "0123456789abcdef" for c in self.revision)


def check_repos(repos: dict, where: str) -> None:
    """Refuse a malformed `models.repos` in one line naming the repository and the key."""
    for repo, entry in repos.items():
        if not isinstance(entry, dict):
            raise StudioError(f"{where}: models.repos.{repo} must be a mapping (revision, variant, files)")
        unknown = set(entry) - {"revision", "variant", "files", "note"}
        if unknown:
            raise StudioError(f"{where}: models.repos.{repo} has unknown key(s) {', '.join(sorted(unknown))} "
                              "(known: revision, variant, files, note)")
        revision = str(entry.get("revision", UNPINNED))
        if not revision or any(c.isspace() for c in revision):
            raise StudioError(f"{where}: models.repos.{repo}.revision {revision!r} must be a commit hash or a branch")
        if entry.get("variant", "") not in ("", "fp16"):
            raise StudioError(f"{where}: models.repos.{repo}.variant {entry['variant']!r} must be fp16 or empty")
        files = entry.get("files", {}) or {}
        if not isinstance(files, dict) or any(not isinstance(v, int) or v < 0 for v in files.values()):
            raise StudioError(f"{where}: models.repos.{repo}.files must map each file to its size in bytes")


def pin_of(preset, repo: str) -> RepoPin:
    entry = preset.models.repos.get(repo) or {}
    return RepoPin(revision=str(entry.get("revision", UNPINNED)), variant=entry.get("variant", "") or "",
                   files=dict(entry.get("files", {}) or {}), note=entry.get("note", "") or "")


def revision_of(preset, repo: str) -> str:
    return pin_of(preset, repo).revision


def variant_of(preset, repo: str) -> str | None:
    """The variant to ask the loaders for (None: the plain files)."""
    return pin_of(preset, repo).variant or None


def files_under(preset, repo: str, folder: str = "", only: tuple[str, ...] = ()) -> dict[str, int]:
    """The recorded files of `repo` in `folder` (its direct files only, '' = the top) or exactly `only`."""
    files = pin_of(preset, repo).files
    if only:
        return {path: files[path] for path in only if path in files}
    prefix = f"{folder.strip('/')}/" if folder else ""
    return {path: size for path, size in files.items()
            if path.startswith(prefix) and "/" not in path[len(prefix):]}
