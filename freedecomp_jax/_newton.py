"""Newton on a small square real system (edges and cusps), keeping the best iterate."""

import jax
import jax.numpy as jnp


def real_newton(f, u, steps: int = 40):
    """Newton on `f(u) = 0`, returning the iterate with the smallest residual and that residual."""
    jac = jax.jacfwd(f)

    def body(_, carry):
        u, best, rbest = carry
        du = jnp.linalg.solve(jac(u), f(u))
        u_new = u - du
        u_new = jnp.where(jnp.all(jnp.isfinite(u_new)), u_new, u)
        r = jnp.max(jnp.abs(f(u_new)))
        better = r < rbest
        return u_new, jnp.where(better, u_new, best), jnp.where(better, r, rbest)

    r0 = jnp.max(jnp.abs(f(u)))
    _, best, r = jax.lax.fori_loop(0, steps, body, (u, u, r0))
    return best, r
