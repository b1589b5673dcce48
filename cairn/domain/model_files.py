"""What a model's own files say about it, read from their bytes: pure functions, no I/O.

A version's folder often describes itself: an MLflow model folder's ``MLmodel`` holds its
signature (the inputs and outputs) and flavour, its ``requirements.txt``, ``python_env.yaml``
or ``conda.yaml`` the environment it runs in; a Hugging Face folder's ``config.json`` names
its architecture; a safetensors file's header lists every tensor's dtype and shape. These
readers turn such bytes into Cairn's metadata (``cairn.domain.derived`` merges them with what
the user said). They never refuse: a file that does not parse says nothing.

Reading is bounded by the caller: only the files ``wanted`` names are read, small files whole
(at most ``SMALL_FILE_MAX`` bytes), safetensors files for their header only.
"""

from __future__ import annotations

import json
import math
import re
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from pathlib import PurePosixPath
from typing import Any

import yaml

from cairn.domain.manifest import FileEntry

SMALL_FILE_MAX = 1 << 20  # an MLmodel, a requirements file, a config.json
HEADER_MAX = 16 << 20  # a safetensors header read for its dtypes and shapes
HEADERS_TOTAL_MAX = 64 << 20  # all headers of a version together
SAFETENSORS_MAX = 256  # shards whose headers are read
PARAMETERS_MAX = 2**63 - 1  # a tensor's (or a stated) parameter count above this says nothing
MLMODEL = "MLmodel"
ENV_FILES = ("requirements.txt", "python_env.yaml", "conda.yaml")
HF_CONFIG = "config.json"
CARD_FILES = ("MODEL_CARD.md", "README.md")
# safetensors dtypes as the names frameworks use for a model's precision.
PRECISION = {
    "BOOL": "bool",
    "U8": "uint8",
    "I8": "int8",
    "I16": "int16",
    "U16": "uint16",
    "F16": "float16",
    "BF16": "bfloat16",
    "I32": "int32",
    "U32": "uint32",
    "F32": "float32",
    "F64": "float64",
    "I64": "int64",
    "U64": "uint64",
    "F8_E4M3": "float8_e4m3",
    "F8_E5M2": "float8_e5m2",
}
FORMAT_BY_SUFFIX = {
    ".safetensors": "safetensors",
    ".gguf": "gguf",
    ".onnx": "onnx",
    ".pt": "pytorch",
    ".pth": "pytorch",
    ".h5": "keras",
    ".keras": "keras",
    ".pb": "tensorflow",
    ".joblib": "joblib",
    ".pkl": "pickle",
}
_REQUIREMENT = re.compile(r"^([A-Za-z0-9][A-Za-z0-9._-]*)(\[[^\]]*\])?\s*(.*)$")


@dataclass(frozen=True, slots=True)
class Wanted:
    """The files of a version that metadata is derived from, found by name."""

    mlmodel: FileEntry | None  # the shallowest ``MLmodel``
    environment: tuple[FileEntry, ...]  # beside it (or at the root), in ``ENV_FILES`` order
    hf_config: FileEntry | None  # the shallowest ``config.json``
    card: FileEntry | None  # the shallowest ``MODEL_CARD.md`` or ``README.md``
    safetensors: tuple[FileEntry, ...]  # their headers only

    def small(self) -> list[FileEntry]:
        """The files to read whole: those not over ``SMALL_FILE_MAX`` bytes."""
        named = [self.mlmodel, *self.environment, self.hf_config]
        return [f for f in named if f is not None and f.size <= SMALL_FILE_MAX]


def wanted(files: Sequence[FileEntry]) -> Wanted:
    """Which of ``files`` to read, by name and depth (the shallowest of a name wins)."""
    mlmodel = _shallowest(files, (MLMODEL,))
    folder = PurePosixPath(mlmodel.path).parent if mlmodel else PurePosixPath(".")
    by_path = {f.path: f for f in files}
    environment = tuple(
        by_path[p] for p in (_join(folder, name) for name in ENV_FILES) if p in by_path
    )
    tensors = sorted(
        (f for f in files if f.path.endswith(".safetensors") and f.size >= 8),
        key=lambda f: f.path,
    )
    return Wanted(
        mlmodel=mlmodel,
        environment=environment,
        hf_config=_shallowest(files, (HF_CONFIG,)),
        card=_shallowest(files, CARD_FILES),
        safetensors=tuple(tensors[:SAFETENSORS_MAX]),
    )


def _join(folder: PurePosixPath, name: str) -> str:
    return name if str(folder) == "." else f"{folder}/{name}"


def _shallowest(files: Sequence[FileEntry], names: tuple[str, ...]) -> FileEntry | None:
    found = [f for f in files if PurePosixPath(f.path).name in names]
    if not found:
        return None
    return min(found, key=lambda f: (f.path.count("/"), names.index(PurePosixPath(f.path).name)))


# ---------------------------------------------------------------------------- MLflow


@dataclass(frozen=True, slots=True)
class MlflowModel:
    """What an ``MLmodel`` file says: the schema, the flavour and the Python it was saved with."""

    schema: dict[str, Any]
    flavor: str | None
    loader: str | None
    framework_version: str | None
    python: str | None
    mlflow_version: str | None


def read_mlmodel(data: bytes) -> MlflowModel | None:
    """The ``MLmodel`` file's facts, or None if it is not one."""
    doc = _yaml(data)
    if doc is None:
        return None
    flavors = doc.get("flavors")
    flavors = flavors if isinstance(flavors, dict) else {}
    pyfunc = flavors.get("python_function")
    pyfunc = pyfunc if isinstance(pyfunc, dict) else {}
    own = [k for k in flavors if isinstance(k, str) and k != "python_function"]
    flavor = own[0] if own else ("python_function" if pyfunc else None)
    conf = flavors.get(flavor) if flavor else None
    version = _framework_version(flavor, conf) if flavor and isinstance(conf, dict) else None
    signature = doc.get("signature")
    return MlflowModel(
        schema=_signature_schema(signature) if isinstance(signature, dict) else {},
        flavor=flavor,
        loader=_text(pyfunc.get("loader_module")),
        framework_version=version,
        python=_text(pyfunc.get("python_version")),
        mlflow_version=_text(doc.get("mlflow_version")),
    )


def _framework_version(flavor: str, conf: Mapping[str, Any]) -> str | None:
    """``sklearn_version`` for ``sklearn``; else the one ``*_version`` that is not Python's or
    cloudpickle's (``xgb_version`` for ``xgboost``)."""
    if f"{flavor}_version" in conf:
        return _text(conf[f"{flavor}_version"])
    for key, value in conf.items():
        if isinstance(key, str) and key.endswith("_version") and key not in _NOT_FRAMEWORK:
            return _text(value)
    return None


_NOT_FRAMEWORK = {"python_version", "cloudpickle_version", "mlflow_version"}


def _signature_schema(signature: Mapping[str, Any]) -> dict[str, Any]:
    """MLflow's signature (``inputs``/``outputs``: JSON text of column or tensor specs) as
    Cairn's schema: a column is its name and type, a tensor its name, dtype and shape."""
    out: dict[str, Any] = {}
    for side in ("inputs", "outputs"):
        raw = signature.get(side)
        if isinstance(raw, str):
            raw = _json(raw)
        if isinstance(raw, list):
            specs = [s for s in (_spec(item) for item in raw) if s is not None]
            if specs:
                out[side] = specs
    return out


def _spec(item: object) -> dict[str, Any] | None:
    if not isinstance(item, dict):
        return None
    spec: dict[str, Any] = {}
    if isinstance(item.get("name"), str):
        spec["name"] = item["name"]
    if item.get("type") == "tensor" and isinstance(item.get("tensor-spec"), dict):
        tensor = item["tensor-spec"]
        dtype, shape = tensor.get("dtype"), tensor.get("shape")
        if not isinstance(dtype, str):
            return None
        spec["type"] = dtype
        if isinstance(shape, list) and all(type(d) is int and d >= -1 for d in shape):
            spec["shape"] = shape
        return spec
    kind = item.get("type")
    if not isinstance(kind, str) or not kind:
        return None
    spec["type"] = kind
    return spec


# ---------------------------------------------------------------------------- environments


def read_environment(name: str, data: bytes) -> dict[str, Any]:
    """The Python version and packages an environment file states (``requirements.txt``,
    ``python_env.yaml``, ``conda.yaml``), as ``provenance.environment``; {} if none."""
    base = PurePosixPath(name).name
    if base.endswith(".txt"):
        listed = _requirements(_lines(data))
        return {"packages": listed} if listed else {}
    doc = _yaml(data)
    if doc is None:
        return {}
    env: dict[str, Any] = {}
    packages: dict[str, str] = {}
    if base == "python_env.yaml":
        if _text(doc.get("python")):
            env["python"] = _text(doc.get("python"))
        deps = doc.get("dependencies")
        if isinstance(deps, list):
            packages.update(_requirements([d for d in deps if isinstance(d, str)]))
    else:  # conda: "python=3.11.5", "pip", {"pip": [...]}
        for dep in doc.get("dependencies") or []:
            if isinstance(dep, str) and re.match(r"^python\s*[=<>]", dep):
                env["python"] = re.sub(r"^python\s*=*\s*", "", dep)
            elif isinstance(dep, str):
                packages.update(_requirements([re.sub(r"^([^=<>!~\s]+)=(?=[^=])", r"\1==", dep)]))
            elif isinstance(dep, dict) and isinstance(dep.get("pip"), list):
                packages.update(_requirements([d for d in dep["pip"] if isinstance(d, str)]))
    if packages:
        env["packages"] = packages
    return env


def _lines(data: bytes) -> list[str]:
    try:
        text = data.decode("utf-8-sig")
    except UnicodeDecodeError:
        return []
    return [line.split(" #")[0].strip() for line in text.splitlines()]


def _requirements(lines: Sequence[str]) -> dict[str, str]:
    """``name==1.2`` as ``{"name": "1.2"}``, another specifier as itself (``">=1.2"``), a bare
    name as ``""``; options (``-r``, ``--index-url``), URLs and comments are skipped."""
    out: dict[str, str] = {}
    for line in lines:
        line = line.strip()
        if not line or line.startswith(("#", "-")) or "://" in line:
            continue
        found = _REQUIREMENT.match(line.split(";")[0].strip())
        if found is None:
            continue
        name, spec = found.group(1).lower(), found.group(3).strip()
        if len(name) > 250 or len(spec) > 4096:
            continue
        out[name] = spec[2:].strip() if spec.startswith("==") and "," not in spec else spec
    return out


# ---------------------------------------------------------------------------- Hugging Face


@dataclass(frozen=True, slots=True)
class HfConfig:
    architecture: str | None
    model_type: str | None
    parameters: int | None
    precision: str | None


def read_hf_config(data: bytes) -> HfConfig | None:
    """A Hugging Face ``config.json``: ``architectures[0]``, ``model_type``, the parameter
    count where the file states one, and ``torch_dtype``."""
    doc = _json(data)
    if not isinstance(doc, dict):
        return None
    archs = doc.get("architectures")
    stated = next(
        (doc[k] for k in ("num_parameters", "n_parameters", "num_params") if k in doc), None
    )
    return HfConfig(
        architecture=_text(archs[0]) if isinstance(archs, list) and archs else None,
        model_type=_text(doc.get("model_type")),
        parameters=stated if type(stated) is int and 0 < stated <= PARAMETERS_MAX else None,
        precision=_text(doc.get("torch_dtype") or doc.get("dtype")),
    )


# ---------------------------------------------------------------------------- safetensors


def safetensors_header_length(prefix: bytes, size: int) -> int | None:
    """The header length the first 8 bytes state, if the header fits the file and the cap."""
    if len(prefix) < 8:
        return None
    length = int.from_bytes(prefix[:8], "little")
    return length if 2 <= length <= min(HEADER_MAX, size - 8) else None


def read_safetensors_header(header: bytes) -> dict[str, int] | None:
    """Parameters by dtype, from a safetensors header (the JSON after the 8-byte length)."""
    doc = _json(header)
    if not isinstance(doc, dict):
        return None
    counts: dict[str, int] = {}
    for name, tensor in doc.items():
        if name == "__metadata__" or not isinstance(tensor, dict):
            continue
        dtype, shape = tensor.get("dtype"), tensor.get("shape")
        if not isinstance(dtype, str) or not isinstance(shape, list):
            return None
        elements = _elements(shape)
        if elements is None:
            return None
        counts[dtype] = counts.get(dtype, 0) + elements
    return counts


def _elements(shape: list[Any]) -> int | None:
    """A tensor's element count, None unless each dimension is a count and the product (of
    at most 64 dimensions) stays within ``PARAMETERS_MAX``: nothing huge is multiplied out."""
    if len(shape) > 64 or not all(type(d) is int and 0 <= d <= PARAMETERS_MAX for d in shape):
        return None
    elements = math.prod(shape)
    return elements if elements <= PARAMETERS_MAX else None


def precision_of(counts: Mapping[str, int]) -> str | None:
    """The dtype most parameters have, as frameworks name it."""
    if not counts:
        return None
    dtype = max(sorted(counts), key=lambda d: counts[d])
    return PRECISION.get(dtype, dtype.lower())


def weights_format(files: Sequence[FileEntry]) -> str | None:
    """The weights' format, from the largest file whose suffix names one."""
    named = [f for f in files if PurePosixPath(f.path).suffix.lower() in FORMAT_BY_SUFFIX]
    if not named:
        return None
    largest = max(named, key=lambda f: (f.size, f.path))
    return FORMAT_BY_SUFFIX[PurePosixPath(largest.path).suffix.lower()]


def param_size(count: int) -> str:
    """A parameter count as ModelPack writes it: ``8b``, ``124m``, ``1.5k``."""
    for unit, scale in (("t", 10**12), ("b", 10**9), ("m", 10**6), ("k", 10**3)):
        if count >= scale:
            return f"{count / scale:.3g}{unit}"
    return str(count)


# ---------------------------------------------------------------------------- helpers


class _PlainLoader(yaml.SafeLoader):
    """YAML's safe loader without aliases: none of the files read uses them, and a few bytes
    of ``*alias`` repeated would stand for gigabytes once the document is walked."""

    def compose_node(self, parent: Any, index: Any) -> Any:
        if self.check_event(yaml.AliasEvent):
            raise yaml.YAMLError("aliases are not read")
        return super().compose_node(parent, index)


def _yaml(data: bytes) -> dict[str, Any] | None:
    try:
        doc = yaml.load(data.decode("utf-8-sig"), Loader=_PlainLoader)  # noqa: S506
    except (yaml.YAMLError, UnicodeDecodeError, RecursionError):
        return None
    return doc if isinstance(doc, dict) else None


def _json(data: bytes | str) -> Any:
    """The JSON document, or None if it is not one (too deeply nested included)."""
    try:
        return json.loads(data)
    except (ValueError, RecursionError):
        return None


def _text(value: object) -> str | None:
    if isinstance(value, bool) or value is None:
        return None
    if isinstance(value, int | float | str):
        text = str(value).strip()
        return text[:250] if text else None
    return None
