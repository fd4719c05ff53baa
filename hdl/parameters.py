"""Checks of a component's parameters, made in its constructor before it exists as a design."""

__all__ = ["refused", "check_positive"]


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
