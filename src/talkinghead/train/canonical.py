"""The rig's reference face: ``python -m talkinghead.train.canonical`` rebuilds ``assets/canonical_mesh.npy``.

Made from the public-domain demo portrait (detect, close the lips, normalise), so the shipped
file is reproducible from what the package ships.
"""

from __future__ import annotations

from importlib import resources

import numpy as np


def build_canonical_mesh() -> np.ndarray:
    """The demo portrait's face, neutralised and normalised, float32 ``[478, 3]`` (IOD units)."""
    from talkinghead.face.landmarks import find_face
    from talkinghead.face.neutral import neutralize
    from talkinghead.face.regions import normalize_mesh
    from talkinghead.media.image import load_image

    path = resources.files("talkinghead") / "assets" / "astronaut.png"
    face = neutralize(find_face(load_image(str(path)), source=str(path)))
    return normalize_mesh(face.landmarks)


if __name__ == "__main__":
    out = resources.files("talkinghead") / "assets" / "canonical_mesh.npy"
    np.save(str(out), build_canonical_mesh())
    print(f"wrote {out}")
