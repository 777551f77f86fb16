"""A tour of axes, spaces and executors on a damped oscillator.

Run: python examples/spaces_tour.py
"""

import jax
import jax.numpy as jnp

from sweepjax import (
    Config,
    DataAxis,
    GridAxis,
    LogGridAxis,
    ParallelExecution,
    Space,
    UniformAxis,
)


def oscillator(cfg: Config) -> dict:
    """Energy left after integrating x'' = -k x - c x' for `n_steps` steps."""

    def step(state, _):
        x, v = state
        a = -cfg.physics.stiffness * x - cfg.physics.damping * v
        return (x + cfg.dt * v, v + cfg.dt * a), x

    (x, v), xs = jax.lax.scan(step, (cfg.x0, 0.0), None, length=cfg.n_steps)
    return {"energy": 0.5 * (v**2 + cfg.physics.stiffness * x**2), "peak": xs.max()}


def main():
    """Print the tour; return the space and the oscillator sweep's Result."""
    cfg = Config(
        physics=Config(
            stiffness=GridAxis(0.5, 2.0, 4), damping=LogGridAxis(0.01, 1.0, 3)
        ),
        x0=DataAxis([0.5, 1.0]),
        dt=0.01,
        n_steps=500,
    )
    space = Space(cfg, mode="product")
    print(space)
    print("point 5:", space[5])
    print(space.to_dataframe().head(8))

    result = ParallelExecution(oscillator, space, n_vmap=8).run()
    df = result.to_dataframe()
    print(df.sort_values("energy").head(5).to_string(index=False))
    ds = result.to_xarray()
    print(ds["energy"].mean("x0").round(4).to_pandas())

    noisy = Space(
        {"stiffness": UniformAxis(0.5, 2.0, 5), "seed": DataAxis(jnp.arange(5))},
        mode="zip",
        key=jax.random.key(1),
    )
    print(noisy)
    print(noisy.to_dataframe().round(3))
    return space, result


if __name__ == "__main__":
    main()
