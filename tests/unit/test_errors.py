import re

import pytest

from cairn import errors
from cairn.errors import CairnError, error_class_for

PUBLIC_CLASSES = {
    name: obj
    for name, obj in vars(errors).items()
    if isinstance(obj, type) and issubclass(obj, CairnError) and not name.startswith("_")
}
_TREE_LINE = re.compile(r"^(?P<prefix>[ │├└─]*)(?P<name>[A-Z][A-Za-z]*)\b")


def _walk(cls: type[CairnError]) -> list[type[CairnError]]:
    found = [cls]
    for sub in cls.__subclasses__():
        found.extend(_walk(sub))
    return found


def _docstring_tree() -> dict[str, str | None]:
    """Each class named in the module docstring's tree, mapped to its drawn parent."""
    doc = errors.__doc__
    assert doc is not None
    lines = doc.split("::", 1)[1].strip("\n").splitlines()
    parents: dict[str, str | None] = {}
    stack: list[str] = []
    for line in lines:
        match = _TREE_LINE.match(line)
        if match is None:
            continue
        depth = (len(match["prefix"]) - 4) // 4
        assert depth <= len(stack), f"tree skips a level at {line!r}"
        del stack[depth:]
        name = match["name"]
        assert name not in parents, f"{name} is drawn twice"
        parents[name] = stack[-1] if stack else None
        stack.append(name)
    return parents


def test_the_module_defines_the_expected_family_of_classes() -> None:
    assert {"CairnError", "InvalidInput", "NotFound", "Conflict", "DigestMismatch"} <= set(
        PUBLIC_CLASSES
    )


def test_every_error_in_the_module_is_reachable_from_the_root() -> None:
    in_module = {c.__name__ for c in _walk(CairnError) if c.__module__ == "cairn.errors"}
    assert in_module == set(PUBLIC_CLASSES)


def test_every_class_declares_its_own_code() -> None:
    for name, cls in PUBLIC_CLASSES.items():
        assert "code" in cls.__dict__, f"{name} inherits its code"
        assert re.fullmatch(r"[a-z]+(_[a-z]+)*", cls.code), name


def test_codes_are_unique() -> None:
    codes = [cls.code for cls in PUBLIC_CLASSES.values()]
    assert len(codes) == len(set(codes))


@pytest.mark.parametrize("cls", sorted(PUBLIC_CLASSES.values(), key=lambda c: c.__name__))
def test_error_class_for_round_trips_every_code(cls: type[CairnError]) -> None:
    assert error_class_for(cls.code) is cls


def test_error_class_for_an_unknown_code_is_the_root() -> None:
    assert error_class_for("no_such_code") is CairnError
    assert error_class_for("") is CairnError
    assert error_class_for("MODEL_NOT_FOUND") is CairnError


def test_all_lists_exactly_the_public_classes_and_error_class_for() -> None:
    assert len(errors.__all__) == len(set(errors.__all__))
    assert set(errors.__all__) == set(PUBLIC_CLASSES) | {"error_class_for"}
    assert errors.__all__ == sorted(errors.__all__)


def test_the_docstring_tree_names_every_class() -> None:
    assert set(_docstring_tree()) == set(PUBLIC_CLASSES)


def test_the_docstring_tree_draws_the_real_inheritance() -> None:
    for name, parent in _docstring_tree().items():
        cls = PUBLIC_CLASSES[name]
        expected = (Exception,) if parent is None else (PUBLIC_CLASSES[parent],)
        assert cls.__bases__ == expected, f"{name} is drawn under {parent}"


def test_an_error_keeps_its_message_and_details() -> None:
    err = errors.ModelNotFound("no model 'ns/m'", namespace="ns", model="m")
    assert err.message == "no model 'ns/m'"
    assert str(err) == "no model 'ns/m'"
    assert err.details == {"namespace": "ns", "model": "m"}
    assert repr(err) == "ModelNotFound(\"no model 'ns/m'\")"
    assert errors.InvalidName("x").details == {}


def test_errors_are_caught_by_their_family() -> None:
    with pytest.raises(errors.InvalidManifest):
        raise errors.UnsafePath("../a")
    with pytest.raises(errors.InvalidInput):
        raise errors.PayloadTooLarge("big")
    assert not issubclass(errors.DigestMismatch, errors.InvalidInput)
    assert issubclass(errors.Unauthenticated, errors.PermissionDenied)
