"""The OCI Distribution API under ``/v2/``: ``auth`` (who is calling, the token endpoint),
``manifests`` (manifests, tags, referrers), ``blobs`` (blobs and uploads), ``errors``."""
