r"""`sharded`: run a per-spectrum function over a batch split across devices.

The spectra of a batch are independent, so the batch axis is split into equal contiguous
blocks, one per device, and each device runs `jax.vmap(fn)` on its block with no
communication (`jax.shard_map` over a one-axis `Mesh`). Every loop inside `fn` (root
polishing, branch tracking, ODE steps) then stops as soon as the slowest spectrum *of that
device* is done, instead of waiting for the slowest spectrum of the whole batch.
"""

from collections.abc import Callable, Sequence
from typing import Any

import jax
import jax.numpy as jnp
from jax.sharding import AxisType, NamedSharding, PartitionSpec
from jaxtyping import PyTree

from ._x64 import check_x64

BATCH_AXIS = "batch"
"""Name of the mesh axis the batch is split along."""


def _pad(a, pad: int):
    """Append `pad` copies of the first element along the leading axis."""
    a = jnp.asarray(a)
    return jnp.concatenate([a, jnp.broadcast_to(a[:1], (pad, *a.shape[1:]))])


def sharded(
    fn: Callable[..., Any],
    *,
    in_axes: int | tuple[int | None, ...] = 0,
    devices: Sequence[Any] | None = None,
) -> Callable[..., Any]:
    r"""Batch a per-spectrum function and split the batch across devices.

    `sharded(fn)(*batch)` equals `jax.jit(jax.vmap(fn))(*batch)`, but the leading (batch)
    axis of every batched argument is placed with `NamedSharding(mesh, PartitionSpec("batch"))`
    on a one-axis `Mesh` over `devices`, and each device runs `jax.vmap(fn)` on its own
    contiguous block of `B / D` items (`jax.shard_map`, no cross-device communication). The
    outputs are `jax.Array`s of leading size `B`, split the same way.

    Any batch size works: when `B` is not a multiple of the device count `D`, the batch is
    padded with copies of its first element to the next multiple and the padding is sliced off
    the outputs (the sliced outputs then live wherever JAX puts the slice; for outputs that stay
    exactly split, use a multiple of `D`). With one device this is `jax.jit(jax.vmap(fn))`.
    The returned function works under `jax.jit` and `jax.grad`; it compiles once per set of
    input shapes.

    **Arguments:**

    - `fn`: a function of one item (one spectrum's eigenvalues, one [`SpectralCurve`][], ...),
      returning a pytree of arrays (e.g. a [`Spectrum`][]). Pure JAX, as for `jax.vmap`.
    - `in_axes`: `0` (every positional argument is batched along its leading axis) or a tuple
      with one `0` or `None` per positional argument; `None` arguments (a shared grid, say)
      are replicated on every device. Whole arguments only, not vmap's nested prefixes.
    - `devices`: the devices to split over (default `jax.devices()`, every device of every
      process).

    **Returns:** the batched, sharded function.

    !!! example

        Fit and decompress 1024 spectra of 1000 eigenvalues each, on all GPUs of a machine:

        ```python
        x = jnp.linspace(0.0, 12.0, 512)

        def predict(eigs):
            curve = fdj.fit(eigs, deg=(1, 2))
            return fdj.decompress(curve, x, 8000)  # a Spectrum

        spectra = fdj.sharded(predict)(eigs_batch)  # eigs_batch: (1024, 1000)
        spectra.density  # (1024, 512), split over the devices along axis 0
        ```

        With the grid as an argument instead: `fdj.sharded(lambda e, x: ..., in_axes=(0, None))(eigs_batch, x)`.
        Ragged batches: pad each spectrum with zeros and pass `weights` (see [`fit`][]).

    !!! warning "Several CPU devices"

        On CPU, several devices exist only as a test setup
        (`XLA_FLAGS=--xla_force_host_platform_device_count=D`), and there jaxlib 0.10's batched
        LAPACK kernels (the SVD inside [`fit`][]) can deadlock: each device's block is one
        batched call that splits its batch over XLA's CPU thread pool and waits, and that pool
        has only max(cores, D) threads, all of which may be waiting at once. Keep one item per
        device there (`B <= D`), or give CPUs one device. GPUs do not share this pool.

    **Several hosts** (guidance, not tested here): start every process with
    `jax.distributed.initialize()` (before any other JAX call), so that `jax.devices()`
    lists the devices of all processes and the mesh spans them. Each process then builds
    the global batch from its own slice with
    `jax.make_array_from_process_local_data(NamedSharding(mesh, PartitionSpec("batch")), local_eigs)`,
    where `mesh = jax.make_mesh((jax.device_count(),), ("batch",), axis_types=(AxisType.Auto,))`
    is the mesh `sharded` builds (so placing the input moves nothing), and calls the sharded
    function on it. Choose a global batch that is a multiple of `jax.device_count()`
    (padding slices a global array, which a single process cannot do); the outputs are global
    arrays whose local blocks are `out.addressable_shards`, or gather them everywhere with
    `jax.experimental.multihost_utils.process_allgather`.
    """
    devs = tuple(jax.devices() if devices is None else devices)
    if not devs:
        raise ValueError("devices is empty; pass at least one device, or None for all of jax.devices().")
    if len(set(devs)) != len(devs):
        raise ValueError("devices lists a device twice; pass each device once.")
    if not (in_axes == 0 or (isinstance(in_axes, tuple) and all(a in (0, None) for a in in_axes))):
        raise ValueError(f"in_axes must be 0 or a tuple of 0/None (one per positional argument); got {in_axes!r}.")
    if in_axes != 0 and all(a is None for a in in_axes):
        raise ValueError("in_axes marks no argument as batched; mark at least one with 0.")
    mesh = jax.make_mesh((len(devs),), (BATCH_AXIS,), axis_types=(AxisType.Auto,), devices=devs)
    split = NamedSharding(mesh, PartitionSpec(BATCH_AXIS))
    replicated = NamedSharding(mesh, PartitionSpec())
    spec = {0: PartitionSpec(BATCH_AXIS), None: PartitionSpec()}
    specs = spec[0] if in_axes == 0 else tuple(spec[a] for a in in_axes)
    # check_vma=False: the blocks never communicate, and fn's loops may start from values that
    # do not vary over the mesh (shard_map's type check would reject those carries)
    per_device = jax.jit(
        jax.shard_map(jax.vmap(fn, in_axes=in_axes), mesh=mesh, in_specs=specs, out_specs=PartitionSpec(BATCH_AXIS), check_vma=False)
    )

    def batched(*args: PyTree) -> PyTree:
        check_x64()
        axes = in_axes if isinstance(in_axes, tuple) else (in_axes,) * len(args)
        if len(axes) != len(args):
            raise ValueError(f"in_axes has {len(axes)} entries but the function got {len(args)} positional arguments; give one 0 or None per argument.")
        sizes = set()
        for a, ax in zip(args, axes):
            if ax == 0:
                for leaf in jax.tree.leaves(a):
                    if jnp.ndim(leaf) == 0:
                        raise ValueError("a batched argument has a scalar leaf; batched arguments need a leading batch axis (use in_axes=None for shared ones).")
                    sizes.add(jnp.shape(leaf)[0])
        if len(sizes) != 1:
            raise ValueError(f"batched arguments must share one leading (batch) size; got sizes {sorted(sizes)}.")
        (B,) = sizes
        if B == 0:
            raise ValueError("the batch is empty; pass at least one item.")
        pad = -B % len(devs)
        placed = tuple(
            jax.device_put(jax.tree.map(lambda leaf: _pad(leaf, pad), a) if pad else a, split)
            if ax == 0
            else jax.device_put(a, replicated)
            for a, ax in zip(args, axes)
        )
        out = per_device(*placed)
        return jax.tree.map(lambda y: y[:B], out) if pad else out

    return batched
