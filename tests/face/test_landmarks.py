from __future__ import annotations

import numpy as np
import pytest

from talkinghead.face.landmarks import find_face
from talkinghead.face.neutral import lip_gap, neutralize
from talkinghead.train.canonical import build_canonical_mesh
from talkinghead.face.regions import canonical_mesh, normalize_mesh
from talkinghead.media.image import load_image
from talkinghead.types import InputError


def test_no_face_in_blank_image_is_a_clear_error() -> None:
    with pytest.raises(InputError, match="blank.png: no face found"):
        find_face(np.full((256, 256, 3), 200, np.uint8), source="blank.png")


def test_demo_portrait_face_and_pose(shared_data) -> None:
    img = load_image(shared_data / "demo" / "astronaut.png")
    face = find_face(img)
    assert face.landmarks.shape == (478, 3)
    x0, y0, x1, y1 = face.box
    assert x1 - x0 == y1 - y0 and x0 < face.landmarks[1, 0] < x1
    assert np.abs(face.rotation_deg).max() < 25
    assert face.blendshape("mouthSmileLeft") > 0.5  # she smiles


@pytest.mark.parametrize("name", ["liveportrait_d9.jpg", "facerec_lin-manuel-miranda.png", "liveportrait_d38.jpg"])
def test_open_mouth_is_neutralised_to_closed_lips(shared_data, name: str) -> None:
    face = find_face(load_image(shared_data / "portraits" / "photo" / name))
    before = lip_gap(normalize_mesh(face.landmarks))
    after = lip_gap(normalize_mesh(neutralize(face).landmarks))
    assert before.max() > 0.05
    assert np.abs(after).max() < 1e-3
    # the eyes and forehead do not move
    moved = np.abs(neutralize(face).landmarks - face.landmarks).max(axis=1)
    assert moved[[33, 263, 10]].max() < 1e-3


def test_shipped_canonical_mesh_is_reproducible() -> None:
    np.testing.assert_allclose(build_canonical_mesh(), canonical_mesh(), atol=1e-3)


def test_mediapipe_is_imported_without_its_plotting_and_sound_modules_which_still_import_later() -> None:
    import subprocess
    import sys

    code = ("import sys; from talkinghead.face.landmarks import FaceLandmarker\n"
            "with FaceLandmarker() as fl: pass\n"
            "assert not {'matplotlib', 'matplotlib.pyplot', 'sounddevice'} & set(sys.modules), sorted(sys.modules)\n"
            "import matplotlib.pyplot as plt; assert callable(plt.plot)\n")
    r = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, timeout=120)
    assert r.returncode == 0, r.stderr[-2000:]
