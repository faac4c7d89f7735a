"""`RESULTS`: the one enumeration of outcomes, per grid point and per spectrum.

Every solve returns a `RESULTS` item (an array of them: one per grid point, per size, per
lane of a batch) instead of raising, so that one bad point or one bad spectrum of a `vmap`ped
batch never aborts the others. The public entry points take `throw=` as in optimistix:
`throw=True` raises the message of the first failure at run time (`eqx.error_if`),
`throw=False` returns the results for the caller to inspect (`RESULTS[item]` is the message).
"""

import equinox as eqx
import jax
import jax.numpy as jnp

from ._custom_types import Array, Bool


class RESULTS(eqx.Enumeration):
    """Outcome of a solve; each message says what to do about it."""

    successful = ""
    on_atom = (
        "(not a failure) the grid point sits on an atom: its absolutely continuous density is "
        "reported as 0 and the atom's weight is in Spectrum.atoms."
    )
    no_physical_branch = (
        "the law has no valid physical branch here (the Laurent seed at infinity does not match a "
        "unit-mass law, or its moments are not finite): refit with other degrees, or check the "
        "input spectrum for a wrong normalisation."
    )
    branch_lost = (
        "the continuation of the physical branch from infinity could not follow it down to this "
        "point (a step-size underflow next to a branch point, or the branch left the upper half "
        "plane): move the grid point slightly, or refit with other degrees."
    )
    newton_failed = (
        "Newton on the decompressed law did not converge at this point (it sits on a branch "
        "point, or the curve is degenerate there): move the grid point slightly, or refit."
    )
    mass_off = (
        "(a check of the whole prediction) its total mass at size n is not 1 within 1e-2: the flow "
        "left the physical branch, or the grid misses part of the support; refit with other "
        "degrees, or pass deg=None to let predict choose them."
    )
    size_below_n0 = (
        "(a check of the whole prediction) the target size n is smaller than the observed size n0: "
        "decompression only grows the matrix; pass n >= n0."
    )
    not_symmetric = (
        "the input matrix is not symmetric (beyond 100 m eps of its largest entry): pass (A + A.T) / 2 "
        "if the asymmetry is round-off, or its eigenvalues."
    )
    moments_off = (
        "(a check of the whole prediction) its moments at size n miss the exact ones by more than "
        "1e-2 standard units: the flow left the physical branch somewhere; refit with other degrees, "
        "or pass deg=None to let predict choose them."
    )
    no_model_passed = (
        "(a check of the whole prediction, automatic degrees under jit) no refined candidate curve is "
        "valid at the observed size and passes its check at n, and the free Levy-Khintchine law fails its "
        "check or does not beat the baselines on free compressions of the eigenvalues: call predict outside "
        "jit, which reports why each candidate failed (and sets outliers aside), or pass deg."
    )




def where(pred: Bool[Array, "..."], a: RESULTS, b: RESULTS) -> RESULTS:
    """Elementwise choice between two (arrays of) results, broadcasting like `jnp.where`
    (`RESULTS.where` takes a scalar predicate only)."""
    return jax.tree.map(lambda u, v: jnp.where(pred, u, v), a, b)


def full(shape, item: RESULTS) -> RESULTS:
    """An array of `shape` results, all `item`."""
    return jax.tree.map(lambda v: jnp.full(shape, v), item)


def failed(result: RESULTS) -> Bool[Array, "..."]:
    """Where `result` is a failure (`on_atom` and `successful` are not)."""
    return (result != RESULTS.successful) & (result != RESULTS.on_atom)


def first_failure(result: RESULTS) -> RESULTS:
    """The first failing item of an array of results (`successful` if none), as a scalar item."""
    bad = failed(result).reshape(-1)
    k = jnp.argmax(bad)
    item = jax.tree.map(lambda v: jnp.reshape(v, (-1,))[k], result)
    return where(jnp.any(bad), item, RESULTS.successful)


def throw_if_failed(token, result: RESULTS):
    """`token`, raising (at run time, inside `jit` too) with the first failure's message if any."""
    first = first_failure(result)
    return first.error_if(token, jnp.any(failed(result)))
