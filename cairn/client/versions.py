"""The SDK's calls that read and label versions: resolve a reference, list, search, describe,
tag. ``Client`` has them all (pushing and pulling are ``Client``'s own); each answers the
``cairn.wire.versions`` record its route declares."""

from __future__ import annotations

from collections.abc import Iterator
from urllib.parse import quote

from cairn.client.http import Http
from cairn.domain.references import parse_model_reference, parse_reference
from cairn.wire import paths
from cairn.wire.versions import Version

OVERRIDE_HEADER = "Cairn-Override"


class VersionCalls:
    http: Http

    def get(self, ref: str, *, files: bool = True, override: str | None = None) -> Version:
        """The version a reference names, with its files:

        >>> v = cairn.get("risk/fraud@production")  # doctest: +SKIP
        >>> v.number, [f.path for f in v.files]  # doctest: +SKIP
        (7, ['config.json', 'weights.bin'])

        Its files are what a pull fetches, so a blocked version (a failed check) raises
        ``VersionBlocked`` unless ``override`` gives a reason (an admin's, audited);
        ``files=False`` answers for any version, and leaves ``files`` ``None``."""
        headers = {} if override is None else {OVERRIDE_HEADER: quote(override, safe="")}
        params = {"ref": ref, "files": str(files).lower()}
        return self.http.record(Version, "GET", paths.RESOLVE, params=params, headers=headers)

    def versions(self, model: str, *, page_size: int = 500) -> Iterator[Version]:
        """A model's versions, newest first, following pages as they are read:

        >>> [(v.number, v.state) for v in cairn.versions("risk/fraud")]  # doctest: +SKIP
        [(2, 'registered'), (1, 'production')]
        """
        ref = parse_model_reference(model)
        path = paths.model_versions(ref.namespace, ref.model)
        return map(Version.model_validate, self.http.pages(path, {"limit": page_size}))

    def search(self, filter: str, *, page_size: int = 100) -> Iterator[Version]:
        """Versions matching a filter (see the README's Search), newest first:

        >>> for v in cairn.search("name = 'fraud' AND metrics.auc >= 0.9"):  # doctest: +SKIP
        ...     print(v.ref, v.metrics["auc"])
        risk/fraud:7 0.93
        """
        params = {"filter": filter, "limit": page_size}
        return map(Version.model_validate, self.http.pages(paths.VERSIONS, params))

    def update_version(self, ref: str, description: str) -> Version:
        """Change a version's description (its files and metrics never change):

        >>> v = cairn.update_version("risk/fraud:7", "retrained in March")  # doctest: +SKIP
        >>> v.description  # doctest: +SKIP
        'retrained in March'
        """
        body = {"description": description}
        return self.http.record(Version, "PATCH", _version_path(ref), json=body)

    def delete_version(self, ref: str) -> None:
        """Delete a version (admins); its number is never given again:

        >>> cairn.delete_version("risk/fraud:3")  # doctest: +SKIP
        """
        self.http.request("DELETE", _version_path(ref))

    def tag(self, ref: str, key: str, value: str) -> None:
        """Tag a version (``ns/m:3``) or, given a bare model name, the model:

        >>> cairn.tag("risk/fraud:7", "reviewed", "yes")  # doctest: +SKIP
        >>> cairn.get("risk/fraud:7", files=False).tags  # doctest: +SKIP
        {'reviewed': 'yes'}
        """
        self.http.request("PUT", _tag_path(ref, key), json={"value": value})

    def untag(self, ref: str, key: str) -> None:
        """Remove a tag from a version or, given a bare model name, from the model:

        >>> cairn.untag("risk/fraud:7", "reviewed")  # doctest: +SKIP
        """
        self.http.request("DELETE", _tag_path(ref, key))


def _version_path(ref: str) -> str:
    return paths.version_of(parse_reference(ref))


def _tag_path(ref: str, key: str) -> str:
    parsed = parse_reference(ref)
    if ":" in ref.rpartition("/")[2] or "@" in ref:
        return paths.version_tag(parsed.namespace, parsed.model, paths.selector_of(parsed), key)
    return paths.model_tag(parsed.namespace, parsed.model, key)
