"""The SDK's calls about namespaces and the keys they trust to sign models. ``Client`` has
them all; each answers the ``cairn.wire.namespaces`` record its route declares."""

from __future__ import annotations

from cairn.client.http import Http
from cairn.wire import paths
from cairn.wire.namespaces import Namespace, NamespaceKey


class NamespaceCalls:
    http: Http

    def create_namespace(self, name: str, description: str = "") -> Namespace:
        """Create a namespace, a team's space for models:

        >>> cairn.create_namespace("risk", "credit risk models").created_at  # doctest: +SKIP
        datetime.datetime(2026, 3, 3, 14, 0, 12, tzinfo=TzInfo(0))
        """
        body = {"name": name, "description": description}
        return self.http.record(Namespace, "POST", paths.NAMESPACES, json=body)

    def namespaces(self) -> list[Namespace]:
        """The namespaces the caller may read, by name:

        >>> [ns.name for ns in cairn.namespaces()]  # doctest: +SKIP
        ['default', 'risk']
        """
        return self.http.records(Namespace, "GET", paths.NAMESPACES)

    def namespace(self, name: str) -> Namespace:
        """One namespace, with the fields its versions must carry and whether it requires
        signatures:

        >>> cairn.namespace("risk").require_signature  # doctest: +SKIP
        False
        """
        return self.http.record(Namespace, "GET", paths.namespace(name))

    def require_signature(self, namespace: str, required: bool = True) -> Namespace:
        """Refuse (or, ``required=False``, accept again) versions of ``namespace`` whose
        signature does not verify against its keys:

        >>> cairn.require_signature("risk").require_signature  # doctest: +SKIP
        True
        """
        body = {"require_signature": required}
        return self.http.record(Namespace, "PUT", paths.require_signature(namespace), json=body)

    def add_key(self, namespace: str, name: str, public_key: str) -> NamespaceKey:
        """Trust a public key (ECDSA, PEM) to sign the namespace's models:

        >>> pem = Path("release.pub").read_text()  # doctest: +SKIP
        >>> cairn.add_key("risk", "release", pem).fingerprint  # doctest: +SKIP
        'sha256:9f86d0…'
        """
        body = {"name": name, "public_key": public_key}
        return self.http.record(NamespaceKey, "POST", paths.namespace_keys(namespace), json=body)

    def keys(self, namespace: str) -> list[NamespaceKey]:
        """The keys the namespace trusts:

        >>> [k.name for k in cairn.keys("risk")]  # doctest: +SKIP
        ['release']
        """
        return self.http.records(NamespaceKey, "GET", paths.namespace_keys(namespace))

    def remove_key(self, namespace: str, name: str) -> None:
        """Stop trusting a key; versions it signed no longer verify:

        >>> cairn.remove_key("risk", "release")  # doctest: +SKIP
        """
        self.http.request("DELETE", paths.namespace_key(namespace, name))
