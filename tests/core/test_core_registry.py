import pytest

from tsdividend.registry import Registry


def test_register_get_names_in_order():
    reg: Registry[type] = Registry("thing")

    @reg.register("b")
    class B: ...

    @reg.register("a")
    class A: ...

    assert reg.get("a") is A and reg.get("b") is B
    assert reg.names() == ["b", "a"]
    assert "a" in reg and len(reg) == 2


def test_unknown_name_lists_valid_ones():
    reg: Registry[int] = Registry("objective")
    reg.register("mae")(1)
    reg.register("jepa")(2)
    with pytest.raises(KeyError, match=r"unknown objective 'dino'; valid: mae, jepa"):
        reg.get("dino")


def test_duplicate_registration_fails():
    reg: Registry[int] = Registry("thing")
    reg.register("x")(1)
    with pytest.raises(ValueError, match="already registered"):
        reg.register("x")(2)
