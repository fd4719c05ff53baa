"""Checks of a component's parameters, made in its constructor before it exists as a design."""

__all__ = ["refused", "check_positive", "check_at_most"]


def refused(component, error):
    """`error`, to raise from `component`'s constructor. The component, refused, is never to
    be elaborated: marked so, Amaranth does not warn that it was created but never used."""
    component._MustUse__silence = True
    return error


def check_positive(component, **values):
    """Refuse (:func:`refused`) `component` unless each of `values` is a positive integer.

    Raises
    ------
    ValueError
        Naming the first that is not.
    """
    for name, value in values.items():
        if not isinstance(value, int) or value < 1:
            raise refused(component, ValueError(f"{name} must be a positive integer, "
                                                f"not {value!r}"))


def check_at_most(component, **bounded):
    """Refuse (:func:`refused`) `component` unless each of `bounded`, a ``(value, limit)``
    pair, is at most its limit.

    Raises
    ------
    ValueError
        Naming the first that is not.
    """
    for name, (value, limit) in bounded.items():
        if value > limit:
            raise refused(component, ValueError(f"{name} must be at most {limit}, not "
                                                f"{value}"))
