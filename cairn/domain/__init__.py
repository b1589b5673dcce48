"""Plain values and pure rules: names, references, digests, manifests, metadata, filters."""
