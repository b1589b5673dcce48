"""The readers of a model's own files: MLmodel, environment files, config.json, safetensors
headers; and how what they derive joins what the user said (explicit wins)."""

from __future__ import annotations

import json
import struct
from typing import Any

from cairn.domain import model_files as mf
from cairn.domain.derived import Derived, card_path, derive, derived_model, with_derived
from cairn.domain.digests import digest_bytes
from cairn.domain.manifest import FileEntry
from cairn.domain.oci_views import modelpack_config
from cairn.domain.registrations import parse_metadata

# As MLflow 3 writes them (mlflow.sklearn.save_model with a signature).
MLMODEL = b"""\
artifact_path: model
flavors:
  python_function:
    env:
      conda: conda.yaml
      virtualenv: python_env.yaml
    loader_module: mlflow.sklearn
    model_path: model.pkl
    predict_fn: predict
    python_version: 3.11.7
  sklearn:
    code: null
    pickled_model: model.pkl
    serialization_format: cloudpickle
    sklearn_version: 1.5.2
mlflow_version: 3.17.2
signature:
  inputs: '[{"type": "double", "name": "sepal length", "required": true}, {"type": "string",
    "name": "kind", "required": false}]'
  outputs: '[{"type": "tensor", "tensor-spec": {"dtype": "float64", "shape": [-1, 3]}}]'
  params: null
"""
PYTHON_ENV = b"""\
python: 3.11.7
build_dependencies:
- pip==23.2.1
dependencies:
- -r requirements.txt
"""
REQUIREMENTS = b"mlflow==3.17.2\nscikit-learn==1.5.2\n# a comment\nnumpy>=1.26,<3\n"
CONDA = b"""\
channels: [conda-forge]
dependencies:
- python=3.10.4
- pip<=23.2.1
- pip:
  - torch==2.4.0
name: mlflow-env
"""


def entry(path: str, data: bytes) -> FileEntry:
    return FileEntry(path, len(data), digest_bytes(data))


def safetensors(tensors: dict[str, tuple[str, list[int]]]) -> bytes:
    header: dict[str, Any] = {"__metadata__": {"format": "pt"}}
    offset = 0
    for name, (dtype, shape) in tensors.items():
        size = 2  # the data is not read: any offsets do
        header[name] = {"dtype": dtype, "shape": shape, "data_offsets": [offset, offset + size]}
        offset += size
    raw = json.dumps(header).encode()
    return struct.pack("<Q", len(raw)) + raw + b"\0" * offset


def derive_from(files: dict[str, bytes]) -> Derived:
    """``derive`` over ``files`` read as the server reads them (small files whole, headers)."""
    entries = [entry(p, d) for p, d in files.items()]
    found = mf.wanted(entries)
    small = {f.path: files[f.path] for f in found.small()}
    tensors = {}
    for f in found.safetensors:
        length = mf.safetensors_header_length(files[f.path][:8], f.size)
        assert length is not None
        counts = mf.read_safetensors_header(files[f.path][8 : 8 + length])
        assert counts is not None
        tensors[f.path] = counts
    return derive(entries, small, tensors)


def test_an_mlmodel_gives_its_signature_flavour_and_python() -> None:
    found = mf.read_mlmodel(MLMODEL)
    assert found is not None
    assert found.schema == {
        "inputs": [{"name": "sepal length", "type": "double"}, {"name": "kind", "type": "string"}],
        "outputs": [{"type": "float64", "shape": [-1, 3]}],
    }
    assert (found.flavor, found.loader, found.framework_version) == (
        "sklearn",
        "mlflow.sklearn",
        "1.5.2",
    )
    assert (found.python, found.mlflow_version) == ("3.11.7", "3.17.2")


def test_files_that_are_not_what_their_name_says_say_nothing() -> None:
    assert mf.read_mlmodel(b"[1, 2]") is None
    assert mf.read_mlmodel(b"\xff\xfe") is None
    assert mf.read_mlmodel(b"a: [unclosed") is None
    assert mf.read_mlmodel(b"signature: {inputs: 'not json'}").schema == {}  # type: ignore[union-attr]
    assert mf.read_hf_config(b"{not json") is None
    assert mf.read_environment("conda.yaml", b"- a list") == {}
    assert mf.read_environment("requirements.txt", b"# nothing\n-r other.txt\n") == {}
    assert mf.read_safetensors_header(b'{"w": {"dtype": "F32", "shape": [-2]}}') is None
    assert mf.safetensors_header_length(struct.pack("<Q", 10**12), 100) is None  # past the file
    assert mf.safetensors_header_length(b"\x01", 100) is None


def test_environment_files_give_python_and_packages() -> None:
    assert mf.read_environment("requirements.txt", REQUIREMENTS) == {
        "packages": {"mlflow": "3.17.2", "scikit-learn": "1.5.2", "numpy": ">=1.26,<3"}
    }
    assert mf.read_environment("m/python_env.yaml", PYTHON_ENV) == {"python": "3.11.7"}
    assert mf.read_environment("conda.yaml", CONDA) == {
        "python": "3.10.4",
        "packages": {"pip": "<=23.2.1", "torch": "2.4.0"},
    }


def test_an_mlflow_folder_fills_schema_environment_and_tags() -> None:
    derived = derive_from(
        {
            "model/MLmodel": MLMODEL,
            "model/python_env.yaml": PYTHON_ENV,
            "model/requirements.txt": REQUIREMENTS,
            "model/model.pkl": b"\x80\x04N.",
            "requirements.txt": b"not-this==0\n",  # beside another MLmodel's folder: not read
        }
    )
    assert derived.schema["inputs"][0] == {"name": "sepal length", "type": "double"}
    assert derived.environment == {
        "python": "3.11.7",
        "packages": {"mlflow": "3.17.2", "scikit-learn": "1.5.2", "numpy": ">=1.26,<3"},
    }
    assert derived.tags["model.flavor"] == "sklearn"
    assert derived.tags["model.loader"] == "mlflow.sklearn"
    assert derived.tags["model.framework_version"] == "1.5.2"
    assert derived.tags["model.format"] == "pickle"
    assert derived.sources == {
        "schema": "model/MLmodel",
        "provenance.environment": "model/requirements.txt, model/python_env.yaml",
    }


def test_a_hugging_face_folder_gives_architecture_parameters_and_precision() -> None:
    config = {"architectures": ["LlamaForCausalLM"], "model_type": "llama", "torch_dtype": "f"}
    shards = {
        "model-00001-of-00002.safetensors": safetensors(
            {"embed": ("BF16", [1000, 64]), "norm": ("F32", [64])}
        ),
        "model-00002-of-00002.safetensors": safetensors({"head": ("BF16", [64, 1000])}),
    }
    derived = derive_from({"config.json": json.dumps(config).encode(), **shards})
    assert derived.model == {
        "architecture": "LlamaForCausalLM",
        "model_type": "llama",
        "parameters": 128_064,  # the weights' own count outranks the config's
        "precision": "bfloat16",
        "format": "safetensors",
    }
    assert derived.tags["model.parameters"] == "128064"
    meta = with_derived(parse_metadata(), derived)
    assert modelpack_config(meta.provenance) == {
        "architecture": "LlamaForCausalLM",
        "format": "safetensors",
        "paramSize": "128k",
        "precision": "bfloat16",
    }


def test_a_stated_parameter_count_is_used_when_no_weights_say_otherwise() -> None:
    config = {"architectures": ["BertModel"], "num_parameters": 110_000_000}
    derived = derive_from({"config.json": json.dumps(config).encode()})
    assert derived.model["parameters"] == 110_000_000
    assert mf.param_size(110_000_000) == "110m"
    assert mf.param_size(8_030_000_000) == "8.03b"
    assert mf.param_size(12) == "12"


def test_what_the_user_says_wins_and_what_was_derived_is_marked() -> None:
    derived = derive_from({"MLmodel": MLMODEL, "requirements.txt": REQUIREMENTS})
    given = parse_metadata(
        schema={"inputs": [{"name": "x", "type": "float32"}]},
        tags={"model.flavor": "mine"},
        provenance={"code": {"commit": "abcdef1"}},
    )
    meta = with_derived(given, derived)
    assert meta.schema == {"inputs": [{"name": "x", "type": "float32"}], "outputs": []}
    assert meta.tags["model.flavor"] == "mine"
    assert meta.tags["model.loader"] == "mlflow.sklearn"
    assert meta.provenance["code"] == {"commit": "abcdef1"}
    assert meta.provenance["environment"]["packages"]["scikit-learn"] == "1.5.2"
    note = meta.provenance["extra"]["derived"]
    assert "schema" not in note["fields"] and "tags.model.flavor" not in note["fields"]
    assert "provenance.environment" in note["fields"]
    assert note["from"]["provenance.environment"] == "requirements.txt, MLmodel"
    assert derived_model(meta.provenance)["flavor"] == "sklearn"

    stated_env = parse_metadata(provenance={"environment": {"python": "3.9"}})
    assert with_derived(stated_env, derived).provenance["environment"] == {"python": "3.9"}


def test_a_folder_with_nothing_to_say_is_left_alone() -> None:
    given = parse_metadata(description="plain")
    assert with_derived(given, derive_from({"data.csv": b"a,b\n"})) is given
    carded = with_derived(given, derive_from({"data.csv": b"", "docs/README.md": b"# d"}))
    assert card_path(carded.provenance) == "docs/README.md"
    assert card_path(given.provenance) is None
    assert modelpack_config({}) == {}


def test_a_derived_note_the_request_brings_is_not_kept() -> None:
    claimed = {"derived": {"card": "weights.bin", "model": {"parameters": 70_000_000_000}}}
    given = parse_metadata(provenance={"extra": {"mine": 1, **claimed}})
    nothing = with_derived(given, derive_from({"data.csv": b"a,b\n"}))
    assert nothing.provenance["extra"] == {"mine": 1}
    assert card_path(nothing.provenance) is None and derived_model(nothing.provenance) == {}
    real = with_derived(given, derive_from({"MLmodel": MLMODEL}))
    assert real.provenance["extra"]["mine"] == 1
    assert card_path(real.provenance) is None
    assert derived_model(real.provenance)["flavor"] == "sklearn"
    only = parse_metadata(provenance={"extra": claimed})
    assert "extra" not in with_derived(only, derive_from({})).provenance


def test_the_card_is_the_shallowest_model_card_or_readme() -> None:
    files = [entry("docs/README.md", b"x"), entry("README.md", b"x"), entry("MODEL_CARD.md", b"x")]
    assert mf.wanted(files).card == files[2]
    assert mf.wanted(files[:2]).card == files[1]


def test_only_small_files_are_read_whole() -> None:
    big = FileEntry("MLmodel", mf.SMALL_FILE_MAX + 1, digest_bytes(b""))
    assert mf.wanted([big]).small() == []


def test_hostile_files_say_nothing_and_cost_little() -> None:
    """A file written to hurt the reader is read as saying nothing: JSON nested past Python's
    recursion limit, YAML aliases that would stand for gigabytes once walked (a schema of a
    thousand copies of a long name, a conda file whose pip list repeats), tensor shapes whose
    product is too large to write out, a stated parameter count past any model's."""
    deep = b"[" * 100_000
    assert mf.read_hf_config(deep) is None
    assert mf.read_safetensors_header(deep) is None
    deep_signature = b"signature: {inputs: '" + deep + b"'}"
    assert mf.read_mlmodel(deep_signature).schema == {}  # type: ignore[union-attr]
    spec = b"s: &s {name: " + b"x" * 1000 + b", type: string}\n"
    bomb = spec + b"signature: {inputs: [" + b", ".join([b"*s"] * 1000) + b"]}\n"
    assert mf.read_mlmodel(bomb) is None
    pip = b"p: &p {pip: [" + b", ".join([b"a"] * 1000) + b"]}\ndependencies: ["
    assert mf.read_environment("conda.yaml", pip + b", ".join([b"*p"] * 1000) + b"]") == {}
    huge = json.dumps({"w": {"dtype": "F32", "shape": [10**4000, 10**4000]}}).encode()
    assert mf.read_safetensors_header(huge) is None
    too_many = json.dumps({"w": {"dtype": "F32", "shape": [2**62, 4]}}).encode()
    assert mf.read_safetensors_header(too_many) is None
    config = mf.read_hf_config(json.dumps({"num_parameters": 10**400}).encode())
    assert config is not None and config.parameters is None
    assert modelpack_config({"extra": {"derived": {"model": {"parameters": 10**400}}}}) == {}
